"""Custody ledger figures: append latency (own transaction each, as retrievals do) and chain
verification throughput through the database path (verify_ledger: SELECT ... ORDER BY seq).

    python bench/bench_ledger.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench] [--events 200000]
                                 [--writers 3] [--verify-runs 3]

Targets (issue 5, kept by issue 11): append p99 <= 2 ms; verification >= 100,000 events/s — with
signed checkpoints: a checkpoint writer (the one ``serve``/``monitor``/``worker`` run) writes signed
checkpoints every ``--checkpoint-interval`` seconds (default 300, the production default) while the
appends run, and verification checks the chain against every signed checkpoint in the store
(``--events-per-checkpoint``: how many events each stored checkpoint covers).

Next to every append the bench times the *floor*: one INSERT + durable COMMIT of a similar row on a
bare driver connection (psycopg autocommit; sqlite3 with synchronous=FULL), interleaved with the
appends so both see the same machine (other processes, fsync hiccups). An append cannot beat it.
``--writers N`` appends from N processes at once (as API workers do) and checks the chain is one line;
its floor is N processes committing bare rows at once, in rounds alternating with the appends.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from camera_ops.custody.anchor import CheckpointKeeper, verify_anchored
from camera_ops.custody.chain import EventRecord, next_record
from camera_ops.custody.checkpoint import _store_one
from camera_ops.custody.signing import Keyring
from camera_ops.settings import Settings
from storage.clipstore.local import LocalClipStore
from camera_ops.custody.ledger import Actor, EventType, append_now, iter_events, verify_ledger
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models_evidence import CustodyEvent, CustodyHead
from storage.types import utcnow

BULK_ROWS = 5_000
FLOOR_TABLE = "bench_ledger_floor"
ACTOR = Actor("bench", "officer", "127.0.0.1")
FLOOR_ROW = ("bench", "đo hiệu năng", '{"bytes":[0,1000]}', "0" * 64, "1" * 64)


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM custody_event"))
        conn.execute(text("DELETE FROM custody_head"))
        conn.execute(text("DELETE FROM custody_checkpoint"))
        conn.execute(text("DELETE FROM custody_anchor"))


def one_append(engine: Engine, i: int) -> None:
    append_now(engine, EventType.viewed, ACTOR, case_id=1, clip_id=i % 50, purpose="đo hiệu năng",
               details={"bytes": [0, 1000]})


def floor_writer(url: str, table: str = FLOOR_TABLE) -> tuple[Callable[[], None], Callable[[], None]]:
    """(insert + durable commit of one row on a bare driver connection, cleanup)."""
    sqlite = url.startswith("sqlite")
    conn = _bare_connection(url)
    placeholders = ",".join(["?" if sqlite else "%s"] * len(FLOOR_ROW))
    sql = f"INSERT INTO {table} (actor, purpose, details, prev_hash, hash) VALUES ({placeholders})"
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id {'INTEGER' if sqlite else 'BIGSERIAL'} PRIMARY KEY, actor TEXT, "
                 "purpose TEXT, details TEXT, prev_hash TEXT, hash TEXT)")

    def write() -> None:
        if sqlite:  # autocommit off in sqlite3 terms: the same BEGIN IMMEDIATE ... COMMIT as the ledger
            conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, FLOOR_ROW)
        if sqlite:
            conn.execute("COMMIT")

    def cleanup() -> None:
        conn.execute(f"DROP TABLE {table}")
        conn.close()

    return write, cleanup


def _bare_connection(url: str):  # type: ignore[no-untyped-def]
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split("///", 1)[-1], isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")  # as the ledger's own connection commits
        return conn
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)


def bench_append(engine: Engine, url: str, count: int) -> tuple[list[float], list[float]]:
    """(append times, floor times) in ms, interleaved."""
    floor, cleanup = floor_writer(url)
    appends, floors = [], []
    for i in range(count):
        t = time.perf_counter()
        one_append(engine, i)
        appends.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        floor()
        floors.append((time.perf_counter() - t) * 1000)
    cleanup()
    return appends, floors


_ENGINES: dict[str, Engine] = {}  # one per writer process, kept across rounds (its ledger connection too)


def _writer_process(url: str, count: int) -> list[float]:
    engine = _ENGINES.get(url) or _ENGINES.setdefault(url, make_engine(url))
    times = []
    for i in range(count):
        t = time.perf_counter()
        one_append(engine, i)
        times.append((time.perf_counter() - t) * 1000)
    return times


def _floor_process(url: str, count: int) -> list[float]:
    """The same count of bare INSERT + durable COMMITs, into a table of this process's own."""
    import os

    write, cleanup = floor_writer(url, f"{FLOOR_TABLE}_{os.getpid()}")
    times = []
    for _ in range(count):
        t = time.perf_counter()
        write()
        times.append((time.perf_counter() - t) * 1000)
    cleanup()
    return times


def bench_concurrent(engine: Engine, url: str, writers: int, count: int, rounds: int = 5) -> tuple[list[float], list[float]]:
    """(append times, floor times) from ``writers`` processes at once, in alternating rounds: the
    floor is as many processes each committing bare rows at the same time (no chain, no lock), so
    both see the same machine."""
    appends: list[float] = []
    floors: list[float] = []
    per_round = count // writers // rounds
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        pool.starmap(_writer_process, [(url, 1)] * writers)  # connect outside the timing
        for _ in range(rounds):
            appends += [t for times in pool.starmap(_writer_process, [(url, per_round)] * writers) for t in times]
            floors += [t for times in pool.starmap(_floor_process, [(url, per_round)] * writers) for t in times]
    with Session(engine) as session:
        report = verify_ledger(session)
        seqs = [row.seq for row in iter_events(session)]
    assert report.ok, report.reason
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == writers * (per_round * rounds + 1), "chain not linear"
    return appends, floors


def fill(engine: Engine, count: int) -> None:
    """A valid chain of ``count`` events written in bulk (not through append: that is measured above)."""
    head: EventRecord | None = None
    rows = []
    now = utcnow()
    with engine.begin() as conn:
        for i in range(count):
            head = next_record(head, event_type="viewed", actor=f"user{i % 40}", role="officer", at=now,
                               case=i % 300, clip=i % 900, purpose="xem lại", client_address="10.0.0.7",
                               details={"bytes": [0, i]})
            rows.append({"seq": head.seq, "event_type": head.event_type, "actor": head.actor, "role": head.role,
                         "case_id": head.case, "clip_id": head.clip, "purpose": head.purpose,
                         "client_address": head.client_address, "at": head.at, "details": dict(head.details),
                         "prev_hash": head.prev_hash, "hash": head.hash})
            if len(rows) == BULK_ROWS:
                conn.execute(insert(CustodyEvent.__table__), rows)
                rows.clear()
        if rows:
            conn.execute(insert(CustodyEvent.__table__), rows)
        assert head is not None
        conn.execute(insert(CustodyHead.__table__).values(id=1, seq=head.seq, hash=head.hash))


def bench_verify(engine: Engine, runs: int, anchored: tuple[Settings, LocalClipStore, Keyring] | None = None
                 ) -> list[float]:
    rates = []
    for _ in range(runs):
        with Session(engine) as session:
            t = time.perf_counter()
            report = verify_anchored(session, anchored[1], anchored[0], anchored[2]) if anchored else verify_ledger(session)
            elapsed = time.perf_counter() - t
        assert report.ok, report.reason
        rates.append(report.checked / elapsed)
    return rates


def anchoring(url: str, interval_s: float) -> tuple[Settings, LocalClipStore, Keyring]:
    directory = Path(tempfile.mkdtemp(prefix="bench-anchor-"))
    settings = Settings(data_dir=directory, database_url=url, custody_checkpoint_interval_s=interval_s,
                        _env_file=None)  # type: ignore[call-arg]
    store = LocalClipStore(directory / "clips")
    store.ensure_ready()
    return settings, store, Keyring.from_settings(settings)


def checkpoint_all(engine: Engine, anchored: tuple[Settings, LocalClipStore, Keyring], every: int, count: int) -> int:
    """Signed checkpoints over a filled chain, one per ``every`` events (as a writer would have left them)."""
    settings, store, keyring = anchored
    written, prev = 0, "0" * 64
    for start in range(1, count + 1, every):
        end = min(start + every - 1, count)
        with Session(engine) as session:
            hashes = list(session.scalars(select(CustodyEvent.hash).where(CustodyEvent.seq.between(start, end))
                                          .order_by(CustodyEvent.seq)))
            _store_one(session, store, settings, keyring, start, end, prev, hashes)
            session.commit()
        written, prev = written + 1, hashes[-1]
    return written


def quantiles(times: list[float]) -> str:
    q = statistics.quantiles(times, n=100)
    return f"p50={q[49]:.3f} ms p99={q[98]:.3f} ms max={max(times):.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--writers", type=int, default=0, help="also append from this many processes at once")
    parser.add_argument("--verify-runs", type=int, default=1)
    parser.add_argument("--checkpoint-interval", type=float, default=300.0, help="seconds between checkpoints")
    parser.add_argument("--events-per-checkpoint", type=int, default=2_000,
                        help="events each stored checkpoint covers in the verification run")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'ledger.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    name = engine.dialect.name
    reset(engine)
    anchored = anchoring(url, args.checkpoint_interval)
    keeper = CheckpointKeeper(engine, anchored[0], store=anchored[1], owner="bench", keyring=anchored[2])
    fill(engine, 1)  # something to anchor at once: the first checkpoint is written while appends run
    keeper.start()
    appends, floors = bench_append(engine, url, args.appends)
    keeper.stop()
    with Session(engine) as session:
        checkpoints = session.scalar(text("SELECT count(*) FROM custody_checkpoint"))
        report = verify_anchored(session, anchored[1], anchored[0], anchored[2])
    assert report.ok or report.unanchored, report.reason
    print(f"[{name}] append (own transaction, committed): n={len(appends)} {quantiles(appends)}  (target p99 <= 2 ms); "
          f"signed checkpoints written meanwhile: {checkpoints} (interval {args.checkpoint_interval:g} s)")
    print(f"[{name}] floor (bare driver INSERT + durable COMMIT, interleaved): {quantiles(floors)}")
    if args.writers:
        reset(engine)
        times, floor_times = bench_concurrent(engine, url, args.writers, args.appends)
        print(f"[{name}] append from {args.writers} processes at once: n={len(times)} {quantiles(times)}; chain linear")
        print(f"[{name}] floor from {args.writers} processes at once (bare INSERT + durable COMMIT each, in "
              f"alternating rounds): {quantiles(floor_times)}")
    reset(engine)
    fill(engine, args.events)
    rates = bench_verify(engine, args.verify_runs)
    print(f"[{name}] verify through the DB (chain + head only): {args.events} events: "
          f"{statistics.median(rates):,.0f} events/s median, {min(rates):,.0f} worst of {len(rates)}")
    anchored = anchoring(url, args.checkpoint_interval)
    count = checkpoint_all(engine, anchored, args.events_per_checkpoint, args.events)
    rates = bench_verify(engine, args.verify_runs, anchored)
    print(f"[{name}] verify against every signed checkpoint ({count} in the store, {args.events_per_checkpoint} "
          f"events each, signatures checked): {statistics.median(rates):,.0f} events/s median, "
          f"{min(rates):,.0f} worst of {len(rates)}  (target >= 100,000/s)")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM custody_checkpoint"))
        conn.execute(text("DELETE FROM custody_anchor"))
    reset(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
