"""The probe engine at scale: N simulated cameras (default 10,000, 10% black holes) at a cycle.

The simulators run in child processes (``python -m camera_ops.sim.cli``, ``--per-sim`` cameras each:
a listening socket per camera plus the monitor's kept connections must fit one process's 20,000
descriptors) on consecutive free loopback blocks (``--base-address`` to choose the first); the
monitor runs here (uvloop), against a fresh SQLite file (or ``--database-url``). A first monitor
runs one warm-up cycle (every camera gets its first, full check and its state saved) and stops; a
second one starts from the saved states — as after any restart, full checks (clock, credentials,
stream; every ``--full-check`` s) are then spread over their interval — and runs
``--settle-cycles`` (default 1: its first cycle opens every kept liveness connection), so the
measured cycles see the steady mix: one liveness exchange per camera per cycle, on the connection
kept from the last one, a full check for 1/15 of them. It measures over ``--cycles`` cycles: CPU µs per
camera-minute and per probe of this process (all its threads: the loop, the database writer),
the simulator's CPU (separately, from /proc), RSS, lateness of regular probes.

**The floor, in the same run**: the same exchanges with no monitor around them (bare
``asyncio.Protocol``, no parsing, no deadlines, no decisions), timed on the same cameras: an RTSP
OPTIONS on a fresh connection, one on a connection kept open between rounds (as the monitor's
liveness check sends it, ``monitor_rtsp_keepalive``), and a full check's SOAP + OPTIONS + DESCRIBE
on fresh connections. Floor per camera-minute = OPTIONS + full / (full-check interval in cycles),
scaled to 60 s cycles, for each kind of OPTIONS.
Pictures are off; ``--snapshots`` turns them on. Figures, not a test::

    python bench/bench_monitor.py                      # 10,000 cameras, 60 s cycle, 3 cycles
    python bench/bench_monitor.py --cameras 2000 --cycle 10 --cycles 3
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camera_ops.sim.testing import free_bench_base_address  # noqa: E402
from camera_ops.monitor.engine import Monitor  # noqa: E402
from camera_ops.monitor.testing import register_sim_cameras  # noqa: E402
from camera_ops.registry.areas import create_area  # noqa: E402
from camera_ops.settings import Settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import AreaKind  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
SIM_START_TIMEOUT_S = 600.0
HAMLET_SIZE = 4


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds per thread of this process, by thread name (the loop, the database writer...)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    totals: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name), "other")
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        key = name.split(" ")[0].rstrip("0123456789_")  # "monitor-db <node>_0" -> "monitor-db"
        totals[key] = totals.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return totals


def proc_status_kb(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start_simulators(
    count: int, holes_every: int, workdir: Path, base_address: str, per_sim: int,
) -> tuple[list[subprocess.Popen[bytes]], list[dict]]:
    """``count`` cameras in simulators of at most ``per_sim`` each, on consecutive loopback blocks:
    a simulator holds a listening socket per camera plus the monitor's connections (its kept
    liveness connections too), and one process has 20,000 descriptors here."""
    from camera_ops.sim.fleet import allocate_addresses

    processes: list[subprocess.Popen[bytes]] = []
    outs: list[Path] = []
    base = base_address
    for n, start in enumerate(range(0, count, per_sim)):
        size = min(per_sim, count - start)
        fleet = {"defaults": {"vendor": "generic"}, "cameras": [
            {"name": f"b{i:05d}", "group": f"h{i // HAMLET_SIZE:04d}",
             **({"faults": {"black_hole": True}} if holes_every and i % holes_every == 0 else {})}
            for i in range(start, start + size)]}
        (workdir / f"fleet{n}.json").write_text(json.dumps(fleet))
        out = workdir / f"cameras{n}.json"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "camera_ops.sim.cli", "--fleet", str(workdir / f"fleet{n}.json"), "--out", str(out),
             "--control-port", "0", "--base-address", base, "--http-port", str(free_port(base)),
             "--shared-port", "--discovery-port", "0"], stdout=subprocess.DEVNULL,
            stderr=open(workdir / f"sim{n}.log", "wb")))
        outs.append(out)
        last = ipaddress.IPv4Address(allocate_addresses(base, size)[-1])
        base = str(ipaddress.IPv4Address((int(last) | 0xFF) + 2))  # the next /24 block, .1
    deadline = time.monotonic() + SIM_START_TIMEOUT_S
    while not all(out.exists() for out in outs):
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            raise SystemExit(f"a simulator did not start; see {workdir}/sim*.log")
        time.sleep(0.5)
    time.sleep(0.5)  # each file is written in one go, but let the writers finish
    return processes, [c for out in outs for c in json.loads(out.read_text())["cameras"]]


def register(url: str, settings: Settings, cameras: list[dict]) -> None:
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        province = create_area(session, kind=AreaKind.province, code="BP", name="Tỉnh bench", parent_id=None)
        commune = create_area(session, kind=AreaKind.commune, code="BC", name="Xã bench", parent_id=province.id)
        hamlets = [create_area(session, kind=AreaKind.hamlet, code=f"BH{i}", name=f"Thôn {i}", parent_id=commune.id)
                   for i in range((len(cameras) + HAMLET_SIZE - 1) // HAMLET_SIZE)]
        register_sim_cameras(session, settings, [SimpleNamespace(**c) for c in cameras], hamlets,
                             per_hamlet=HAMLET_SIZE, code_prefix="B")
        session.commit()
    engine.dispose()


async def warm_up(settings: Settings, snapshots: bool) -> None:
    """One cycle: every camera's first (full) check, its state saved; then stop like a restart."""
    monitor = Monitor(settings, snapshots=snapshots)
    runner = asyncio.create_task(monitor.run())
    await monitor.wait_for(monitor.ready.is_set, timeout_s=300)
    await asyncio.sleep(settings.monitor_cycle_s * 1.1)
    monitor.stop()
    await runner


async def measure(
    settings: Settings, cycles: int, sim_pids: list[int], snapshots: bool, settle_cycles: float = 1.0,
) -> dict[str, float]:
    monitor = Monitor(settings, snapshots=snapshots)
    runner = asyncio.create_task(monitor.run())
    await monitor.wait_for(monitor.ready.is_set, timeout_s=300)
    cycle = settings.monitor_cycle_s
    # let start-up work pass (rankings, first reads; with --settle-cycles 1 also the first cycle after
    # a restart, which opens every camera's kept liveness connection): the steady state is measured
    await asyncio.sleep(max(min(cycle * 0.2, 10.0), cycle * settle_cycles))
    monitor.stats.lateness_s.clear()
    gc_time = [0.0, 0.0, 0]  # seconds in collections, start of the current one, collections of generation 2

    def gc_watch(phase: str, info: dict) -> None:
        if phase == "start":
            gc_time[1] = time.process_time()
        else:
            gc_time[0] += time.process_time() - gc_time[1]
            gc_time[2] += info["generation"] == 2

    gc.callbacks.append(gc_watch)
    f0, l0 = monitor.stats.full_checks, monitor.stats.liveness_checks
    p0, c0, s0, t0 = monitor.stats.probes, time.process_time(), sum(map(proc_cpu_s, sim_pids)), time.monotonic()
    u0, k0 = os.times()[:2]
    threads0 = thread_cpu_s()
    skipped0 = monitor.stats.skipped_busy
    await asyncio.sleep(cycle * cycles)
    p1, c1, s1, t1 = monitor.stats.probes, time.process_time(), sum(map(proc_cpu_s, sim_pids)), time.monotonic()
    u1, k1 = os.times()[:2]
    threads1 = thread_cpu_s()
    gc.callbacks.remove(gc_watch)
    minutes = (t1 - t0) / 60.0
    camera_minutes = len(monitor.cameras) * minutes * (60.0 / cycle)  # at a 60 s cycle
    figures = {
        "cpu_us_per_camera_minute": 1e6 * (c1 - c0) / camera_minutes,
        "full_checks": monitor.stats.full_checks - f0, "liveness_checks": monitor.stats.liveness_checks - l0,
        "probes": p1 - p0, "seconds": t1 - t0, "probes_per_s": (p1 - p0) / (t1 - t0),
        "cpu_us_per_probe": 1e6 * (c1 - c0) / max(1, p1 - p0),
        "user_us_per_probe": 1e6 * (u1 - u0) / max(1, p1 - p0), "sys_us_per_probe": 1e6 * (k1 - k0) / max(1, p1 - p0),
        "monitor_cpu_share": (c1 - c0) / (t1 - t0),
        "sim_cpu_us_per_probe": 1e6 * (s1 - s0) / max(1, p1 - p0),
        "lateness_p50_s": monitor.stats.lateness_percentile(50) or 0.0,
        "lateness_p99_s": monitor.stats.lateness_percentile(99) or 0.0,
        "lateness_max_s": max(monitor.stats.lateness_s, default=0.0),
        "skipped_busy": monitor.stats.skipped_busy - skipped0, "in_flight_end": len(monitor._inflight),
        "rss_mb": proc_status_kb("VmRSS") / 1024, "rss_peak_mb": proc_status_kb("VmHWM") / 1024,
        "changes_written": monitor.stats.changes_written, "flushes": monitor.stats.flushes,
        "gc_cpu_us_per_probe": 1e6 * gc_time[0] / max(1, p1 - p0), "gc_full_collections": gc_time[2],
    }
    for name, seconds in sorted(threads1.items()):
        figures[f"cpu_us_per_probe[{name}]"] = 1e6 * (seconds - threads0.get(name, 0.0)) / max(1, p1 - p0)
    monitor.stop()
    await runner
    return figures


# --- the floor: bare exchanges on the same cameras -------------------------------------------------


async def _bare(host: str, port: int, requests: list[bytes]) -> None:
    from camera_ops.rtsp.quickprobe import _Answers

    loop = asyncio.get_running_loop()
    transport, conn = await loop.create_connection(_Answers, host, port)
    for request in requests:
        waiter = loop.create_future()
        conn.ask(request, waiter)
        await waiter
    transport.close()


async def floor(settings: Settings, cameras: list[dict], rounds: int, concurrency: int) -> dict[str, float]:
    """CPU µs of this process per bare OPTIONS, and per bare full check (SOAP + OPTIONS + DESCRIBE)."""
    from camera_ops.onvif.rawsoap import plain_request
    from camera_ops.rtsp.quickprobe import RtspProbeLink, _Answers, _options_request, _request, quick_rtsp_probe

    links = []
    for cam in cameras:
        link = RtspProbeLink.for_url(cam["rtsp_main_url"], cam["username"], cam["password"])
        await quick_rtsp_probe(link, timeout_s=settings.monitor_call_timeout_s)  # learn the digest challenge
        links.append((cam, link))
    gate = asyncio.Semaphore(concurrency)

    async def options(cam: dict, link: RtspProbeLink) -> None:
        async with gate:
            await _bare(link.host, link.port, [_options_request(link)])

    async def full(cam: dict, link: RtspProbeLink) -> None:
        async with gate:
            await _bare(cam["host"], cam["onvif_port"], [plain_request(cam["host"], cam["onvif_port"], "/onvif/device_service")])
            await _bare(link.host, link.port, [_request(link, "OPTIONS", 1), _request(link, "DESCRIBE", 2, "Accept: application/sdp\r\n")])

    kept: dict[int, tuple[asyncio.BaseTransport, _Answers]] = {}

    async def options_kept(cam: dict, link: RtspProbeLink) -> None:
        """OPTIONS on a connection kept open between rounds (as the monitor's liveness check does)."""
        async with gate:
            if id(link) not in kept:
                kept[id(link)] = await asyncio.get_running_loop().create_connection(_Answers, link.host, link.port)
            waiter = asyncio.get_running_loop().create_future()
            kept[id(link)][1].ask(_options_request(link), waiter)
            await waiter

    await asyncio.gather(*(options_kept(cam, link) for cam, link in links))  # connect outside the timing
    out = {}
    for name, kind in (("floor_options_us", options), ("floor_options_kept_us", options_kept),
                       ("floor_full_check_us", full)):
        c0, n = time.process_time(), 0
        for _ in range(rounds):
            await asyncio.gather(*(kind(cam, link) for cam, link in links))
            n += len(links)
        out[name] = 1e6 * (time.process_time() - c0) / n
    for transport, _ in kept.values():
        transport.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--cycle", type=float, default=60.0)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--holes-every", type=int, default=10, help="every Nth camera is a black hole (0: none)")
    parser.add_argument("--timeout", type=float, default=4.0, help="deadline per network call, s")
    parser.add_argument("--concurrency", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--snapshots", action="store_true")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the run here")
    parser.add_argument("--full-check", type=float, default=900.0, help="full check interval per camera, s")
    parser.add_argument("--base-address", default=None, help="first simulated camera address (default: a free 127.x block)")
    parser.add_argument("--floor-cameras", type=int, default=500, help="cameras the floor is timed on")
    parser.add_argument("--per-sim", type=int, default=5000, help="cameras per simulator process")
    parser.add_argument("--settle-cycles", type=float, default=1.0,
                        help="cycles the measured monitor runs before measuring (0: include the first cycle after "
                             "a restart, which connects afresh)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        from cryptography.fernet import Fernet

        settings = Settings(database_url=url, credentials_key=Fernet.generate_key().decode(), monitor_cycle_s=args.cycle, monitor_call_timeout_s=args.timeout,
                            monitor_concurrency=args.concurrency, monitor_reload_s=max(30.0, args.cycle),
                            monitor_full_check_s=args.full_check, _env_file=None)  # type: ignore[call-arg]
        started = time.monotonic()
        base = args.base_address or free_bench_base_address()
        sims, cameras = start_simulators(args.cameras, args.holes_every, workdir, base, args.per_sim)
        print(f"simulators: {len(cameras)} cameras up in {time.monotonic() - started:.0f} s "
              f"(pids {', '.join(str(s.pid) for s in sims)})")
        try:
            register(url, settings, cameras)
            import uvloop

            if args.profile:
                import cProfile

                uvloop.run(warm_up(settings, args.snapshots))
                with cProfile.Profile() as profiler:
                    figures = uvloop.run(measure(settings, args.cycles, [s.pid for s in sims], args.snapshots,
                                                 args.settle_cycles))
                profiler.dump_stats(args.profile)
            else:
                uvloop.run(warm_up(settings, args.snapshots))
                figures = uvloop.run(measure(settings, args.cycles, [s.pid for s in sims], args.snapshots,
                                             args.settle_cycles))
            answering = [c for i, c in enumerate(cameras) if not (args.holes_every and i % args.holes_every == 0)]
            figures.update(uvloop.run(floor(settings, answering[:args.floor_cameras], rounds=4, concurrency=100)))
            per_full = args.full_check / 60.0  # minutes between full checks
            figures["floor_us_per_camera_minute"] = (
                figures["floor_options_us"] * (1 - 1 / per_full) + figures["floor_full_check_us"] / per_full)
            figures["floor_kept_us_per_camera_minute"] = (  # the liveness OPTIONS on a kept connection
                figures["floor_options_kept_us"] * (1 - 1 / per_full) + figures["floor_full_check_us"] / per_full)
        finally:
            for sim in sims:
                sim.send_signal(signal.SIGINT)
            for sim in sims:
                try:
                    sim.wait(60)
                except subprocess.TimeoutExpired:
                    sim.kill()
    holes = args.cameras // args.holes_every if args.holes_every else 0
    print(f"\n{args.cameras} cameras ({holes} black holes), cycle {args.cycle:g} s, measured {args.cycles} cycles "
          f"after one warm-up cycle and {args.settle_cycles:g} settling cycle(s) of a restarted monitor, "
          f"call deadline {args.timeout:g} s, pictures {'on' if args.snapshots else 'off'}")
    for key, value in figures.items():
        print(f"  {key:22s} {value:12.3f}" if isinstance(value, float) else f"  {key:22s} {value:12d}")


if __name__ == "__main__":
    main()
