"""A province on one machine: many simulated cameras, several ``camera-ops monitor`` processes
sharing them on PostgreSQL, then one monitor killed.

- Simulators: ``--per-sim`` cameras per ``camera-ops sim`` process (one process cannot hold
  30,000 cameras under a 20,000 open-file limit), each on a free 127.X.0.0/16 block (shared-port
  mode: one listening socket per camera), every ``--holes-every``-th camera a black hole.
- Database: a scratch database (``--database-url``, default ``bench_monitors`` on the local
  PostgreSQL) is dropped, created, migrated and filled.
- Monitors: ``--monitors`` real ``camera-ops monitor`` processes, pictures off (the probe alone),
  each with its /metrics on a free loopback port.

Measured over ``--cycles`` cycles once every monitor is active and every camera probed once:
lateness p99 (from the monitors' histograms), CPU µs per camera-minute and RSS per monitor process
(from /proc), database transactions and row writes per second (pg_stat_database). Then one
monitor gets SIGKILL: the time until all of its cameras (computed with the same rendezvous hash)
have been probed again by the others (their ``camera_health.last_probe_at``; a camera taken over
writes its details at its first probe).

Figures, not a test. CPU-heavy: run it alone, bounded (``--cycles``)::

    python bench/bench_province.py                              # 100,000 cameras, 3 monitors, 60 s
    python bench/bench_province.py --cameras 20000 --cycle 30   # smaller
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


from camera_ops.monitor.membership import Member, node_seed, owner_at, ranked  # noqa: E402
from camera_ops.registry.areas import create_area  # noqa: E402
from camera_ops.settings import Settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import AreaKind  # noqa: E402
from storage.models_cluster import MonitorMember  # noqa: E402
from storage.models_monitoring import CameraHealth  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 900.0
HAMLET_SIZE = 8  # cameras per hamlet
CAMERAS_PER_COMMUNE = 1000
REGISTER_CHUNK = 5000


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_until(predicate, what: str, timeout_s: float = START_TIMEOUT_S, poll_s: float = 1.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"no {what} within {timeout_s:.0f} s")
        time.sleep(poll_s)
    return time.monotonic() - started


def start_simulators(total: int, per_sim: int, holes_every: int, workdir: Path, first_block: int) -> tuple[list, list[dict]]:
    sims, outs = [], []
    for index, start in enumerate(range(0, total, per_sim)):
        count = min(per_sim, total - start)
        fleet = {"defaults": {"vendor": "generic"}, "cameras": [
            {"name": f"p{i:06d}", **({"faults": {"black_hole": True}} if holes_every and i % holes_every == 0 else {})}
            for i in range(start, start + count)]}
        spec = workdir / f"fleet{index}.json"
        spec.write_text(json.dumps(fleet))
        out = workdir / f"cameras{index}.json"
        base = f"127.{first_block + index}.0.1"
        sims.append(subprocess.Popen(
            [sys.executable, "-m", "camera_ops.sim.cli", "--fleet", str(spec), "--out", str(out), "--control-port", "0",
             "--base-address", base, "--http-port", str(free_port(base)), "--shared-port",
             "--discovery-port", "0"],
            stdout=subprocess.DEVNULL, stderr=open(workdir / f"sim{index}.log", "wb")))
        outs.append(out)
    wait_until(lambda: all(o.exists() for o in outs) or any(s.poll() is not None for s in sims), "simulators")
    if any(s.poll() is not None for s in sims):
        raise SystemExit(f"a simulator failed; see {workdir}/sim*.log")
    time.sleep(1.0)
    cameras = [c for o in outs for c in json.loads(o.read_text())["cameras"]]
    return sims, cameras


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    upgrade(url)


def register(url: str, settings: Settings, cameras: list[dict]) -> None:
    """Areas, then the cameras in bulk (Core executemany: 100,000 ORM objects would take minutes),
    each row as a completed handshake leaves it (see ``register_sim_cameras``)."""
    from camera_ops.security import encrypt_secret
    from storage.models import Camera, CameraKind, CameraStatus, Lifecycle, RegistrationState
    from storage.types import utcnow

    engine = make_engine(url)
    with session_factory(engine)() as session:
        province = create_area(session, kind=AreaKind.province, code="PP", name="Tỉnh bench", parent_id=None)
        communes = [create_area(session, kind=AreaKind.commune, code=f"PC{c}", name=f"Xã {c}", parent_id=province.id)
                    for c in range(max(1, len(cameras) // CAMERAS_PER_COMMUNE))]
        hamlets = [create_area(session, kind=AreaKind.hamlet, code=f"PH{i}", name=f"Thôn {i}",
                               parent_id=communes[i % len(communes)].id).id
                   for i in range((len(cameras) + HAMLET_SIZE - 1) // HAMLET_SIZE)]
        session.commit()
        now = utcnow()
        ciphertexts: dict[str, bytes] = {}
        rows = []
        for i, c in enumerate(cameras):
            password = ciphertexts.get(c["password"]) or ciphertexts.setdefault(c["password"], encrypt_secret(c["password"], settings))
            rows.append(dict(
                code=f"P-{c['name']}", name=c["name"], area_id=hamlets[i // HAMLET_SIZE], host=c["host"],
                onvif_port=c["onvif_port"], username=c["username"], password_encrypted=password,
                main_stream_uri=c["rtsp_main_url"], sub_stream_uri=c["rtsp_sub_url"],
                snapshot_uri=c["snapshot_url"] if c["onvif"] else None, serial=c["serial"],
                manufacturer=c["manufacturer"], device_model=c["model"],
                kind=CameraKind.onvif if c["onvif"] else CameraKind.rtsp, registration=RegistrationState.registered,
                lifecycle=Lifecycle.active, status=CameraStatus.unknown, status_since=now, status_reasons=[]))
        for start in range(0, len(rows), REGISTER_CHUNK):
            session.execute(insert(Camera), rows[start:start + REGISTER_CHUNK])
            session.commit()
    engine.dispose()


def scrape(url: str) -> str:
    try:
        return httpx.get(url + "/metrics", timeout=30).text
    except httpx.HTTPError as exc:
        print(f"  (scrape of {url} failed: {exc.__class__.__name__}; retrying)")
        return ""


def value(metrics: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def buckets(metrics: str, name: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2))
            for m in re.finditer(rf'^{re.escape(name)}_bucket\{{le="([^"]+)"\}} (\S+)$', metrics, re.MULTILINE)}


def p99(before: list[dict[str, float]], after: list[dict[str, float]]) -> str:
    """The upper bound of the bucket holding the 99th percentile of the samples in between."""
    total: dict[str, float] = {}
    for b, a in zip(before, after):
        for le, n in a.items():
            total[le] = total.get(le, 0.0) + n - b.get(le, 0.0)
    ordered = sorted(total.items(), key=lambda kv: float("inf") if kv[0] == "+Inf" else float(kv[0]))
    count = ordered[-1][1] if ordered else 0
    for le, n in ordered:
        if count and n >= 0.99 * count:
            return f"≤ {le} s ({int(count)} samples)"
    return "n/a"


def db_counters(engine, name: str) -> tuple[float, float]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database "
                                "WHERE datname = :d"), {"d": name}).one()
    return float(row[0]), float(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=100_000)
    parser.add_argument("--monitors", type=int, default=3)
    parser.add_argument("--per-sim", type=int, default=17_000, help="cameras per simulator process")
    parser.add_argument("--cycle", type=float, default=60.0)
    parser.add_argument("--cycles", type=int, default=2, help="cycles measured")
    parser.add_argument("--holes-every", type=int, default=10)
    parser.add_argument("--warm-up-cycles", type=float, default=2.0,
                        help="cycles before measuring (the first probe of every camera is a full one, and written)")
    parser.add_argument("--first-block", type=int, default=None, help="simulators use 127.N.0.0/16, 127.N+1...")
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_monitors")
    args = parser.parse_args()
    import random

    first_block = args.first_block or random.randrange(64, 250 - args.cameras // args.per_sim)
    url = args.database_url
    db_name = make_url(url).database
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="bench-province-") as tmp:
        workdir = Path(tmp)
        from cryptography.fernet import Fernet

        key = Fernet.generate_key().decode()  # one key for the bench and its monitors (no per-call key file reads)
        settings = Settings(database_url=url, data_dir=workdir, credentials_key=key, _env_file=None)  # type: ignore[call-arg]
        t0 = time.monotonic()
        sims, cameras = start_simulators(args.cameras, args.per_sim, args.holes_every, workdir, first_block)
        processes += sims
        print(f"{len(cameras)} simulated cameras in {len(sims)} simulators up in {time.monotonic() - t0:.0f} s")
        try:
            t0 = time.monotonic()
            fresh_database(url)
            register(url, settings, cameras)
            print(f"registered on PostgreSQL in {time.monotonic() - t0:.0f} s")
            env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_OPS_")}
            env.update(CAMERA_OPS_DATABASE_URL=url, CAMERA_OPS_DATA_DIR=str(workdir), CAMERA_OPS_CREDENTIALS_KEY=key,
                       CAMERA_OPS_MONITOR_CYCLE_S=str(args.cycle), CAMERA_OPS_MONITOR_PICTURES="false",
                       CAMERA_OPS_MONITOR_OPS_PORT="0", CAMERA_OPS_MONITOR_RELOAD_S=str(max(30.0, args.cycle)))
            monitors, logs = [], []
            for i in range(args.monitors):
                log = workdir / f"monitor{i}.log"
                logs.append(log)
                monitors.append(subprocess.Popen([sys.executable, "-m", "camera_ops.cli", "monitor"], env=env,
                                                 stdout=open(log, "wb"), stderr=subprocess.STDOUT))
            processes += monitors

            def ops_urls() -> list[str | None]:
                found = [re.search(r"health and metrics on (http://[\d.:]+)", log.read_text(errors="replace"))
                         for log in logs]
                return [m.group(1) if m else None for m in found]

            wait_until(lambda: all(ops_urls()), "monitor metrics endpoints")
            urls = [u for u in ops_urls() if u]
            owned = lambda: sum(value(scrape(u), "camera_ops_monitor_cameras_owned") for u in urls)  # noqa: E731
            spent = wait_until(lambda: owned() >= len(cameras)
                               and all(value(scrape(u), "camera_ops_monitor_cameras_owned") > 0 for u in urls),
                               "every camera owned, every monitor active")
            print(f"{args.monitors} monitors active, every camera owned, {spent:.0f} s after start")
            time.sleep(args.cycle * args.warm_up_cycles)  # warm-up: every camera's first (full) check and its write
            engine = make_engine(url)
            before = [scrape(u) for u in urls]
            cpu0 = [proc_cpu_s(m.pid) for m in monitors]
            sim_cpu0 = sum(proc_cpu_s(s.pid) for s in sims)
            db0 = db_counters(engine, db_name)
            w0 = time.monotonic()
            time.sleep(args.cycle * args.cycles)
            wall = time.monotonic() - w0
            after = [scrape(u) for u in urls]
            cpu1 = [proc_cpu_s(m.pid) for m in monitors]
            sim_cpu1 = sum(proc_cpu_s(s.pid) for s in sims)
            db1 = db_counters(engine, db_name)
            probes = sum(value(a, 'camera_ops_monitor_probe_seconds_count{kind="liveness"}')
                         + value(a, 'camera_ops_monitor_probe_seconds_count{kind="full"}')
                         - value(b, 'camera_ops_monitor_probe_seconds_count{kind="liveness"}')
                         - value(b, 'camera_ops_monitor_probe_seconds_count{kind="full"}') for a, b in zip(after, before))
            camera_minutes = len(cameras) * wall / 60.0 * (60.0 / args.cycle)
            print(f"\n{len(cameras)} cameras ({len(cameras) // args.holes_every if args.holes_every else 0} black holes), "
                  f"{args.monitors} monitors, cycle {args.cycle:g} s, measured {wall:.0f} s")
            print(f"  probes/s                     {probes / wall:10.0f}")
            print(f"  lateness p99                 {p99([buckets(b, 'camera_ops_monitor_schedule_lateness_seconds') for b in before], [buckets(a, 'camera_ops_monitor_schedule_lateness_seconds') for a in after])}")
            print(f"  CPU µs per camera-minute     {1e6 * sum(c1 - c0 for c0, c1 in zip(cpu0, cpu1)) / camera_minutes:10.1f} (all monitors)")
            for i, (m, c0, c1) in enumerate(zip(monitors, cpu0, cpu1)):
                print(f"  monitor {i}: CPU {100 * (c1 - c0) / wall:5.1f} % of a core, RSS {rss_mb(m.pid):6.0f} MB, "
                      f"owns {value(after[i], 'camera_ops_monitor_cameras_owned'):.0f}")
            print(f"  simulators CPU               {100 * (sim_cpu1 - sim_cpu0) / wall:10.1f} % of a core")
            print(f"  DB transactions/s            {(db1[0] - db0[0]) / wall:10.1f}")
            print(f"  DB rows written/s            {(db1[1] - db0[1]) / wall:10.1f}")

            # kill one monitor: how long until its cameras are probed again by the others
            with engine.connect() as conn:
                members = [Member(r.node, r.epoch, r.active_from.timestamp())
                           for r in conn.execute(select(MonitorMember.node, MonitorMember.epoch, MonitorMember.active_from))]
                ids = [r[0] for r in conn.execute(select(CameraHealth.camera_id))]
            victim = monitors[0]
            victim_node = next(m.node for m in members if f":{victim.pid}:" in m.node)
            seeded = [(node_seed(m.node), m) for m in members]
            now = time.time()
            theirs = [cid for cid in ids if owner_at(ranked(cid, seeded), now, 0.0) == victim_node]
            with engine.connect() as conn:
                killed_at = conn.execute(text("SELECT clock_timestamp()")).scalar()
            victim.send_signal(signal.SIGKILL)
            victim.wait()

            def probed_again() -> bool:
                with engine.connect() as conn:
                    done = conn.execute(text(
                        "SELECT count(*) FROM camera_health WHERE last_probe_at > :t AND camera_id = ANY(:ids)"),
                        {"t": killed_at, "ids": theirs}).scalar()
                return done >= len(theirs)

            took = wait_until(probed_again, "the dead monitor's cameras probed again", timeout_s=args.cycle * 4, poll_s=2.0)
            print(f"  killed monitor 0 ({len(theirs)} cameras): all probed again by the others {took:.0f} s after "
                  f"the kill (member TTL {max(10.0, args.cycle / 2):.0f} s, then each at its slot; seen through "
                  f"camera_health.last_probe_at, which a details-only batch writes up to 10 flushes late)")
            engine.dispose()
        except BaseException:
            for log in sorted(workdir.glob("monitor*.log")):
                print(f"--- {log.name} (last lines)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
            raise
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT if p in sims else signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
