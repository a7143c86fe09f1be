"""Read-side health figures: fleet summary over 10,000 cameras, uptime of one camera over a year of
history, and status-history bytes per camera-year. Figures, not a test::

    python bench/bench_summary.py                                   # SQLite file in a temp dir
    python bench/bench_summary.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from camera_ops.health.uptime import uptime  # noqa: E402
from camera_ops.health.vocabulary import Status  # noqa: E402
from camera_ops.monitor.counts import compact_all  # noqa: E402
from camera_ops.monitor.history import load_histories, uptime_by_camera  # noqa: E402
from camera_ops.monitor.summary import fleet_summary  # noqa: E402
from camera_ops.registry.areas import create_area  # noqa: E402
from camera_ops.security import encrypt_secret  # noqa: E402
from camera_ops.settings import Settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import AreaKind, Camera, CameraStatus  # noqa: E402
from storage.models_monitoring import CameraStatusChange  # noqa: E402

YEAR_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
YEAR = timedelta(days=365)
STATUS_MIX = [CameraStatus.online] * 7 + [CameraStatus.offline, CameraStatus.degraded, CameraStatus.unauthorized]


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of ``repeat`` calls, in ms (the machine is shared: medians, not means)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def year_of_rows(changes_per_day: int, rng: random.Random) -> list[tuple[datetime, Status]]:
    step = 86400 / changes_per_day
    rows, status = [], Status.ONLINE
    for i in range(365 * changes_per_day):
        status = Status.OFFLINE if status is Status.ONLINE else Status.ONLINE
        rows.append((YEAR_START + timedelta(seconds=int(i * step + rng.uniform(0, step / 2))), status))
    return rows


def build_fleet(session, settings: Settings, cameras: int) -> tuple[int, int, list[int]]:  # type: ignore[no-untyped-def]
    """A province of communes of 100 cameras, 4 to a hamlet (25 hamlets per commune)."""
    province = create_area(session, kind=AreaKind.province, code="SP", name="Tỉnh", parent_id=None)
    hamlets, first_commune = [], None
    for c in range(max(1, cameras // 100)):
        commune = create_area(session, kind=AreaKind.commune, code=f"SC{c}", name=f"Xã {c}", parent_id=province.id)
        first_commune = first_commune or commune.id
        hamlets += [create_area(session, kind=AreaKind.hamlet, code=f"SH{c}-{i}", name=f"Thôn {i}",
                                parent_id=commune.id).id for i in range(25)]
    secret = encrypt_secret("x", settings)
    rng = random.Random(4)
    now = datetime.now(timezone.utc)
    session.execute(insert(Camera), [
        {"code": f"S{i:05d}", "name": f"Cam {i}", "area_id": hamlets[(i // 4) % len(hamlets)], "host": "10.0.0.1",
         "username": "u", "password_encrypted": secret, "status": rng.choice(STATUS_MIX), "status_reasons": [],
         "status_since": now - timedelta(seconds=rng.randint(0, 86400 * 30)), "created_at": now, "updated_at": now}
        for i in range(cameras)])
    session.commit()
    compact_all(session.get_bind())  # the steady state: a running API folds the status-count deltas within 2 s
    ids = [r[0] for r in session.execute(text("SELECT id FROM camera ORDER BY id"))]
    return province.id, first_commune or province.id, ids


def history_bytes(engine, session, camera_ids: list[int], changes_per_day: int) -> float:  # type: ignore[no-untyped-def]
    """Bytes (table + indexes) per stored change row."""
    rng = random.Random(7)
    before = _table_bytes(engine, session)
    rows = 0
    for camera_id in camera_ids:
        batch = [{"camera_id": camera_id, "at": at, "status": CameraStatus(status.value), "reasons_mask": 1}
                 for at, status in year_of_rows(changes_per_day, rng)]
        session.execute(insert(CameraStatusChange), batch)
        rows += len(batch)
    session.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE camera_status_change"))
    return (_table_bytes(engine, session) - before) / rows


def _table_bytes(engine, session) -> int:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "postgresql":
        return int(session.scalar(text("SELECT pg_total_relation_size('camera_status_change')")))
    session.commit()
    try:  # dbstat: exact pages of the table and its automatic primary-key index
        return int(session.scalar(text(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('camera_status_change', "
            "'sqlite_autoindex_camera_status_change_1')")) or 0)
    except Exception:  # noqa: BLE001 — SQLite built without dbstat: whole file pages
        return int(session.scalar(text("PRAGMA page_count"))) * int(session.scalar(text("PRAGMA page_size")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--changes-per-day", type=int, default=10, help="for the one-camera year (a flaky camera)")
    parser.add_argument("--history-cameras", type=int, default=50, help="cameras given a year of rows for bytes")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-summary-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'summary.sqlite3'}"
        if url.startswith("postgresql"):
            with make_engine(url).begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
        session = session_factory(engine)()
        province_id, commune_id, ids = build_fleet(session, settings, args.cameras)
        read = session_factory(engine, write=False)()
        summary_ms = timed(lambda: fleet_summary(read, scope=None, area_id=province_id), 20)
        scoped_ms = timed(lambda: fleet_summary(read, scope=[f"/{province_id}/"], area_id=None), 20)
        commune_ms = timed(lambda: fleet_summary(read, scope=None, area_id=commune_id), 20)
        read.commit()

        rows = year_of_rows(args.changes_per_day, random.Random(1))
        end = YEAR_START + YEAR
        pure_ms = timed(lambda: uptime(rows, YEAR_START, end, now=end), 200)
        per_row = history_bytes(engine, session, ids[: args.history_cameras], args.changes_per_day)
        one = ids[0]
        db_ms = timed(lambda: uptime_by_camera(read, [one], YEAR_START, end, now=end), 20)
        load_ms = timed(lambda: load_histories(read, [one], YEAR_START, end), 20)
        read.close()
        session.close()
        engine.dispose()
    print(f"{engine.dialect.name}: {args.cameras} cameras")
    print(f"  fleet summary, province of {args.cameras} cameras   {summary_ms:8.2f} ms (median of 20; by commune)")
    print(f"  fleet summary, user scoped to the province     {scoped_ms:8.2f} ms")
    print(f"  fleet summary, one commune (100 cameras)       {commune_ms:8.2f} ms")
    print(f"  uptime of one camera over a year, pure         {pure_ms:8.3f} ms ({len(rows)} changes)")
    print(f"  uptime of one camera over a year, from the DB  {db_ms:8.2f} ms (of which loading {load_ms:.2f} ms)")
    print(f"  status history: {per_row:.1f} bytes per change row (table + primary-key index)")
    for per_day in (1, 2, 10):
        print(f"    {per_day:2d} changes/day -> {per_row * per_day * 365 / 1024:8.1f} KB per camera-year")


if __name__ == "__main__":
    main()
