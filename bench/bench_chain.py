"""Custody chain verification speed over 1,000,000 synthetic events.

Run: python3 bench/bench_chain.py [events]
Events are generated (and hashed) in batches of 100,000 so memory stays small; only verification is
timed, each batch continuing from the previous batch's head (as verifying from a checkpoint does).
Target (issue 5): >= 100,000 events/s.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from camera_ops.custody.chain import EventRecord, canonical_bytes, link, next_record, verify_chain

BATCH = 100_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
EVENT_TYPES = ("requested", "acquired", "verified", "archived", "viewed", "streamed", "downloaded", "link_issued")
DETAILS = ({}, {"bytes": 734003200, "range": "0-"}, {"object_key": "cases/VA-2026-123/clip-17.mp4", "version_id": "3f2a"})


def batch(head: EventRecord | None, size: int) -> list[EventRecord]:
    rows = []
    for _ in range(size):
        seq = head.seq + 1 if head else 1
        head = next_record(
            head,
            event_type=EVENT_TYPES[seq % len(EVENT_TYPES)],
            actor=f"officer{seq % 50}",
            role="officer",
            at=T0 + timedelta(seconds=seq * 7, microseconds=seq % 1_000_000),
            case=f"VA-2026/{seq // 1000}",
            clip=seq // 100,
            purpose="Điều tra vụ trộm xe máy",
            client_address="10.20.30.40",
            details=DETAILS[seq % len(DETAILS)],
        )
        rows.append(head)
    return rows


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    head: EventRecord | None = None
    verified, elapsed, cpu = 0, 0.0, 0.0
    while verified < total:
        rows = batch(head, min(BATCH, total - verified))
        start_seq = rows[0].seq
        start_prev = rows[0].prev_hash
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = verify_chain(rows, start_seq=start_seq, start_prev_hash=start_prev)
        elapsed += time.perf_counter() - wall0
        cpu += time.process_time() - cpu0
        assert result.ok, result
        verified += result.checked
        head = rows[-1]
    sample = head
    assert sample is not None
    size = len(canonical_bytes(sample, sample.prev_hash))
    print(f"verified {verified:,} events in {elapsed:.2f} s wall / {cpu:.2f} s CPU: "
          f"{verified / elapsed:,.0f} events/s ({elapsed / verified * 1e6:.2f} us/event), canonical ~{size} bytes/event")
    rounds = 100_000
    t0 = time.perf_counter()
    for _ in range(rounds):
        link(sample.prev_hash, sample)
    print(f"link() alone (canonical JSON + SHA-256): {(time.perf_counter() - t0) / rounds * 1e6:.2f} us/event")


if __name__ == "__main__":
    main()
