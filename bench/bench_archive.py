"""Archive pipeline figures: ONVIF replay pull (Rate-Control: no) from the simulator, muxing,
SHA-256/512 while writing, upload to moto's S3 server over TLS, read-back re-hash, manifest —
end to end through the worker — and the worker's peak RSS while doing it.

    python bench/bench_archive.py [--minutes 10]

Targets (issue 5): ≥ 8× realtime end to end; RSS < 200 MB while archiving (a 2-hour clip).
The simulator runs in a separate process so its encoders do not count towards our RSS; it
encodes footage on the fly (libx264), so on a busy 2-core machine it can be the bottleneck.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

MiB = 1024 * 1024


def run_fleet(queue: Any, stop: Any) -> None:
    from camera_ops.sim.spec import CameraSpec
    from camera_ops.sim.testing import running_fleet

    with running_fleet([CameraSpec("bench", vendor="generic")]) as fleet:
        queue.put((fleet.cameras[0], fleet.camera_clock("bench")))
        stop.wait()


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class RssSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.stopped = 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            self.peak = max(self.peak, rss_bytes())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    from camera_ops.custody.ledger import Actor
    from camera_ops.footage.cases import create_case
    from camera_ops.footage.requests import Window, create_request
    from camera_ops.footage.worker import Worker
    from camera_ops.settings import Settings
    from storage.db import make_engine, session_scope
    from storage.migrate import upgrade
    from storage.models import Role
    from tests.factories import make_commune, make_user
    from tests.footage_fixtures import sim_camera_row
    from tests.s3server import S3Server

    work = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    s3 = S3Server(work)
    s3.start()
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    sim = ctx.Process(target=run_fleet, args=(queue, stop), daemon=True)
    sim.start()
    try:
        info, camera_now = queue.get(timeout=60)
        settings = Settings(data_dir=work / "data", **s3.settings_overrides("bench-evidence"), _env_file=None)
        upgrade(settings.resolved_database_url)
        engine = make_engine(settings.resolved_database_url)
        with session_scope(engine) as session:
            commune = make_commune(session)
            officer = make_user(session, Role.officer, [commune.commune])
            officer.unit = "bench"
            camera = sim_camera_row(session, settings, info, commune.hamlets[0])
            case = create_case(session, Actor(officer.username, "officer"), officer, number="1", title="bench",
                               legal_basis="bench")
            end = camera_now.replace(microsecond=0) - timedelta(seconds=30)
            window = Window(end - timedelta(minutes=args.minutes), end)
            create_request(session, settings, Actor(officer.username, "officer"), officer, case,
                           camera_ids=[camera.id], window=window, purpose="benchmark")
        worker = Worker(engine, settings)
        sampler = RssSampler()
        base = rss_bytes()
        sampler.start()
        t = time.perf_counter()
        outcome = worker.run_once()
        elapsed = time.perf_counter() - t
        sampler.stopped.set()
        sampler.join()
        with session_scope(engine, write=False) as session:
            from storage.models_evidence import Clip

            clip = session.get(Clip, outcome.clip_id) if outcome else None
            size = clip.size_bytes if clip else 0
            status = clip.status.value if clip else "none"
        seconds = args.minutes * 60
        print(f"clip: {args.minutes:g} min of 640x360 H.264 @12 fps, {size / MiB:.1f} MiB, status {status}")
        print(f"end to end (offset, replay pull, mux, hash, S3 upload, read-back re-hash, manifest): "
              f"{elapsed:.1f} s = {seconds / elapsed:.1f}x realtime  (target >= 8x)")
        print(f"worker RSS: before {base / MiB:.0f} MiB, peak while archiving {sampler.peak / MiB:.0f} MiB "
              f"(target < 200 MB)")
    finally:
        stop.set()
        sim.join(30)
        s3.stop()


if __name__ == "__main__":
    main()
