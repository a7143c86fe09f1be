"""The ``camera-ops`` command line."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from camera_ops.settings import announce_mode, get_settings
from camera_ops.sim.cli import sim

app = typer.Typer(help="camera-ops: community security cameras (Camera an ninh) operations.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
areas_app = typer.Typer(help="Administrative areas.", no_args_is_help=True)
cameras_app = typer.Typer(help="Camera registry.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(areas_app, name="areas")
app.add_typer(cameras_app, name="cameras")
i18n_app = typer.Typer(help="Translation catalogs (gettext .po files, Babel).", no_args_is_help=True)
app.add_typer(i18n_app, name="i18n")


@i18n_app.command("sync")
def i18n_sync() -> None:
    """Move keys code added to camera_ops.i18n.MESSAGES into the vi and en .po catalogs."""
    from camera_ops import catalogs, i18n

    entries = {key: i18n.texts(key) for key in i18n.all_keys()}
    catalogs.write_catalogs(entries)
    typer.echo(f"{len(entries)} messages in {catalogs.LOCALE_DIR}; "
               f"now remove the {len(i18n.MESSAGES)} moved entries from camera_ops/i18n.py")


@i18n_app.command("compile")
def i18n_compile() -> None:
    """Write messages.mo beside each .po (the service also compiles them itself at start)."""
    from camera_ops import catalogs

    for path in catalogs.compile_catalogs():
        typer.echo(str(path))
keys_app = typer.Typer(help="Secret keys (camera credentials key rotation).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema (Alembic ``upgrade head``)."""
    from storage.migrate import upgrade, wait_for_database

    url = get_settings().resolved_database_url
    wait_for_database(url)
    upgrade(url)
    console.print("[green]database is up to date[/green]")


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="admin, commune_police, officer, manager, auditor")] = "admin",
    full_name: Annotated[str, typer.Option()] = "Administrator",
    area: Annotated[Optional[list[str]], typer.Option(help="area code the user may see (repeatable)")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a user (the first admin, typically)."""
    from camera_ops.errors import CameraOpsError
    from camera_ops.registry.areas import require_by_code
    from camera_ops.registry.users import create_user
    from storage.db import session_scope
    from storage.models import Role

    try:
        with session_scope() as session:
            area_ids = [require_by_code(session, code).id for code in area or []]
            user = create_user(session, username=username, password=password, full_name=full_name,
                               role=Role(role), area_ids=area_ids)
            console.print(f"created user [bold]{user.username}[/bold] ({user.role.value})")
    except (CameraOpsError, ValueError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/red]")
        raise typer.Exit(1) from None


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored camera password with the newest credentials key.

    Set CAMERA_OPS_CREDENTIALS_KEY=NEW,OLD first (new key first), run this, then set it to NEW.
    In development without a configured key, the generated key is replaced."""
    from camera_ops.errors import ConfigurationError
    from camera_ops.keyrotation import reencrypt_all, rotate_generated_key, uses_generated_key
    from storage.db import get_engine

    settings = get_settings()
    try:
        if uses_generated_key(settings):
            report = rotate_generated_key(get_engine(), settings)
        else:
            report = reencrypt_all(get_engine(), settings)
    except ConfigurationError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{report.reencrypted} of {report.cameras} camera passwords re-encrypted with the newest key")
    if report.old_key_needed:
        console.print("[red]some passwords are still under an older key; keep it and run again[/red]")
        raise typer.Exit(1)
    if len(settings.fernet_keys) > 1:
        console.print("every password is under the first key: remove the older keys from CAMERA_OPS_CREDENTIALS_KEY")


@keys_app.command("new")
def keys_new() -> None:
    """Print a fresh credentials key (Fernet), to put first in CAMERA_OPS_CREDENTIALS_KEY."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())


def _print_results(results: list, title: str) -> None:  # type: ignore[type-arg]
    counts = Counter(r.outcome for r in results)
    table = Table(title=title)
    for col in ("row", "outcome", "key", "message"):
        table.add_column(col)
    for r in results:
        if r.outcome not in ("created", "unchanged"):
            table.add_row(str(r.row), r.outcome, r.key, r.message)
    if table.row_count:
        console.print(table)
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "empty file")


@areas_app.command("import")
def areas_import(path: Path) -> None:
    """Import areas from CSV: code,name,kind,parent_code."""
    from camera_ops.registry.areas import import_areas_csv
    from storage.db import session_scope

    with session_scope() as session:
        results = import_areas_csv(session, path.read_text(encoding="utf-8-sig"))
    _print_results(results, f"areas from {path.name}")


@cameras_app.command("import")
def cameras_import(
    path: Path,
    handshake: Annotated[bool, typer.Option(help="handshake each new camera now (slow); default saves as pending")] = False,
) -> None:
    """Import cameras from CSV (one row per camera), with a result per row."""
    from camera_ops.registry.camera_import import import_cameras_csv
    from storage.db import session_scope

    text = path.read_text(encoding="utf-8-sig")
    total = max(text.count("\n") - 1, 0)
    settings = get_settings()
    with Progress(console=console) as progress, session_scope() as session:
        task = progress.add_task("importing", total=total)
        results = import_cameras_csv(session, settings, text, scope=None, handshake=handshake,
                                     progress=lambda n: progress.advance(task, n))
    _print_results(results, f"cameras from {path.name}")


@app.command("discover")
def discover_cmd(
    address_range: Annotated[Optional[str], typer.Option("--range", "-r", help="192.168.1.10-60, 10.8.0.0/24 or one address (unicast probes)")] = None,
    multicast: Annotated[bool, typer.Option("--multicast/--no-multicast", help="probe the local network (239.255.255.250:3702)")] = False,
    timeout_s: Annotated[float, typer.Option("--timeout", help="seconds to wait for answers (at most 15)")] = 3.0,
    port: Annotated[int, typer.Option(help="WS-Discovery port (3702; tests use another)")] = 3702,
    interface: Annotated[Optional[str], typer.Option(help="send from this local address (multicast: out of its interface)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    lang: Annotated[str, typer.Option(help="vi or en")] = "vi",
) -> None:
    """Find ONVIF cameras with WS-Discovery and say which are registered already (MAC, serial, endpoint)."""
    import json

    from camera_ops.errors import ValidationFailed
    from camera_ops.i18n import parse_lang, t
    from camera_ops.registry.discovered import find_cameras, rejected_message
    from storage.db import session_scope

    language = parse_lang(lang) or "vi"
    if not address_range and not multicast:
        multicast = True  # nothing asked: the local network, as a person expects
    try:
        with session_scope() as session:
            report = find_cameras(session, range_text=address_range, multicast=multicast, timeout_s=timeout_s,
                                  scope=None, port=port, interface=interface)
    except ValidationFailed as exc:
        console.print(f"[red]{exc.field}: {exc.message}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps({"probed": report.probed, "devices": [r.to_dict() for r in report.rows],
                          "rejected": [{"source": x.source, "code": x.code, "message": rejected_message(x, language)}
                                       for x in report.rejected]}, ensure_ascii=False, indent=2))
        return
    table = Table(title=t("discover.found", language, count=len(report.rows), probed=report.probed))
    for column in ("discover.address", "discover.device", "discover.registered"):
        table.add_column(t(column, language))
    for row in report.rows:
        d, reg = row.device, row.registered
        where = f"{d.address}:{d.onvif_port}"
        device = " ".join(x for x in (d.name, d.hardware, d.mac) if x)
        if reg is None:
            state = t("discover.not_registered", language)
        elif reg.code:
            state = t("discover.registered_as", language, code=reg.code, how=t(f"discover.how.{reg.matched_by}", language))
        else:
            state = t("discover.registered_elsewhere", language, how=t(f"discover.how.{reg.matched_by}", language))
        table.add_row(where, device, state)
    console.print(table)
    for reply in report.rejected:
        console.print(f"[yellow]{rejected_message(reply, language)}[/yellow]")


@app.command("serve")
def serve(
    host: Annotated[Optional[str], typer.Option()] = None,
    port: Annotated[Optional[int], typer.Option()] = None,
) -> None:
    """Run the API and web pages (migrates the database first)."""
    import uvicorn

    from api.app import create_app
    from api.server import server_config
    from storage.migrate import upgrade, wait_for_database

    _setup_logging()
    settings = get_settings()
    wait_for_database(settings.resolved_database_url)
    upgrade(settings.resolved_database_url)
    if settings.api_workers > 1:  # one process per core, each building its app from the same settings
        from api.server import proxy_options
        from storage.db import get_engine

        with _checkpoints_in_background(get_engine(), settings, "api"):
            uvicorn.run("api.app:create_app", factory=True, workers=settings.api_workers, host=host or settings.host,
                        port=port or settings.port, log_level="info", server_header=False, **proxy_options(settings))
        return
    app = create_app(settings)
    with _checkpoints_in_background(app.state.engine, settings, "api"):
        uvicorn.Server(server_config(app, settings, host=host, port=port)).run()


@contextmanager
def _checkpoints_in_background(engine, settings, kind: str) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Any long-running process writes custody checkpoints (one at a time: the lease decides)."""
    from camera_ops.custody.anchor import CheckpointKeeper, process_name

    keeper = CheckpointKeeper(engine, settings, owner=process_name(kind))
    keeper.start()
    try:
        yield
    finally:
        keeper.stop()


@app.command("healthcheck")
def healthcheck(
    url: Annotated[str, typer.Argument(help="a /healthz or /readyz address")] = "http://127.0.0.1:8000/readyz",
    wait: Annotated[float, typer.Option(help="keep trying this many seconds before giving up")] = 0.0,
) -> None:
    """Exit 0 when URL answers 200, else 1 (container healthchecks, systemd ExecStartPost)."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=HEALTHCHECK_TIMEOUT_S) as answer:  # noqa: S310 - ours
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "code", None) or getattr(exc, "reason", exc)
            if time.monotonic() >= deadline:
                console.print(f"[red]not ready[/red]: {url}: {reason}")
                raise typer.Exit(1) from None
        time.sleep(HEALTHCHECK_RETRY_S)


HEALTHCHECK_TIMEOUT_S = 15.0  # /readyz checks the database and the clip store, each with its own timeouts
HEALTHCHECK_RETRY_S = 2.0


custody_app = typer.Typer(help="Custody ledger of archived footage.", no_args_is_help=True)
app.add_typer(custody_app, name="custody")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="run every job due now, then exit")] = False,
    checkpoint: Annotated[bool, typer.Option(help="write a custody checkpoint now, then exit")] = False,
) -> None:
    """Run archive jobs (clip requests) and custody checkpoints; stops on SIGTERM/SIGINT."""
    import signal
    import threading

    from camera_ops.footage.worker import Worker
    from storage.db import get_engine
    from storage.migrate import upgrade, wait_for_database

    _setup_logging()
    settings = get_settings()
    announce_mode(settings, "worker")
    stop = threading.Event()  # a stop asked while waiting for the database ends the worker cleanly too
    if not (once or checkpoint):
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    wait_for_database(settings.resolved_database_url)  # compose/systemd may start it before the database
    upgrade(settings.resolved_database_url)  # at head already in a deployment; safe beside others (advisory lock)
    runner = Worker(get_engine(), settings)
    if checkpoint:
        _checkpoint_now(runner.checkpoints)
        return
    if once:
        outcomes = runner.run_until_idle()
        console.print(f"{len(outcomes)} job(s) run")
        return
    from camera_ops.errors import ConfigurationError
    from camera_ops.footage.worker import ops_server

    try:
        ops = ops_server(runner)
        if ops is not None:
            ops.start()
    except ConfigurationError as exc:  # the health/metrics port is taken, or exposed without a token
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    try:
        runner.run_forever(stop)
    finally:
        if ops is not None:
            ops.stop()


def _checkpoint_now(keeper) -> None:  # type: ignore[no-untyped-def]
    from camera_ops.custody.anchor import CheckpointFailed

    try:
        written = keeper.write_now()
    except CheckpointFailed as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    console.print(f"custody checkpoint at event {written.seq} ({written.key})" if written
                  else "custody checkpoint: nothing new to anchor")


@custody_app.command("checkpoint")
def custody_checkpoint() -> None:
    """Anchor every event now: a signed checkpoint into the locked store (exit 1 if it fails)."""
    from camera_ops.custody.anchor import CheckpointKeeper, process_name
    from storage.db import get_engine

    _setup_logging()
    _checkpoint_now(CheckpointKeeper(get_engine(), get_settings(), owner=process_name("cli")))


@custody_app.command("verify")
def custody_verify(
    clips: Annotated[bool, typer.Option(help="also cross-check every archived clip: store, row, manifest, ledger")] = False,
) -> None:
    """Verify the hash chain against every signed checkpoint; report the first event that diverges."""
    from camera_ops.custody.checkpoint import verify_with_store
    from camera_ops.footage.integrity import verify_all_clips
    from storage.clipstore.base import clip_store_for
    from storage.db import session_scope

    settings = get_settings()
    store = clip_store_for(settings)
    failed = False
    with session_scope(write=False) as session:
        report = verify_with_store(session, store, settings)
        if report.ok:
            console.print(f"[green]ledger OK[/green]: {report.checked} events, head {report.head_seq}, "
                          f"{report.checkpoints} checkpoint(s), newest at event {report.checkpoint_seq or 'none'}")
        else:
            failed = True
            console.print(f"[red]ledger BROKEN at event {report.first_broken_seq}[/red]: {report.reason}")
        if report.warning and report.ok:
            console.print(f"[yellow]warning[/yellow]: {report.warning}")
        for check in verify_all_clips(session, store) if clips else []:
            if not check.ok:
                failed = True
                console.print(f"[red]clip {check.clip_id}[/red]: {check.problem}")
        if clips and not failed:
            console.print("[green]every archived clip matches its hashes, manifest and ledger[/green]")
    raise typer.Exit(1 if failed else 0)


key_app = typer.Typer(help="The custody signing key (Ed25519).", no_args_is_help=True)
custody_app.add_typer(key_app, name="key")


@key_app.command("show")
def custody_key_show() -> None:
    """The current public key, its fingerprint, and every older key that still verifies."""
    from camera_ops.custody.signing import Keyring

    for key in Keyring.from_settings(get_settings()).public_keys():
        console.print(f"{'current' if key.current else 'retired'} key {key.key_id}\nfingerprint (SHA-256 of the "
                      f"public key, DER): {key.fingerprint}", highlight=False)
        console.print(key.pem.decode("ascii"), highlight=False, end="")


@key_app.command("rotate")
def custody_key_rotate() -> None:
    """Make a new signing key; old public keys stay on file so old signatures still verify."""
    from camera_ops.custody.signing import Keyring

    key = Keyring.from_settings(get_settings()).rotate()
    console.print(f"new signing key {key.key_id}\nfingerprint: {key.fingerprint}", highlight=False)


@app.command("monitor")
def monitor() -> None:
    """Probe every camera each cycle, keep status history, raise alerts (a process of its own)."""
    from camera_ops.errors import ConfigurationError
    from camera_ops.monitor.main import run
    from storage.db import engine_for
    from storage.migrate import upgrade, wait_for_database

    _setup_logging()
    settings = get_settings()
    announce_mode(settings, "monitor")
    wait_for_database(settings.resolved_database_url)
    upgrade(settings.resolved_database_url)
    try:
        with _checkpoints_in_background(engine_for(settings.resolved_database_url), settings, "monitor"):
            run(settings)
    except ConfigurationError as exc:  # a second monitor on SQLite, an ops port taken, ...
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None


reports_app = typer.Typer(help="Reports for reviews (sơ kết / tổng kết).", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@reports_app.command("coverage")
def reports_coverage(
    area: Annotated[str, typer.Option(help="area code (province, commune or hamlet)")],
    period: Annotated[str, typer.Option(help="month, quarter, half or year")] = "month",
    year: Annotated[int, typer.Option(help="default: the current year")] = 0,
    index: Annotated[int, typer.Option(help="month 1-12, quarter 1-4, half 1-2; ignored for year")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or xlsx")] = "json",
    out: Annotated[Optional[Path], typer.Option(help="write here instead of stdout (xlsx needs it)")] = None,
) -> None:
    """Coverage report: cameras, uptime, camera-hours, hamlets and install points watched."""
    from camera_ops.reports.cli import coverage_command

    coverage_command(get_settings(), area_code=area, period=period, year=year, index=index, fmt=fmt, out=out)


@reports_app.command("rebuild-rollups")
def reports_rebuild_rollups(
    since: Annotated[datetime, typer.Option(help="UTC date (or date and time) to recompute from", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"])],
) -> None:
    """Recompute the hourly commune rollups behind area charts from the status history."""
    from camera_ops.monitor.history import rebuild_rollups
    from storage.db import get_engine, session_factory

    written = rebuild_rollups(session_factory(get_engine(), write=True), since.replace(tzinfo=timezone.utc))
    console.print(f"rollups rebuilt from {since:%Y-%m-%d %H:%M} UTC: {written} commune-hour rows")


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option()] = 8000,
    cameras: Annotated[int, typer.Option(help="simulated cameras")] = 12,
) -> None:
    """Everything with embedded defaults: SQLite, local clip store, a simulated commune."""
    from camera_ops.demo import run_demo

    _setup_logging()
    run_demo(get_settings(), port=port, camera_count=cameras)


app.command("sim", help="Run a fleet of simulated ONVIF/RTSP cameras.")(sim)


if __name__ == "__main__":
    app()
