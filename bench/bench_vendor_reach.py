"""CPU ms per vendor recording search (Hikvision ISAPI, Dahua CGI), client side only, as the daily
reach job runs it (one ``asyncio.run`` per camera), beside the floor: one digest-authenticated GET
of the same camera's storage status in the same way (same shared TLS context).

The cameras are the simulator in a separate process (``camera-ops sim --fleet``), so the figures
are this process's CPU (``getrusage(RUSAGE_SELF)``): user time (our Python: httpx, digest, XML /
key=value parsing, asyncio) and system time (loopback TCP, which overstates a real network).
Figures, not a test:

    python bench/bench_vendor_reach.py [--cameras 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository

import httpx  # noqa: E402

from camera_ops.footage.vendor_reach import _tls, vendor_recordings  # noqa: E402
from camera_ops.registry.playback_clock import default_clock  # noqa: E402
from camera_ops.sim.spec import SIM_LOCAL_TZ  # noqa: E402
from camera_ops.sim.testing import free_bench_base_address  # noqa: E402
from storage.models import PlaybackClock, PlaybackStyle  # noqa: E402

TIMEOUT_S = 5.0
SIM_START_TIMEOUT_S = 60.0
STORAGE = {"hikvision": "/ISAPI/ContentMgmt/Storage", "dahua": "/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo"}


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def simulator(count: int, base_address: str, hours: float) -> Iterator[list[dict[str, object]]]:
    with tempfile.TemporaryDirectory() as tmp:
        fleet, out = Path(tmp) / "fleet.json", Path(tmp) / "out.json"
        cameras = [{"name": f"vh{i:03d}", "vendor": "hikvision", "recording_hours": hours} for i in range(count)]
        cameras += [{"name": f"vd{i:03d}", "vendor": "dahua", "profile_g": False, "recording_hours": hours}
                    for i in range(count)]
        fleet.write_text(json.dumps({"cameras": cameras}))
        command = [sys.executable, "-m", "camera_ops.cli", "sim", "--fleet", str(fleet), "--out", str(out),
                   "--base-address", base_address, "--control-port", "0", "--discovery-port", "0",
                   "--http-port", str(_free_port(base_address)), "--rtsp-port", str(_free_port(base_address))]
        sim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + SIM_START_TIMEOUT_S
            while not out.exists() or not out.stat().st_size:
                if time.monotonic() > deadline or sim.poll() is not None:
                    raise RuntimeError("camera simulator did not start")
                time.sleep(0.2)
            time.sleep(0.5)
            yield json.loads(out.read_text())["cameras"]
        finally:
            sim.terminate()
            sim.wait(10)


async def floor(camera: dict[str, object]) -> None:
    async with httpx.AsyncClient(base_url=f"http://{camera['host']}:{camera['onvif_port']}", trust_env=False,
                                 auth=httpx.DigestAuth(str(camera["username"]), str(camera["password"])),
                                 timeout=TIMEOUT_S, verify=_tls()) as client:
        (await client.get(STORAGE[str(camera["vendor"])])).raise_for_status()


async def search(camera: dict[str, object]) -> None:
    # the clock a registration would pick for the style: Dahua local time (as the simulated firmware), else UTC
    local = default_clock(PlaybackStyle(str(camera["vendor"]))) is PlaybackClock.local
    zone = ZoneInfo(SIM_LOCAL_TZ) if local else timezone.utc
    found = await vendor_recordings(str(camera["vendor"]), f"http://{camera['host']}:{camera['onvif_port']}",  # type: ignore[arg-type]
                                    str(camera["username"]), str(camera["password"]), channel=1, zone=zone,
                                    clock_offset_s=0.0, timeout_s=TIMEOUT_S)
    if not found.known:
        raise RuntimeError(f"{camera['name']}: {found.problem} {found.detail}")


def measure(cameras: list[dict[str, object]], rounds: int, probe) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(median user ms, median sys ms, median wall ms) per camera over the rounds."""
    for camera in cameras[:2]:
        asyncio.run(probe(camera))  # warm-up: imports, caches
    users, syss, walls = [], [], []
    for _ in range(rounds):
        u0, s0 = cpu()
        w0 = time.perf_counter()
        for camera in cameras:
            asyncio.run(probe(camera))
        u1, s1 = cpu()
        walls.append((time.perf_counter() - w0) * 1000 / len(cameras))
        users.append((u1 - u0) * 1000 / len(cameras))
        syss.append((s1 - s0) * 1000 / len(cameras))
    return statistics.median(users), statistics.median(syss), statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=20, help="cameras per vendor")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=24.0, help="footage on each simulated card")
    parser.add_argument("--base-address", default=None)
    args = parser.parse_args()
    with simulator(args.cameras, args.base_address or free_bench_base_address(), args.hours) as cameras:
        print(f"{args.cameras} cameras per vendor, {args.rounds} rounds, {args.hours:g} h of footage each; "
              "simulator in a separate process; per camera, median of rounds")
        print(f"{'vendor':<10} {'what':<28} {'user ms':>8} {'sys ms':>7} {'wall ms':>8}")
        for vendor in ("hikvision", "dahua"):
            group = [c for c in cameras if c["vendor"] == vendor]
            for label, probe in (("floor: one storage GET", floor), ("recording search (reach)", search)):
                user, sys_, wall = measure(group, args.rounds, probe)
                print(f"{vendor:<10} {label:<28} {user:8.2f} {sys_:7.2f} {wall:8.2f}")


if __name__ == "__main__":
    main()
