"""Status-history bytes per camera-year, measured on real databases (issue 4: target <= 200 KB).

For each backend (a temporary SQLite file; PostgreSQL database ``bench_history``, created here and
dropped at the end) and each change rate: a fresh schema from ``storage.migrate.upgrade``, 200
cameras, 4 per hamlet, then one year of status changes written the way the monitor writes them
(``store.write_batch``, one transaction per day, all cameras interleaved in time order) and the
hourly rollups written by the real ``RollupJob`` after each day. Bytes are what the database holds:
PostgreSQL ``pg_total_relation_size`` (heap + indexes + FSM/VM) after VACUUM ANALYZE; SQLite the
pages of each b-tree from ``dbstat``, as written and after VACUUM.

Then scratch tables (never the repo's models) copy the same rows in the same order into
alternative layouts, so each proposal's saving is measured, not estimated. Figures, not a test::

    python bench/bench_history_bytes.py                       # both backends, rates 1 3 5.5 10
    python bench/bench_history_bytes.py --rates 1 10 --no-postgres
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from camera_ops.health.vocabulary import Reason, Status  # noqa: E402
from camera_ops.monitor.history import ROLLUP_MARK, RollupJob, uptime_by_camera  # noqa: E402
from camera_ops.monitor.store import Batch, StatusChangeRecord, write_batch  # noqa: E402
from camera_ops.registry.areas import create_area  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import AreaKind, Camera, CameraStatus, Lifecycle, RegistrationState  # noqa: E402
from storage.models_monitoring import MonitorMark  # noqa: E402

CAMERAS = 200
HAMLET_SIZE = 4  # DESIGN.md: about 4 cameras per hamlet
COMMUNE_HAMLETS = 10  # a rural commune: 10 hamlets, ~40 cameras (rollups are per commune-hour)
RATES = (1.0, 3.0, 5.5, 10.0)  # status changes per camera per day; a healthy camera has < 1
TARGET_KB = 200.0
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
SEEDED_AT = YEAR_START - timedelta(days=30)  # cameras exist before the year (the rollup counts them)
MIN_GAP_S = 1.0  # two changes of one camera are at least a probe apart
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_history"
KB = 1024

CHANGE_TABLE = "camera_status_change"
ROLLUP_TABLE = "status_rollup_hour"

# What a camera goes through: mostly online, then a reason to be down, then back.
_DOWN = ((Status.OFFLINE, (Reason.UNREACHABLE,)), (Status.OFFLINE, (Reason.TIMEOUT,)),
         (Status.OFFLINE, (Reason.REFUSED,)), (Status.DEGRADED, (Reason.FROZEN,)),
         (Status.DEGRADED, (Reason.BLACK,)), (Status.DEGRADED, (Reason.CLOCK_DRIFT,)),
         (Status.DEGRADED, (Reason.BLURRED, Reason.COVERED)), (Status.UNAUTHORIZED, (Reason.WRONG_PASSWORD,)),
         (Status.MAINTENANCE, ()))
_DOWN_WEIGHTS = (30, 15, 5, 12, 6, 8, 4, 10, 10)


# --- one year of history --------------------------------------------------------------------------


def camera_year(camera_id: int, per_day: float, rng: random.Random) -> list[StatusChangeRecord]:
    """Changes of one camera over the year: exponential gaps (mean 1/rate), microsecond times."""
    rows: list[StatusChangeRecord] = []
    status, reasons, since = Status.ONLINE, (), YEAR_START + timedelta(seconds=rng.uniform(1, 60))
    at = since
    rows.append(StatusChangeRecord(camera_id, at, status, reasons, since))
    mean_gap_s = 86_400 / per_day
    while True:
        at += timedelta(seconds=max(MIN_GAP_S, rng.expovariate(1 / mean_gap_s)), microseconds=rng.randrange(1_000_000))
        if at >= YEAR_END:
            return rows
        if status is Status.ONLINE or rng.random() < 0.8:
            new_status, new_reasons = ((Status.ONLINE, ()) if status is not Status.ONLINE
                                       else rng.choices(_DOWN, _DOWN_WEIGHTS)[0])
        else:  # still down, another reason (a reasons-only change keeps ``since``)
            new_status, new_reasons = rng.choices(_DOWN, _DOWN_WEIGHTS)[0]
        if (new_status, new_reasons) == (status, reasons):
            continue
        since = since if new_status is status else at
        status, reasons = new_status, new_reasons
        rows.append(StatusChangeRecord(camera_id, at, status, reasons, since))


def year_by_day(camera_ids: Sequence[int], per_day: float, seed: int) -> list[list[StatusChangeRecord]]:
    """All cameras' changes in time order, cut into the day batches the monitor would have flushed."""
    rng = random.Random(seed)
    rows = sorted((r for cid in camera_ids for r in camera_year(cid, per_day, rng)), key=lambda r: r.at)
    days: list[list[StatusChangeRecord]] = [[] for _ in range((YEAR_END - YEAR_START).days)]
    for r in rows:
        days[(r.at - YEAR_START).days].append(r)
    return days


# --- databases ------------------------------------------------------------------------------------


def seed(url: str) -> list[int]:
    """Fresh schema, one province -> communes of COMMUNE_HAMLETS hamlets, CAMERAS pending cameras."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session, session.begin():
            province = create_area(session, kind=AreaKind.province, code="HP", name="Tỉnh bench", parent_id=None,
                                   now=SEEDED_AT)
            hamlet_count = CAMERAS // HAMLET_SIZE
            communes = [create_area(session, kind=AreaKind.commune, code=f"HC{i}", name=f"Xã {i}",
                                    parent_id=province.id, now=SEEDED_AT)
                        for i in range(-(-hamlet_count // COMMUNE_HAMLETS))]
            hamlets = [create_area(session, kind=AreaKind.hamlet, code=f"HH{i}", name=f"Thôn {i}",
                                   parent_id=communes[i // COMMUNE_HAMLETS].id, now=SEEDED_AT)
                       for i in range(hamlet_count)]
            cameras = [Camera(code=f"H-{i:04d}", name=f"bench {i}", area_id=hamlets[i // HAMLET_SIZE].id,
                              host=f"127.0.1.{i % 250}", username="admin", password_encrypted=b"-",
                              registration=RegistrationState.pending, lifecycle=Lifecycle.active,
                              status=CameraStatus.unknown, status_since=SEEDED_AT, status_reasons=[],
                              created_at=SEEDED_AT, updated_at=SEEDED_AT)
                       for i in range(CAMERAS)]
            session.add_all(cameras)
            session.flush()
            return [c.id for c in cameras]
    finally:
        engine.dispose()


def write_year(url: str, days: list[list[StatusChangeRecord]]) -> tuple[int, int]:
    """Changes through the monitor's write path and rollups through RollupJob, a day at a time."""
    engine = make_engine(url)
    make_session = session_factory(engine)
    try:
        with make_session() as session, session.begin():
            session.add(MonitorMark(name=ROLLUP_MARK, at=YEAR_START))
        job = RollupJob(make_session)
        changes = rollups = 0
        for i, day in enumerate(days):
            with make_session() as session, session.begin():
                write_batch(session, Batch(changes=day))
            changes += len(day)
            rollups += job.run_once(now=YEAR_START + timedelta(days=i + 1))
        with make_session() as session:
            mark = session.get(MonitorMark, ROLLUP_MARK)
            assert mark is not None and mark.at == YEAR_END, f"rollup stopped at {mark and mark.at}"
        return changes, rollups
    finally:
        engine.dispose()


def uptime_from_db_ms(url: str, camera_id: int) -> float:
    """Exact uptime of one camera over the year, rows loaded from the database (best of 5)."""
    engine = make_engine(url)
    try:
        best = math.inf
        with session_factory(engine, write=False)() as session:
            for _ in range(5):
                t0 = time.perf_counter()
                uptime_by_camera(session, [camera_id], YEAR_START, YEAR_END, now=YEAR_END)
                best = min(best, time.perf_counter() - t0)
                session.rollback()
        return best * 1e3
    finally:
        engine.dispose()


@dataclass
class Size:
    """Bytes of one table: its rows (heap / rowid b-tree), its indexes, the rest (FSM, VM)."""

    rows: int
    heap: int
    index: int
    other: int = 0
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.heap + self.index + self.other

    def kb_per_camera(self, cameras: int = CAMERAS) -> float:
        return self.total / cameras / KB

    def per_row(self) -> str:
        n = max(1, self.rows)
        return f"{self.heap / n:5.1f}+{self.index / n:4.1f}" + (f"+{self.other / n:3.1f}" if self.other else "")


# --- SQLite ---------------------------------------------------------------------------------------


def sqlite_sizes(path: Path, tables: Sequence[str]) -> dict[str, Size]:
    """Pages of each table's b-trees (table and its indexes) from dbstat."""
    with sqlite3.connect(path, isolation_level=None) as db:
        owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        kinds = dict(db.execute("SELECT name, type FROM sqlite_master"))
        pages = db.execute("SELECT name, SUM(pgsize), SUM(unused) FROM dbstat GROUP BY name").fetchall()
        sizes = {}
        for table in tables:
            n = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            heap = sum(b for name, b, _ in pages if name == table)
            index = sum(b for name, b, _ in pages if owner.get(name) == table and kinds.get(name) == "index")
            unused = sum(u for name, _, u in pages if owner.get(name) == table)
            sizes[table] = Size(n, heap, index, notes={"fill": 1 - unused / max(1, heap + index)})
        return sizes


def sqlite_vacuum(path: Path) -> None:
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("VACUUM")


def sqlite_scratch() -> dict[str, tuple[str, list[str]]]:
    """Alternative layouts filled from the real tables in the same (time) order; name -> (kind, DDL)."""
    # at is stored as 'YYYY-MM-DD HH:MM:SS.ffffff': exact integer epoch microseconds
    at_us = "(CAST(strftime('%s', at) AS INTEGER) * 1000000 + CAST(substr(at, 21, 6) AS INTEGER))"
    return {
        "x_change_without_rowid": ("change", [
            "CREATE TABLE x_change_without_rowid (camera_id INTEGER NOT NULL, at DATETIME NOT NULL, "
            "status SMALLINT NOT NULL, reasons_mask SMALLINT NOT NULL, PRIMARY KEY (camera_id, at)) WITHOUT ROWID",
            f"INSERT INTO x_change_without_rowid SELECT camera_id, at, status, reasons_mask FROM {CHANGE_TABLE} "
            "ORDER BY at"]),
        "x_change_int_at": ("change", [
            "CREATE TABLE x_change_int_at (camera_id INTEGER NOT NULL, at INTEGER NOT NULL, "
            "status SMALLINT NOT NULL, reasons_mask SMALLINT NOT NULL, PRIMARY KEY (camera_id, at))",
            f"INSERT INTO x_change_int_at SELECT camera_id, {at_us}, status, reasons_mask FROM {CHANGE_TABLE} "
            "ORDER BY at"]),
        "x_change_wr_int_at": ("change", [
            "CREATE TABLE x_change_wr_int_at (camera_id INTEGER NOT NULL, at INTEGER NOT NULL, "
            "status SMALLINT NOT NULL, reasons_mask SMALLINT NOT NULL, PRIMARY KEY (camera_id, at)) WITHOUT ROWID",
            f"INSERT INTO x_change_wr_int_at SELECT camera_id, {at_us}, status, reasons_mask FROM {CHANGE_TABLE} "
            "ORDER BY at"]),
    }


def write_timed(url: str, camera_ids: list[int], rate: float, seed_value: int) -> tuple[int, int, float, float]:
    """Write the year; (changes, rollup rows, seconds it took, ms for one camera-year's uptime)."""
    days = year_by_day(camera_ids, rate, seed_value)
    t0 = time.monotonic()
    changes, rollups = write_year(url, days)
    return changes, rollups, time.monotonic() - t0, uptime_from_db_ms(url, camera_ids[0])


def run_sqlite(workdir: Path, rate: float, seed_value: int) -> dict[str, object]:
    path = workdir / f"history-{rate:g}.sqlite3"
    url = f"sqlite:///{path}"
    changes, rollups, written_s, uptime_ms = write_timed(url, seed(url), rate, seed_value)
    as_written = sqlite_sizes(path, (CHANGE_TABLE, ROLLUP_TABLE))
    with sqlite3.connect(path, isolation_level=None) as db:
        scratch = sqlite_scratch()
        for _, statements in scratch.values():
            for statement in statements:
                db.execute(statement)
    scratch_written = sqlite_sizes(path, list(scratch))
    sqlite_vacuum(path)
    vacuumed = sqlite_sizes(path, (CHANGE_TABLE, ROLLUP_TABLE, *scratch))
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {"changes": changes, "rollups": rollups, "written_s": written_s, "uptime_ms": uptime_ms,
            "as_written": as_written, "scratch_written": scratch_written, "vacuumed": vacuumed,
            "scratch_kinds": {name: kind for name, (kind, _) in scratch.items()}}


# --- PostgreSQL -----------------------------------------------------------------------------------


@contextmanager
def pg_database(url: str, *, keep: bool) -> Iterator[str]:
    """A database of our own: (re)created empty, dropped at the end unless ``keep``."""
    target = make_url(url)
    name = target.database
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_reset(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS scratch CASCADE"))
        conn.execute(text(f"TRUNCATE {CHANGE_TABLE}, {ROLLUP_TABLE}, monitor_mark"))


def pg_sizes(engine: Engine, tables: Sequence[str]) -> dict[str, Size]:
    sizes = {}
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))
        for table in tables:
            conn.execute(text(f"VACUUM ANALYZE {table}"))
            n, heap, index, total = conn.execute(text(
                f"SELECT (SELECT COUNT(*) FROM {table}), pg_relation_size(:t), pg_indexes_size(:t), "
                "pg_total_relation_size(:t)"), {"t": table}).one()
            pkey = conn.execute(text(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = CAST(:t AS regclass) "
                "ORDER BY indisprimary DESC LIMIT 1"), {"t": table}).scalar()
            notes = {}
            if pkey:
                notes["leaf_fill"] = conn.execute(text("SELECT avg_leaf_density FROM pgstatindex(:i)"),
                                                  {"i": pkey}).scalar() / 100
            sizes[table] = Size(n, heap, index, total - heap - index, notes)
    return sizes


def pg_scratch() -> dict[str, tuple[str, list[str]]]:
    """Alternative layouts in schema ``scratch``, filled in the same (time) order as the monitor."""
    return {
        "scratch.change_reindexed": ("change", [
            f"CREATE TABLE scratch.change_reindexed (LIKE {CHANGE_TABLE} INCLUDING ALL)",
            f"INSERT INTO scratch.change_reindexed SELECT * FROM {CHANGE_TABLE} ORDER BY at",
            "REINDEX TABLE scratch.change_reindexed"]),
    }


def run_postgres(url: str, camera_ids: list[int], rate: float, seed_value: int) -> dict[str, object]:
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        pg_reset(engine)
        changes, rollups, written_s, uptime_ms = write_timed(url, camera_ids, rate, seed_value)
        sizes = pg_sizes(engine, (CHANGE_TABLE, ROLLUP_TABLE))
        with engine.connect() as conn:
            scratch = pg_scratch()
            conn.execute(text("CREATE SCHEMA scratch"))
            for _, statements in scratch.values():
                for statement in statements:
                    conn.execute(text(statement))
        sizes.update(pg_sizes(engine, list(scratch)))
        pg_reset(engine)
        return {"changes": changes, "rollups": rollups, "written_s": written_s, "uptime_ms": uptime_ms,
                "sizes": sizes, "scratch_kinds": {name: kind for name, (kind, _) in scratch.items()}}
    finally:
        engine.dispose()


# --- report ---------------------------------------------------------------------------------------


def fill_note(size: Size) -> str:
    if "leaf_fill" in size.notes:
        return f"pkey leaf fill {size.notes['leaf_fill']:.0%}"
    return f"page fill {size.notes['fill']:.0%}" if "fill" in size.notes else ""


def met_text(rate: float | None) -> str:
    return f"{rate:g} changes/day (of the rates run)" if rate is not None else "none of the rates run"


def print_main_table(title: str, results: dict[float, dict[str, Size]], extra: dict[float, str]) -> float | None:
    """Per rate: KB/camera-year of changes, rollups, total; returns the highest rate meeting the target."""
    print(f"\n{title}")
    print(f"  {'changes/day':>11} {'rows/cam-yr':>11} {'changes KB':>10} {'rollups KB':>10} {'total KB':>9}  "
          f"{'B/row changes (rows+index)':>27}  {'B/row rollups':>14}  notes")
    met = None
    for rate, sizes in results.items():
        ch, ro = sizes[CHANGE_TABLE], sizes[ROLLUP_TABLE]
        total = ch.kb_per_camera() + ro.kb_per_camera()
        if total <= TARGET_KB:
            met = rate
        print(f"  {rate:11g} {ch.rows / CAMERAS:11.0f} {ch.kb_per_camera():10.1f} {ro.kb_per_camera():10.1f} "
              f"{total:9.1f}{'*' if total > TARGET_KB else ' '} {ch.per_row():>27}  {ro.per_row():>14}  "
              f"{'; '.join(filter(None, (fill_note(ch), extra.get(rate))))}")
    communes = -(-(CAMERAS // HAMLET_SIZE) // COMMUNE_HAMLETS)
    print(f"  (* over the {TARGET_KB:.0f} KB target; rollups: {communes} communes x 8,760 hours, "
          f"amortised over {CAMERAS} cameras)")
    return met


def print_scratch(title: str, results: dict[float, dict[str, Size]], kinds: dict[str, str],
                  baseline: Callable[[float], dict[str, Size]],
                  vacuumed: dict[float, dict[str, Size]] | None = None) -> None:
    print(f"\n{title}")
    print(f"  {'layout':34s} {'changes/day':>11} {'KB/cam-yr':>9} {'vs now':>8} {'B/row':>14}  notes")
    for name, kind in kinds.items():
        for rate, sizes in results.items():
            size, base = sizes[name], baseline(rate)[CHANGE_TABLE if kind == "change" else ROLLUP_TABLE]
            after = f"; after VACUUM {vacuumed[rate][name].kb_per_camera():.1f} KB" if vacuumed else ""
            print(f"  {name:34s} {rate:11g} {size.kb_per_camera():9.1f} "
                  f"{size.kb_per_camera() - base.kb_per_camera():+8.1f} {size.per_row():>14}  {fill_note(size)}{after}")
            if kind == "rollup" and len(results) > 1:
                break  # rollup rows do not depend on the change rate (SQLite varints aside): one line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rates", type=float, nargs="+", default=list(RATES), help="status changes per camera-day")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url", default=PG_URL, help="a database this bench may drop and re-create")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL database in place")
    parser.add_argument("--seed", type=int, default=4)


def run_from_args(args: argparse.Namespace) -> None:
    run_benchmark(args.rates, sqlite=not args.no_sqlite, postgres=not args.no_postgres, pg_url=args.pg_url,
                  keep=args.keep, seed_value=args.seed)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    run_from_args(parser.parse_args(argv))


def run_benchmark(rates: Sequence[float], *, sqlite: bool = True, postgres: bool = True, pg_url: str = PG_URL,
                  keep: bool = False, seed_value: int = 4) -> None:
    print(f"status history of {CAMERAS} cameras ({HAMLET_SIZE} per hamlet) over {YEAR_START:%Y}; "
          f"target <= {TARGET_KB:.0f} KB per camera-year")
    if sqlite:
        runs: dict[float, dict[str, object]] = {}
        with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
            for rate in rates:
                runs[rate] = run_sqlite(Path(tmp), rate, seed_value)
                print(f"  sqlite {rate:g}/day: {runs[rate]['changes']} changes, {runs[rate]['rollups']} rollup rows "
                      f"written in {runs[rate]['written_s']:.1f} s", flush=True)
        extra = {r: f"uptime of 1 camera-year from the DB {v['uptime_ms']:.2f} ms" for r, v in runs.items()}
        met = print_main_table("SQLite, as written (dbstat pages)", {r: v["as_written"] for r, v in runs.items()}, extra)
        met_v = print_main_table("SQLite, after VACUUM", {r: v["vacuumed"] for r, v in runs.items()}, {})
        print(f"  SQLite meets the target up to {met_text(met)} as written, {met_text(met_v)} after VACUUM")
        kinds = next(iter(runs.values()))["scratch_kinds"]
        print_scratch("SQLite scratch layouts, as written (same rows, same order; 'vs now' against as written)",
                      {r: v["scratch_written"] for r, v in runs.items()}, kinds,
                      lambda r: runs[r]["as_written"],  # type: ignore[arg-type,return-value]
                      {r: v["vacuumed"] for r, v in runs.items()})  # type: ignore[misc]
    if postgres:
        pg_runs: dict[float, dict[str, object]] = {}
        with pg_database(pg_url, keep=keep) as url:
            camera_ids = seed(url)
            for rate in rates:
                pg_runs[rate] = run_postgres(url, camera_ids, rate, seed_value)
                print(f"  postgres {rate:g}/day: {pg_runs[rate]['changes']} changes, {pg_runs[rate]['rollups']} "
                      f"rollup rows written in {pg_runs[rate]['written_s']:.1f} s", flush=True)
        extra = {r: f"uptime of 1 camera-year from the DB {v['uptime_ms']:.2f} ms" for r, v in pg_runs.items()}
        met = print_main_table("PostgreSQL, after VACUUM ANALYZE (pg_total_relation_size: heap+index+FSM/VM)",
                               {r: v["sizes"] for r, v in pg_runs.items()}, extra)
        print(f"  PostgreSQL meets the target up to {met_text(met)}")
        kinds = next(iter(pg_runs.values()))["scratch_kinds"]
        print_scratch("PostgreSQL scratch layouts (same rows, same order)", {r: v["sizes"] for r, v in pg_runs.items()},
                      kinds, lambda r: pg_runs[r]["sizes"])  # type: ignore[return-value]


if __name__ == "__main__":
    main()
