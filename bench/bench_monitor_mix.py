"""CPU per camera-minute of the monitor for a mixed field fleet, beside the floor of the same run.

The fleet (default 10,000 cameras at a 60 s cycle): ONVIF cameras (Hikvision, Dahua and generic
personalities), RTSP-only cameras (RTSP OPTIONS + DESCRIBE only, no ONVIF probe) and channels of
4-channel recorders (each channel probed as a camera: the recorder's ONVIF time + the channel's
RTSP). The simulator runs in a child process; the monitor runs here (uvloop) against SQLite.

Measured after one warm-up cycle, over ``--cycles`` cycles, pictures off (the per-cycle probe):
CPU seconds of this process per camera-minute, overall and with the simulator's own CPU beside it.
The floor: the same network exchanges for every camera (by kind: SOAP time + RTSP OPTIONS +
DESCRIBE, or RTSP only) with no checks, no parsing, no bookkeeping — what the sockets and the event
loop alone cost — and the bare liveness exchange (one RTSP OPTIONS, what the monitor sends most
cycles since the lean liveness probe), measured right after, in this run::

    python bench/bench_monitor_mix.py                                  # 10,000, 60 s cycle, 2 cycles
    python bench/bench_monitor_mix.py --cameras 2000 --cycle 20 --cycles 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camera_ops.monitor.engine import Monitor  # noqa: E402
from camera_ops.registry.areas import create_area  # noqa: E402
from camera_ops.security import encrypt_secret  # noqa: E402
from camera_ops.settings import Settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import AreaKind, Camera, CameraKind, CameraStatus, Lifecycle, RegistrationState  # noqa: E402
from storage.types import utcnow  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SIM_START_TIMEOUT_S = 900.0
HAMLET_SIZE = 4
RECORDER_CHANNELS = 4
ONVIF_VENDORS = ("hikvision", "dahua", "generic")
FLOOR_CONCURRENCY = 500  # bare exchanges in flight during the floor pass
FLOOR_TIMEOUT_S = 4.0


def proc_cpu_s(pid: int | str = "self") -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def mix(cameras: int, rtsp_share: float, recorder_share: float) -> list[dict]:
    """Fleet entries: recorders (4 channels each), RTSP-only cameras, then ONVIF cameras."""
    recorders = round(cameras * recorder_share / RECORDER_CHANNELS)
    rtsp_only = round(cameras * rtsp_share)
    onvif = max(0, cameras - recorders * RECORDER_CHANNELS - rtsp_only)
    entries = [{"name": f"r{i:05d}", "vendor": "nvr", "channels": RECORDER_CHANNELS} for i in range(recorders)]
    entries += [{"name": f"p{i:05d}", "vendor": "rtsp_only"} for i in range(rtsp_only)]
    entries += [{"name": f"o{i:05d}", "vendor": ONVIF_VENDORS[i % len(ONVIF_VENDORS)]} for i in range(onvif)]
    return entries


def start_simulator(entries: list[dict], workdir: Path) -> tuple[subprocess.Popen[bytes], list[dict]]:
    (workdir / "fleet.json").write_text(json.dumps({"cameras": entries}))
    out = workdir / "cameras.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "camera_ops.sim.cli", "--fleet", str(workdir / "fleet.json"), "--out", str(out),
         "--control-port", "0", "--base-address", "127.44.0.1", "--http-port", "18080", "--rtsp-port", "18554",
         "--shared-port"], stdout=subprocess.DEVNULL, stderr=open(workdir / "sim.log", "wb"))
    deadline = time.monotonic() + SIM_START_TIMEOUT_S
    while not out.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"simulator did not start; see {workdir / 'sim.log'}")
        time.sleep(0.5)
    time.sleep(0.5)
    return process, json.loads(out.read_text())["cameras"]


def channel_url(url: str, channel: int) -> str:
    return re.sub(r"/(Channels|channels)/10([12])", lambda m: f"/{m.group(1)}/{channel}0{m.group(2)}", url)


def camera_rows(info: dict, settings: Settings, area_id: int, now: object) -> list[Camera]:
    """Registry rows as the registration paths leave them: ONVIF, RTSP-only, or one per channel."""
    common = dict(area_id=area_id, host=info["host"], onvif_port=info["onvif_port"], username=info["username"],
                  password_encrypted=encrypt_secret(info["password"], settings), serial=info["serial"],
                  manufacturer=info["manufacturer"], device_model=info["model"],
                  registration=RegistrationState.registered, lifecycle=Lifecycle.active,
                  status=CameraStatus.unknown, status_since=now, status_reasons=[])
    if info["vendor"] == "nvr":
        return [Camera(code=f"B-{info['name']}-K{ch}", name=f"{info['name']} k{ch}", kind=CameraKind.recorder_channel,
                       channel=ch, main_stream_uri=channel_url(info["rtsp_main_url"], ch),
                       sub_stream_uri=channel_url(info["rtsp_sub_url"], ch), **common)
                for ch in range(1, RECORDER_CHANNELS + 1)]
    kind = CameraKind.onvif if info["onvif"] else CameraKind.rtsp
    return [Camera(code=f"B-{info['name']}", name=info["name"], kind=kind, main_stream_uri=info["rtsp_main_url"],
                   sub_stream_uri=info["rtsp_sub_url"], **common)]


def register(url: str, settings: Settings, infos: list[dict]) -> dict[str, int]:
    upgrade(url)
    engine = make_engine(url)
    counts: dict[str, int] = {}
    now = utcnow()
    with session_factory(engine)() as session:
        province = create_area(session, kind=AreaKind.province, code="MP", name="Tỉnh bench", parent_id=None)
        commune = create_area(session, kind=AreaKind.commune, code="MC", name="Xã bench", parent_id=province.id)
        rows = [row for info in infos for row in camera_rows(info, settings, 0, now)]
        hamlets = [create_area(session, kind=AreaKind.hamlet, code=f"MH{i}", name=f"Thôn {i}", parent_id=commune.id)
                   for i in range((len(rows) + HAMLET_SIZE - 1) // HAMLET_SIZE)]
        for i, row in enumerate(rows):
            row.area_id = hamlets[i // HAMLET_SIZE].id
            counts[row.kind.value] = counts.get(row.kind.value, 0) + 1
        session.add_all(rows)
        session.commit()
    engine.dispose()
    return counts


async def measure_monitor(settings: Settings, cycles: int, sim_pid: int) -> dict[str, float]:
    monitor = Monitor(settings, snapshots=False)
    runner = asyncio.create_task(monitor.run())
    await monitor.wait_for(monitor.ready.is_set, timeout_s=600)
    cycle = settings.monitor_cycle_s
    await asyncio.sleep(cycle * 1.1)  # warm-up: every camera probed once, details written once
    p0, c0, s0, t0 = monitor.stats.probes, time.process_time(), proc_cpu_s(sim_pid), time.monotonic()
    await asyncio.sleep(cycle * cycles)
    p1, c1, s1, t1 = monitor.stats.probes, time.process_time(), proc_cpu_s(sim_pid), time.monotonic()
    statuses: dict[str, int] = {}
    for runtime in monitor.cameras.values():
        statuses[runtime.state.status.value] = statuses.get(runtime.state.status.value, 0) + 1
    cameras = len(monitor.cameras)
    monitor.stop()
    await runner
    minutes = (t1 - t0) / 60.0
    return {"cameras": cameras, "probes": p1 - p0, "seconds": t1 - t0,
            "probes_per_camera_minute": (p1 - p0) / (cameras * minutes),
            "cpu_ms_per_camera_minute": 1e3 * (c1 - c0) / (cameras * minutes),
            "cpu_us_per_probe": 1e6 * (c1 - c0) / max(1, p1 - p0), "monitor_cpu_share": (c1 - c0) / (t1 - t0),
            "sim_cpu_ms_per_camera_minute": 1e3 * (s1 - s0) / (cameras * minutes), "rss_mb": rss_mb(),
            **{f"status[{k}]": float(v) for k, v in sorted(statuses.items())}}


async def floor(infos: list[dict]) -> dict[str, float]:
    """The same exchanges per camera and kind, bare: CPU µs per camera (= per camera-minute at 60 s)."""
    from camera_ops.onvif.rawsoap import plain_request
    from camera_ops.rtsp.quickprobe import RtspProbeLink, _Answers, _request, quick_rtsp_probe

    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(FLOOR_CONCURRENCY)

    async def bare(host: str, port: int, requests: list[bytes]) -> None:
        transport, conn = await loop.create_connection(_Answers, host, port)
        try:
            for request in requests:
                waiter = loop.create_future()
                conn.ask(request, waiter)
                await asyncio.wait_for(waiter, FLOOR_TIMEOUT_S)
        finally:
            transport.close()

    targets: list[tuple[str, dict, RtspProbeLink]] = []
    for info in infos:
        channels = range(1, RECORDER_CHANNELS + 1) if info["vendor"] == "nvr" else [1]
        for ch in channels:
            url = channel_url(info["rtsp_main_url"], ch) if info["vendor"] == "nvr" else info["rtsp_main_url"]
            kind = "recorder_channel" if info["vendor"] == "nvr" else ("onvif" if info["onvif"] else "rtsp")
            targets.append((kind, info, RtspProbeLink.for_url(url, info["username"], info["password"])))

    async def learn(link: RtspProbeLink) -> None:
        async with slots:
            await quick_rtsp_probe(link, timeout_s=FLOOR_TIMEOUT_S)  # the digest challenge, outside the count

    await asyncio.gather(*(learn(link) for _, _, link in targets), return_exceptions=True)

    async def one(kind: str, info: dict, link: RtspProbeLink) -> None:
        async with slots:
            if kind != "rtsp":
                await bare(info["host"], info["onvif_port"],
                           [plain_request(info["host"], info["onvif_port"], "/onvif/device_service")])
            await bare(link.host, link.port, [_request(link, "OPTIONS", 1),
                                              _request(link, "DESCRIBE", 2, "Accept: application/sdp\r\n")])

    figures: dict[str, float] = {}
    for kind in ("onvif", "rtsp", "recorder_channel"):
        chosen = [t for t in targets if t[0] == kind]
        if not chosen:
            continue
        c0 = time.process_time()
        results = await asyncio.gather(*(one(*t) for t in chosen), return_exceptions=True)
        failed = sum(isinstance(r, BaseException) for r in results)
        figures[f"floor_cpu_us_per_probe[{kind}]"] = 1e6 * (time.process_time() - c0) / len(chosen)
        figures[f"floor_failed[{kind}]"] = float(failed)
    async def options_only(_: str, __: dict, link: RtspProbeLink) -> None:
        async with slots:
            await bare(link.host, link.port, [_request(link, "OPTIONS", 1)])

    c0 = time.process_time()
    await asyncio.gather(*(options_only(*t) for t in targets), return_exceptions=True)
    figures["floor_liveness_cpu_us_per_probe"] = 1e6 * (time.process_time() - c0) / len(targets)
    total = len(targets)
    weighted = sum(figures[f"floor_cpu_us_per_probe[{k}]"] * sum(1 for t in targets if t[0] == k)
                   for k in ("onvif", "rtsp", "recorder_channel") if f"floor_cpu_us_per_probe[{k}]" in figures)
    figures["floor_cpu_us_per_probe"] = weighted / total
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--rtsp-share", type=float, default=0.25, help="share of RTSP-only cameras")
    parser.add_argument("--recorder-share", type=float, default=0.15, help="share of cameras that are recorder channels")
    parser.add_argument("--cycle", type=float, default=60.0)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=2000)
    args = parser.parse_args()
    entries = mix(args.cameras, args.rtsp_share, args.recorder_share)
    with tempfile.TemporaryDirectory(prefix="bench-mix-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        settings = Settings(database_url=url, data_dir=workdir, monitor_cycle_s=args.cycle,
                            monitor_call_timeout_s=args.timeout, monitor_concurrency=args.concurrency,
                            monitor_reload_s=max(30.0, args.cycle), _env_file=None)  # type: ignore[call-arg]
        started = time.monotonic()
        sim, infos = start_simulator(entries, workdir)
        print(f"simulator: {len(infos)} devices up in {time.monotonic() - started:.0f} s (pid {sim.pid})")
        try:
            counts = register(url, settings, infos)
            print("fleet: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
            import uvloop

            figures = uvloop.run(measure_monitor(settings, args.cycles, sim.pid))
            figures.update(uvloop.run(floor(infos)))
        finally:
            sim.send_signal(signal.SIGINT)
            try:
                sim.wait(60)
            except subprocess.TimeoutExpired:
                sim.kill()
    print(f"\nmixed fleet, cycle {args.cycle:g} s, {args.cycles} cycles measured after one warm-up, pictures off")
    for key, value in figures.items():
        print(f"  {key:42s} {value:12.3f}")
    floor_ms = figures["floor_cpu_us_per_probe"] * figures["probes_per_camera_minute"] / 1e3
    print(f"  {'floor_cpu_ms_per_camera_minute':42s} {floor_ms:12.3f}")
    print(f"  {'monitor / floor':42s} {figures['cpu_ms_per_camera_minute'] / max(1e-9, floor_ms):12.2f}")


if __name__ == "__main__":
    main()
