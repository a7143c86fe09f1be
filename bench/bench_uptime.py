"""Uptime arithmetic cost, and status-history storage per camera-year.

Run: python3 bench/bench_uptime.py              (timings, then bytes measured on SQLite and PostgreSQL)
     python3 bench/bench_uptime.py --no-db      (timings only)
Targets (issue 4): uptime of one camera over a year of history <= 1 ms; status-history bytes per
camera-year <= 200 KB. The bytes are measured, not estimated, by ``bench_history_bytes`` (a year of
changes and hourly rollups written through the monitor's own code into real databases); its options
(--rates, --no-sqlite, --no-postgres, --pg-url, --keep, --seed) are accepted here too.
"""

from __future__ import annotations

import argparse
import random
import sys
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_history_bytes  # noqa: E402
from camera_ops.health.uptime import StatusChange, StatusTimeline, aggregate, hourly_rollup, uptime  # noqa: E402
from camera_ops.health.vocabulary import Status  # noqa: E402

CHANGES_PER_DAY = 10  # a troubled camera; a healthy one changes status less than once a day
DAYS = 365
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def year_of_history(seed: int = 1) -> list[StatusChange]:
    rng = random.Random(seed)
    statuses = [Status.ONLINE, Status.ONLINE, Status.OFFLINE, Status.DEGRADED, Status.UNAUTHORIZED, Status.MAINTENANCE]
    rows, t = [], YEAR_START
    mean_gap_s = 86_400 / CHANGES_PER_DAY
    for _ in range(CHANGES_PER_DAY * DAYS):
        t += timedelta(seconds=rng.randint(1, int(2 * mean_gap_s)))
        rows.append(StatusChange(t, rng.choice(statuses)))
    return rows


def per_call_ms(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    """Best of 5 repeats (the machine is shared: the minimum is the cost, the rest is interference)."""
    return min(timeit.repeat(fn, number=rounds, repeat=5)) / rounds * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-db", action="store_true", help="timings only, no storage measurement")
    bench_history_bytes.add_arguments(parser)
    args = parser.parse_args()
    timings()
    if not args.no_db:
        print()
        bench_history_bytes.run_from_args(args)


def timings() -> None:
    rows = year_of_history()
    text_rows = [(r.at, r.status.value) for r in rows]
    print(f"one camera, {len(rows)} status changes over a year")
    print(f"  uptime() over the year, enum rows:          {per_call_ms(lambda: uptime(rows, YEAR_START, YEAR_END, now=NOW), 300):7.3f} ms")
    print(f"  uptime() over the year, string rows (DB):   {per_call_ms(lambda: uptime(text_rows, YEAR_START, YEAR_END, now=NOW), 300):7.3f} ms")
    print(f"  uptime() over one day of it:                {per_call_ms(lambda: uptime(rows, YEAR_START + timedelta(days=100), YEAR_START + timedelta(days=101), now=NOW), 3000):7.3f} ms")
    print(f"  StatusTimeline build (once per history):    {per_call_ms(lambda: StatusTimeline(rows), 30):7.3f} ms")
    timeline = StatusTimeline(rows)
    print(f"  StatusTimeline.uptime over the year:        {per_call_ms(lambda: timeline.uptime(YEAR_START, YEAR_END, now=NOW), 3000):7.3f} ms")
    print(f"  hourly_rollup for one day:                  {per_call_ms(lambda: hourly_rollup(rows, YEAR_START + timedelta(days=100), YEAR_START + timedelta(days=101), now=NOW), 300):7.3f} ms")
    print(f"  hourly_rollup for the year (8,760 buckets): {per_call_ms(lambda: hourly_rollup(rows, YEAR_START, YEAR_END, now=NOW), 5):7.3f} ms")
    reports = [timeline.uptime(YEAR_START, YEAR_END, now=NOW)] * 10_000
    print(f"  aggregate() of 10,000 camera reports:       {per_call_ms(lambda: aggregate(reports), 5):7.3f} ms")


if __name__ == "__main__":
    main()
