"""Evidence package build time for a long clip (issue 11): what an officer waits for after
"download evidence package" — the checkpoint written at once, the clip's events and their signed
checkpoints, the zip (clip stored, re-hashed while copied), SHA256SUMS and its signature.

    python bench/bench_package.py [--minutes 120] [--mbps 4] [--other-events 20000]

The clip is --minutes of a --mbps stream (default: a 2-hour 1080p H.264 main stream at 4 Mbit/s,
3.6 GB). Its bytes are pseudo-random, not video: building a package never decodes the clip, it
hashes and copies it, so only the size matters. Local clip store and SQLite in a temporary folder.
Floor beside it: reading the clip once with SHA-256 (a package cannot be built faster than that).
Target: a 2-hour clip packaged in well under its own duration (≥ 20× realtime).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from camera_ops.custody.anchor import CheckpointKeeper
from camera_ops.custody.checkpoint import covering
from camera_ops.custody.ledger import SYSTEM, Actor, EventType, append_now, events_for
from camera_ops.custody.package import build_package
from camera_ops.settings import Settings
from storage.clipstore.base import ObjectLock
from storage.clipstore.local import LocalClipStore
from storage.db import make_engine
from storage.migrate import upgrade
from storage.types import utcnow

MiB = 1024 * 1024
CHUNK = 4 * MiB


class _Stream(io.RawIOBase):
    """``size`` pseudo-random bytes, hashed as they are read."""

    def __init__(self, size: int) -> None:
        self.left, self.block = size, os.urandom(CHUNK)
        self.sha256, self.sha512 = hashlib.sha256(), hashlib.sha512()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = (self.block * (n // CHUNK + 1))[:n]
        self.left -= n
        self.sha256.update(data)
        self.sha512.update(data)
        return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--mbps", type=float, default=4.0)
    parser.add_argument("--other-events", type=int, default=20_000, help="other cases' events in the ledger")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        run(folder, args)
    finally:
        for path in folder.rglob("*"):
            path.chmod(0o700 if path.is_dir() else 0o600)
        shutil.rmtree(folder)


def run(folder: Path, args: argparse.Namespace) -> None:
    url = f"sqlite:///{folder / 'db.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(data_dir=folder, database_url=url, _env_file=None)  # type: ignore[call-arg]
    store = LocalClipStore(folder / "clips")
    store.ensure_ready()
    size = int(args.minutes * 60 * args.mbps * 1_000_000 / 8)
    lock = ObjectLock(utcnow() + timedelta(days=1))
    source = _Stream(size)
    store.put("cases/1/clip-1/CAM-1.mp4", source, length=size, content_type="video/mp4", metadata={}, lock=lock)
    sha256, sha512 = source.sha256.hexdigest(), source.sha512.hexdigest()
    manifest = json.dumps({"object": {"key": "cases/1/clip-1/CAM-1.mp4", "sha256": sha256, "sha512": sha512,
                                      "size_bytes": size}}).encode()
    store.put("cases/1/clip-1/manifest.json", io.BytesIO(manifest), length=len(manifest),
              content_type="application/json", metadata={}, lock=lock)
    actor = Actor("bench", "officer", "127.0.0.1")
    for kind in (EventType.requested, EventType.acquired, EventType.verified, EventType.archived):
        append_now(engine, kind, SYSTEM, case_id=1, clip_id=1, details={"sha256": sha256, "size_bytes": size})
    keeper = CheckpointKeeper(engine, settings, store=store, owner="bench")
    for i in range(args.other_events):  # other cases, between the clip's events and its export
        append_now(engine, EventType.viewed, actor, case_id=2, clip_id=2, purpose="xem lại", details={"i": i})
        if i % 5_000 == 0:
            keeper.write_now()  # the checkpoints a 5-minute writer would have left

    floor_s = _read_time(store, "cases/1/clip-1/CAM-1.mp4")
    t0 = time.perf_counter()
    append_now(engine, EventType.package_exported, actor, case_id=1, clip_id=1, purpose="chuyển Viện kiểm sát")
    keeper.write_now()
    t1 = time.perf_counter()
    with Session(engine) as session:
        events = events_for(session, clip_id=1)
        checkpoints = covering(store, [e.seq for e in events])
    t2 = time.perf_counter()
    clip = SimpleNamespace(id=1, object_key="cases/1/clip-1/CAM-1.mp4", version_id=None, sha256=sha256,
                           manifest_key="cases/1/clip-1/manifest.json", manifest_version_id=None,
                           manifest_sha256=hashlib.sha256(manifest).hexdigest(),
                           camera=SimpleNamespace(code="CAM-1", mac="00:11:22:33:44:55"),
                           start_at=utcnow(), end_at=utcnow())
    case = SimpleNamespace(number="1/2026", title="bench", unit="CA")
    path = build_package(store, case, clip, events, checkpoints, keyring=keeper.keyring,  # type: ignore[arg-type]
                         timezone=settings.timezone, made_at=utcnow(), directory=folder)
    t3 = time.perf_counter()
    total = t3 - t0
    seconds = args.minutes * 60
    print(f"package of a {args.minutes:g}-minute clip at {args.mbps:g} Mbit/s ({size / MiB:,.0f} MiB), "
          f"{len(events)} clip events, {len(checkpoints)} signed checkpoint(s), {args.other_events} other events:")
    print(f"  checkpoint at once {t1 - t0:.2f} s, events + checkpoints {t2 - t1:.2f} s, zip + hashes + signature "
          f"{t3 - t2:.1f} s; total {total:.1f} s = {seconds / total:,.0f}x realtime  (target >= 20x)")
    print(f"  floor: reading the clip once with SHA-256: {floor_s:.1f} s ({size / MiB / floor_s:,.0f} MiB/s); "
          f"package {path.stat().st_size / MiB:,.0f} MiB")
    path.unlink()
    engine.dispose()


def _read_time(store: LocalClipStore, key: str) -> float:
    t = time.perf_counter()
    digest = hashlib.sha256()
    for chunk in store.read(key):
        digest.update(chunk)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
