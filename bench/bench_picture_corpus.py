"""Picture-health detection and false-alarm rates on a corpus of real photographs.

Run: python bench/bench_picture_corpus.py [--seeds 8]

Every camera view is a crop of a real photo (tests/data/real_scenes, CC0 / public domain) made "live"
per snapshot (wind shake, light, sensor noise, JPEG). Each trial: the camera learns its scene from
routine snapshots 15 min apart, then one snapshot shows the condition and a confirmation snapshot
60 s later shows it again (a fault, night, rain) or not (a transient). See tests/picture_corpus.py.

Columns per condition (trials = scenes x seeds):
  shown      share of trials whose first snapshot showed any problem (the verdict WITHOUT confirmation)
  detected   faults: share of trials where the expected problem was confirmed (changed the status)
  false      share of trials where a problem other than the expected one was confirmed
Targets: every fault >= 90 % detected; every harmless condition 0 % false alarms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import picture_corpus as pc  # noqa: E402

TARGET_DETECTION = 0.90
TARGET_FALSE = 0.0


def _row(name: str, trials: list[pc.Trial], expected: str | None) -> tuple[str, float, float | None, float]:
    n = len(trials)
    shown = sum(bool(t.shown) for t in trials) / n
    if expected is None:
        return name, shown, None, sum(bool(t.confirmed) for t in trials) / n
    detected = sum(pc.matches(expected, t.confirmed) for t in trials) / n
    wanted = set(expected.split("|"))
    false = sum(bool(set(t.confirmed) - wanted) for t in trials) / n
    return name, shown, detected, false


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8, help="trials per scene and condition")
    args = parser.parse_args()
    seeds = range(args.seeds)
    started = time.process_time()
    rows = []
    for cond in pc.FAULTS:
        rows.append(_row(cond.name, [pc.run_trial(s, cond, seed) for s in pc.SCENES for seed in seeds], cond.expected))
    for clock in (False, True):
        name = "frozen" + (" (ticking clock)" if clock else "")
        rows.append(_row(name, [pc.run_frozen_trial(s, seed, clock=clock) for s in pc.SCENES for seed in seeds],
                         "frozen"))
    for cond in pc.HARMLESS:
        rows.append(_row(cond.name, [pc.run_trial(s, cond, seed) for s in pc.SCENES for seed in seeds], None))
    for name, first in (("first snapshot: passer-by", pc.passer_by), ("first snapshot: truck", pc.truck)):
        trials = [pc.run_first_picture_transient(s, seed, first) for s in pc.SCENES for seed in seeds]
        rows.append(_row(name, trials, None))
    n = len(pc.SCENES) * args.seeds
    print(f"picture health on {len(pc.SCENES)} real scenes x {args.seeds} seeds = {n} trials per condition")
    print(f"{'condition':36s} {'shown':>7s} {'detected':>9s} {'false':>7s}  verdict")
    failed = 0
    for name, shown, detected, false in rows:
        ok = (detected is None or detected >= TARGET_DETECTION) and false <= TARGET_FALSE
        failed += not ok
        det = "-" if detected is None else f"{detected:8.0%}"
        print(f"{name:36s} {shown:7.0%} {det:>9s} {false:7.0%}  {'ok' if ok else 'MISS'}")
    print(f"{failed} conditions off target; {time.process_time() - started:.1f} s CPU")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
