"""The deployment files start what they say: deploy/compose.yaml, the env example, the systemd units
and the Dockerfile checked against the real CLI (every command parses), the real settings (every
CAMERA_OPS_ variable exists), the real health endpoints (paths answer, ports are the configured ones),
and the start order (migrate once, everything else after it). No container runtime runs here.
Also: two `camera-ops db upgrade` at once on a fresh PostgreSQL database both succeed."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
import typer.main
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from camera_ops.cli import app as cli_app
from camera_ops.health_endpoints import OpsServer
from camera_ops.settings import Settings
from tests.pg_scratch import scratch_postgres

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = "/opt/camera-ops/venv/bin/"
OURS = "camera-ops:latest"
PORT_SETTING = {"api": "port", "monitor": "monitor_ops_port", "worker": "worker_ops_port"}
HEALTH_PATHS = ("/healthz", "/readyz")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def env_file() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "camera-ops.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def settings_from_env() -> Settings:
    values = {k[len("CAMERA_OPS_"):].lower(): v for k, v in env_file().items() if k.startswith("CAMERA_OPS_")}
    values["environment"] = "development"  # the example's secrets are placeholders on purpose
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def assert_cli_accepts(argv: list[str]) -> None:
    """The command exists in the Typer app and its arguments parse (nothing is run)."""
    assert argv and argv[0] == "camera-ops", argv
    command: click.Command = typer.main.get_command(cli_app)
    args = list(argv[1:])
    while isinstance(command, click.Group):
        assert args, f"{argv}: a group needs a command"
        name = args.pop(0)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"{argv}: no command {name!r}"
        command = sub
    command.make_context(argv[0], args)  # raises on an unknown option or a missing argument


def role_of(service: str, argv: list[str]) -> str | None:
    for role in ("serve", "monitor", "worker"):
        if role in argv:
            return {"serve": "api"}.get(role, role)
    return None


def test_every_compose_service_command_is_a_real_cli_command():
    services = compose()["services"]
    ours = {n: s for n, s in services.items() if s.get("image") == OURS}
    assert {"migrate", "api", "monitor", "worker"} <= set(ours)
    for name, service in ours.items():
        assert_cli_accepts(service["command"])
    roles = [role_of(n, s["command"]) for n, s in ours.items()]
    assert roles.count("monitor") >= 2 and roles.count("worker") >= 2  # the scale-out is shown


def test_one_env_file_feeds_everything_and_each_variable_is_a_setting():
    services = compose()["services"]
    text = (DEPLOY / "compose.yaml").read_text()
    assert "${" not in text  # nothing is read from the shell
    for name, service in services.items():
        assert service.get("env_file") == "camera-ops.env", name
        for key in (service.get("environment") or {}):
            assert not key.startswith("CAMERA_OPS_") or key[len("CAMERA_OPS_"):].lower() in Settings.model_fields
    env = env_file()
    unknown = [k for k in env if k.startswith("CAMERA_OPS_") and k[len("CAMERA_OPS_"):].lower() not in Settings.model_fields]
    assert unknown == []
    assert {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} <= set(env)
    url = make_url(env["CAMERA_OPS_DATABASE_URL"])
    assert (url.username, url.database, url.host) == (env["POSTGRES_USER"], env["POSTGRES_DB"], "db")
    assert env["CAMERA_OPS_MINIO_ENDPOINT"].split(":")[0] == "minio"
    settings_from_env()  # every value parses as its setting's type


def test_everything_starts_after_a_one_shot_migration_and_restarts():
    services = compose()["services"]
    assert services["migrate"]["command"] == ["camera-ops", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name, service in services.items():
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
        if service.get("image") != OURS or name == "migrate":
            continue
        deps = service["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["db"]["condition"] == "service_healthy" and deps["minio"]["condition"] == "service_healthy"
    for name in ("db", "minio"):
        assert services[name]["healthcheck"]["test"], name


def test_healthchecks_hit_real_endpoints_on_the_configured_ports(engine, settings):
    settings_env = settings_from_env()
    services = compose()["services"]
    for name, service in services.items():
        if service.get("image") != OURS or name == "migrate":
            continue
        check = service["healthcheck"]["test"]
        assert check[0] == "CMD"
        assert_cli_accepts(check[1:])
        target = urlsplit(check[3])
        role = role_of(name, service["command"])
        assert target.hostname == "127.0.0.1" and target.path in HEALTH_PATHS, (name, check)
        assert target.port == getattr(settings_env, PORT_SETTING[role]), (name, target.port)
    with TestClient(create_app(settings, engine=engine)) as api:  # the API's own endpoints answer
        for path in HEALTH_PATHS:
            assert api.get(path).status_code == 200, path
    ops = OpsServer(bind="127.0.0.1", port=0, live={}, ready={})  # the monitor's and worker's server
    ops.start()
    try:
        for path in HEALTH_PATHS:
            with urllib.request.urlopen(f"{ops.url}{path}", timeout=10) as answer:
                assert answer.status == 200, path
    finally:
        ops.stop()


def systemd_units() -> dict[str, configparser.ConfigParser]:
    units = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # systemd keys are case-sensitive
        parser.read(path)
        units[path.stem] = parser
    return units


def test_systemd_units_run_real_commands_in_order_and_restart():
    units = systemd_units()
    assert {"camera-ops-migrate", "camera-ops-api", "camera-ops-monitor", "camera-ops-worker"} <= set(units)
    settings_env = settings_from_env()
    for name, unit in units.items():
        service = unit["Service"]
        assert service["EnvironmentFile"] == "/etc/camera-ops/camera-ops.env", name
        assert service.get("Restart") in ("always", "on-failure"), name
        for key in ("ExecStart", "ExecStartPost"):
            if key in service:
                argv = shlex.split(service[key])
                assert argv[0].startswith(VENV_BIN), (name, key)
                assert_cli_accepts(["camera-ops", *argv[1:]])
        if name == "camera-ops-migrate":
            assert service["Type"] == "oneshot" and shlex.split(service["ExecStart"])[1:] == ["db", "upgrade"]
            continue
        assert "camera-ops-migrate.service" in unit["Unit"]["After"] and "camera-ops-migrate.service" in unit["Unit"]["Requires"]
        role = name.removeprefix("camera-ops-")
        url = urlsplit(shlex.split(service["ExecStartPost"])[-1])
        assert url.path in HEALTH_PATHS and url.port == getattr(settings_env, PORT_SETTING[role]), name


def test_the_image_starts_a_real_command():
    cmd = re.search(r'^CMD (\[.*\])', (DEPLOY / "Dockerfile").read_text(), re.M)
    assert cmd is not None
    assert_cli_accepts(yaml.safe_load(cmd.group(1)))


@pytest.fixture
def fresh_postgres():
    with scratch_postgres("camera_ops_upgrade") as url:
        yield url


@pytest.mark.db
def test_two_concurrent_db_upgrades_on_a_fresh_postgresql_both_succeed(fresh_postgres, tmp_path):
    env = {**os.environ, "CAMERA_OPS_DATABASE_URL": fresh_postgres, "CAMERA_OPS_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", "from camera_ops.cli import app; app()", "db", "upgrade"]
    runs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0].decode(errors="replace") for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    from camera_ops.health_endpoints import schema_check
    from storage.db import make_engine

    engine = make_engine(fresh_postgres)
    try:
        assert schema_check(engine)().ok
    finally:
        engine.dispose()


def test_the_worker_survives_a_database_error_during_a_checkpoint_and_a_job_poll(settings, tmp_path):
    """The database goes away under a running worker: its loop logs and goes on (compose restarts
    only what really died)."""
    import threading

    from camera_ops.footage.worker import Worker
    from storage.db import make_engine

    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"postgresql+psycopg://camera_ops@127.0.0.1:{s.getsockname()[1]}/gone"
    down = settings.model_copy(update={"database_url": dead, "custody_checkpoint_interval_s": 0.01,
                                       "worker_poll_s": 0.01})
    runner = Worker(make_engine(dead), down)
    stop = threading.Event()
    polls = []
    original = runner.run_once

    def counted():  # type: ignore[no-untyped-def]
        polls.append(1)
        if len(polls) >= 3:
            stop.set()
        return original()

    runner.run_once = counted  # type: ignore[method-assign]
    loop = threading.Thread(target=runner.run_forever, args=(stop,), daemon=True)
    loop.start()
    loop.join(timeout=120)
    assert not loop.is_alive() and len(polls) >= 3  # three turns of the loop with the database gone
