"""Custody ledger figures: append latency (own transaction each, as retrievals do) and chain
verification throughput through the database path (verify_ledger: SELECT ... ORDER BY seq).

    python bench/bench_ledger.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench] [--events 200000]

Targets (issue 5): append p99 ≤ 2 ms; verification ≥ 100,000 events/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from camera_ops.custody.chain import next_record
from camera_ops.custody.ledger import Actor, EventType, append_now, verify_ledger
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models_evidence import CustodyEvent, CustodyHead
from storage.types import utcnow

BULK_ROWS = 5_000


def reset(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM custody_event"))
        conn.execute(text("DELETE FROM custody_head"))


def bench_append(engine, count: int) -> list[float]:  # type: ignore[no-untyped-def]
    actor = Actor("bench", "officer", "127.0.0.1")
    times = []
    for i in range(count):
        t = time.perf_counter()
        append_now(engine, EventType.viewed, actor, case_id=1, clip_id=i % 50, purpose="đo hiệu năng",
                   details={"bytes": [0, 1000]})
        times.append((time.perf_counter() - t) * 1000)
    return times


def fill(engine, count: int) -> None:  # type: ignore[no-untyped-def]
    """A valid chain of ``count`` events written in bulk (not through append: that is measured above)."""
    head = None
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
        conn.execute(insert(CustodyHead.__table__).values(id=1, seq=head.seq, hash=head.hash))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'ledger.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    reset(engine)
    times = bench_append(engine, args.appends)
    q = statistics.quantiles(times, n=100)
    print(f"[{engine.dialect.name}] append (own transaction, committed): n={len(times)} "
          f"p50={q[49]:.3f} ms p99={q[98]:.3f} ms max={max(times):.3f} ms  (target p99 <= 2 ms)")
    reset(engine)
    fill(engine, args.events)
    with Session(engine) as session:
        t = time.perf_counter()
        report = verify_ledger(session)
        elapsed = time.perf_counter() - t
    assert report.ok, report.reason
    print(f"[{engine.dialect.name}] verify through the DB: {report.checked} events in {elapsed:.2f} s = "
          f"{report.checked / elapsed:,.0f} events/s  (target >= 100,000/s)")
    reset(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
