"""Picture health cost per snapshot, in CPU milliseconds (median / p90 of one call each round).

Run: python bench/bench_picture.py
Target (issue 4): <= 3 ms CPU per snapshot for picture health (decode + all metrics + verdicts).

Columns, OpenCV on one thread as the monitor runs it (parallelism is across cameras):
  decode   the gray decode assess_picture does (DCT-reduced: 1/8 for 1080p and 4K)
  checks   everything after the decode: working image, metrics, verdicts, new state
  health   assess_picture(jpeg): decode + checks, the issue's figure
  monitor  judge_snapshot(jpeg): one colour decode shared by the checks and the 320 px UI thumbnail
  N thr    assess_picture with OpenCV's default pool (a thread per CPU): process CPU per call (mean)
Decoding is mostly Huffman decoding, which no reduction avoids: its cost follows the JPEG's size
(us/KB column), so a large high-quality 1080p snapshot cannot reach the target by decode choices.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from camera_ops.health import synthetic as syn
from camera_ops.health.picture import PictureState, assess_picture, decode_picture
from camera_ops.monitor.pictures import judge_snapshot

ROUNDS = 300  # calls timed per figure; one call each, so p90 shows the spread
WARMUP = 10  # untimed calls first (allocator, caches)
THUMBNAIL_WIDTH = 320  # the monitor's default (settings.thumbnail_width_px)
TARGET_MS = 3.0
NOISE_SIGMA = 3.0  # grey levels of sensor noise: makes JPEGs as large as real cameras' snapshots


def snapshots() -> dict[str, bytes]:
    full = syn.add_noise(syn.scene(1, syn.FULL_HD), NOISE_SIGMA)
    return {
        "360p q80 noisy": syn.to_jpeg(syn.add_noise(syn.scene(1, syn.SD_360P), NOISE_SIGMA), 80),
        "720p q80 noisy": syn.to_jpeg(syn.add_noise(syn.scene(1, syn.HD_720P), NOISE_SIGMA), 80),
        "1080p q80 clean": syn.to_jpeg(syn.scene(1, syn.FULL_HD), 80),
        "1080p q80 noisy": syn.to_jpeg(full, 80),
        "1080p q80 colour": syn.to_jpeg(syn.in_colour(full, 1), 80),
        "1080p q90 noisy": syn.to_jpeg(full, 90),
        "1080p q90 colour": syn.to_jpeg(syn.in_colour(full, 1), 90),
        "4K q80 colour": syn.to_jpeg(syn.in_colour(syn.add_noise(syn.scene(1, syn.UHD_4K), NOISE_SIGMA), 1), 80),
    }


def learned_state(jpeg: bytes) -> PictureState:
    state = None
    for _ in range(6):
        _, state = assess_picture(jpeg, state)
    assert state is not None
    return replace(state, prev_hash="0" * 16)  # another previous picture: the frozen check runs in full


def cpu_ms(call: Callable[[], object]) -> tuple[float, float]:
    """(median, p90) CPU ms of one call, this thread only (OpenCV must be on one thread)."""
    for _ in range(WARMUP):
        call()
    samples = []
    for _ in range(ROUNDS):
        start = time.thread_time()
        call()
        samples.append((time.thread_time() - start) * 1e3)
    return statistics.median(samples), statistics.quantiles(samples, n=10)[-1]


def process_ms(call: Callable[[], object]) -> float:
    """Mean CPU ms of one call over all threads (OpenCV's pool included)."""
    for _ in range(WARMUP):
        call()
    start = time.process_time()
    for _ in range(ROUNDS):
        call()
    return (time.process_time() - start) / ROUNDS * 1e3


def row(name: str, jpeg: bytes, default_threads: int) -> str:
    state = learned_state(jpeg)
    decoded = decode_picture(jpeg)
    decode = cpu_ms(lambda: decode_picture(jpeg))
    checks = cpu_ms(lambda: assess_picture(decoded, state))
    health = cpu_ms(lambda: assess_picture(jpeg, state))
    monitor = cpu_ms(lambda: judge_snapshot(jpeg, state, retake=False, thumbnail_width=THUMBNAIL_WIDTH))
    cv2.setNumThreads(default_threads)
    threaded = process_ms(lambda: assess_picture(jpeg, state))
    cv2.setNumThreads(1)
    verdict = "ok" if health[0] <= TARGET_MS else "OVER"
    kb = len(jpeg) / 1024
    return (f"{name:17s} {kb:5.0f} {decode[0] * 1e3 / kb:5.1f}  {_fmt(decode)}  {_fmt(checks)}  {_fmt(health)} {verdict:4s}"
            f"  {_fmt(monitor)}  {threaded:5.2f}")


def _fmt(figure: tuple[float, float]) -> str:
    return f"{figure[0]:5.2f}/{figure[1]:5.2f}"


def main() -> None:
    default_threads = cv2.getNumberOfCPUs()  # OpenCV's default pool (importing the monitor set 1)
    cv2.setNumThreads(1)  # as the monitor runs it (camera_ops.monitor.pictures.OPENCV_THREADS)
    print(f"picture health CPU ms, median/p90 of {ROUNDS} calls; OpenCV {cv2.__version__}, 1 thread; target {TARGET_MS} ms")
    print(f"{'snapshot':17s} {'KB':>5s} {'us/KB':>5s}  {'decode':>11s}  {'checks':>11s}  {'health':>11s}      "
          f"{'monitor':>11s}  {f'{default_threads} thr':>5s}")
    for name, jpeg in snapshots().items():
        print(row(name, jpeg, default_threads), flush=True)


if __name__ == "__main__":
    main()
