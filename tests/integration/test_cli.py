"""The camera-ops command line against a real SQLite file (fresh data dir per test)."""

from __future__ import annotations

import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from camera_ops.cli import app
from camera_ops.settings import reset_settings_cache
from storage.db import engine_for


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMERA_OPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CAMERA_OPS_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    reset_settings_cache()
    engine_for.cache_clear()
    yield tmp_path
    reset_settings_cache()
    engine_for.cache_clear()


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(app, list(args), input=input)
    return result


def test_db_upgrade_users_areas_and_cameras_import(cli_env):
    assert run("db", "upgrade").exit_code == 0
    areas = cli_env / "areas.csv"
    areas.write_text("code,name,kind,parent_code\nHN,Hà Nội,province,\nX1,Xã Một,commune,HN\nT1,Thôn 1,hamlet,X1\n",
                     encoding="utf-8")
    r = run("areas", "import", str(areas))
    assert r.exit_code == 0 and "created: 3" in r.output
    r = run("users", "create", "chief", "--role", "commune_police", "--area", "X1", "--full-name", "Trưởng CA",
            input="long-password-1\nlong-password-1\n")
    assert r.exit_code == 0, r.output
    r = run("users", "create", "ghost", "--role", "officer", "--area", "NOPE", input="long-password-1\nlong-password-1\n")
    assert r.exit_code == 1 and "unknown area code 'NOPE'" in r.output
    cams = cli_env / "cams.csv"
    cams.write_text("code,name,hamlet_code,host,username,password\nK1,Cổng,T1,10.0.0.1,admin,pw\nK2,Chợ,T9,10.0.0.2,admin,pw\n",
                    encoding="utf-8")
    r = run("cameras", "import", str(cams))
    assert r.exit_code == 0 and "created: 1" in r.output and "error: 1" in r.output and "unknown hamlet code" in r.output
    r = run("cameras", "import", str(cams))
    assert "duplicate: 1" in r.output
    engine = create_engine(f"sqlite:///{cli_env / 'camera_ops.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from camera")).scalar() == 1
        assert conn.execute(text("select role from app_user where username='chief'")).scalar() == "commune_police"
    engine.dispose()


# --- the long-running processes, as the deployment starts them -------------------------------------

def _process_env(data_dir) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_OPS_")}
    env.update(CAMERA_OPS_DATA_DIR=str(data_dir), CAMERA_OPS_MONITOR_CYCLE_S="1", CAMERA_OPS_MONITOR_RELOAD_S="0.5",
               CAMERA_OPS_MONITOR_FLUSH_S="0.2", CAMERA_OPS_MONITOR_CALL_TIMEOUT_S="1",
               CAMERA_OPS_SNAPSHOT_INTERVAL_S="1", CAMERA_OPS_WORKER_POLL_S="0.2")
    return env


@contextmanager
def _camera_ops_process(data_dir, command: str, log):
    """``camera-ops <command>`` as a process of its own; on leaving, SIGTERM must end it cleanly."""
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "camera_ops.cli", command], env=_process_env(data_dir),
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def _wait(predicate, process, what: str, timeout_s: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s  # a safety net: every wait is on a state, not a duration
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"the process ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s:.0f} s")
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_monitor_process_probes_registered_cameras_and_stops_cleanly_on_sigterm(cli_env):
    from camera_ops.monitor.testing import register_sim_cameras
    from camera_ops.settings import get_settings
    from camera_ops.sim.faults import Faults
    from camera_ops.sim.spec import CameraSpec
    from camera_ops.sim.testing import running_fleet
    from storage.db import session_factory
    from storage.migrate import upgrade
    from tests.factories import make_commune

    assert run("db", "upgrade").exit_code == 0
    settings = get_settings()
    url = settings.resolved_database_url
    upgrade(url)
    engine = create_engine(url)
    with running_fleet([CameraSpec(name="up"), CameraSpec(name="down", faults=Faults(offline=True))]) as fleet:
        with session_factory(engine)() as session:
            commune = make_commune(session, hamlets=1)
            cameras = register_sim_cameras(session, settings, fleet.cameras, commune.hamlets)
            session.commit()
            ids = {c.name: c.id for c in cameras}
        log = cli_env / "monitor.log"

        def statuses() -> dict[int, str]:
            with engine.connect() as conn:
                return dict(conn.execute(text("select id, status from camera")).all())

        with _camera_ops_process(cli_env, "monitor", log) as process:
            _wait(lambda: statuses() == {ids["up"]: "online", ids["down"]: "offline"}, process, "statuses written")
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "monitor stopped after" in output and "Traceback" not in output
    assert fleet.cameras[0].password not in output  # never logged
    engine.dispose()


@pytest.mark.timeout(120)
def test_worker_process_stops_cleanly_on_sigterm(cli_env):
    assert run("db", "upgrade").exit_code == 0
    log = cli_env / "worker.log"
    with _camera_ops_process(cli_env, "worker", log) as process:
        _wait(lambda: log.stat().st_size > 0, process, "the worker's first log line")
    output = log.read_text(encoding="utf-8", errors="replace")
    assert "started" in output and "stopped" in output and "Traceback" not in output


def test_rollups_rebuild_command(cli_env):
    assert run("db", "upgrade").exit_code == 0
    r = run("reports", "rebuild-rollups", "--since", "2026-11-01")
    assert r.exit_code == 0, r.output
    assert "rollups rebuilt from 2026-11-01 00:00 UTC" in r.output


@pytest.mark.parametrize("command", ["worker", "monitor"])
def test_a_long_running_process_anchors_the_ledger_with_a_signed_checkpoint(cli_env, command):
    from camera_ops.custody.ledger import SYSTEM, EventType, append_now
    from camera_ops.settings import get_settings

    assert run("db", "upgrade").exit_code == 0
    engine = engine_for(get_settings().resolved_database_url)
    append_now(engine, EventType.requested, SYSTEM, case_id=1, clip_id=1, details={})
    log = cli_env / f"{command}.log"

    def anchored() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM custody_checkpoint")).scalar())

    running = {"worker": "started", "monitor": "monitor: cycle"}[command]  # its SIGTERM handler is installed
    with _camera_ops_process(cli_env, command, log) as process:
        _wait(anchored, process, "custody checkpoint")
        _wait(lambda: running in log.read_text(encoding="utf-8", errors="replace"), process, "a running process")
    with engine.connect() as conn:
        owner = conn.execute(text("SELECT lease_owner FROM custody_anchor")).scalar()
    assert owner.startswith(f"{command}:") and (cli_env / "keys" / "custody-signing.pem").exists()
    assert "custody checkpoint at event 1" in log.read_text(encoding="utf-8", errors="replace")
