"""The API under load, beside FastAPI serving the same bytes, in the same run. Figures, not a test::

    python bench/bench_api_load.py                                   # SQLite, 10,000 cameras
    python bench/bench_api_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_api \\
        --cameras 100000                                               # PostgreSQL, 100,000 cameras

Needs ``wrk`` (Debian: ``apt-get install wrk``). A province is seeded (communes of hamlets with 4
cameras each, a realistic status mix), ``camera-ops serve`` is started as its own process on a free
port, and so is the *floor*: a trivial FastAPI + uvicorn app answering each path with the bytes the
real API returned (same server, same workers, no database, no auth). For each of the camera list
(a page of 100), the fleet summary and the health board page, ``wrk`` runs at 64 and 256
connections against both: requests/s, p50/p99 latency, errors (non-2xx and socket errors). Then
single-request times (median of sequential requests). A PostgreSQL database given by URL has its
``public`` schema dropped and rebuilt (use a scratch database).

The camera list and the fleet summary are answered from per-scope copies at most
``CAMERA_OPS_API_READ_CACHE_S`` old (default 1 s): ``wrk`` asking for one page all the time measures
mostly copies. ``--read-cache-s 0`` measures every request computed afresh (what a page nobody else
asked for in the last second costs).

Targets (issue 14): 64 concurrent, zero errors; camera list >= 500 req/s, fleet summary >= 300 req/s,
p99 <= 100 ms each; fleet summary <= 20 ms and board <= 200 ms for a single request (100,000 cameras
on PostgreSQL; 10,000 on SQLite).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from camera_ops.monitor.counts import compact_all  # noqa: E402
from camera_ops.registry.users import create_user  # noqa: E402
from camera_ops.security import encrypt_secret  # noqa: E402
from camera_ops.settings import Settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Area, AreaKind, Camera, CameraStatus, Lifecycle, Role  # noqa: E402

PASSWORD = "bench-password-1"
CAMERAS_PER_HAMLET = 4  # a rural hamlet (DESIGN.md: about 4 per hamlet)
# a fleet that is mostly working: 85% online, the rest spread over the problems
STATUS_MIX = ([CameraStatus.online] * 85 + [CameraStatus.offline] * 8 + [CameraStatus.degraded] * 4
              + [CameraStatus.unauthorized] * 2 + [CameraStatus.unknown] * 1)
TARGETS = {"cameras": 500.0, "summary": 300.0}  # requests/s at 64 connections
P99_TARGET_MS = 100.0
FLOOR_APP = '''
import json, sys
from pathlib import Path
from fastapi import FastAPI
from fastapi.responses import Response
import os
bodies = json.loads(Path(os.environ["FLOOR_BODIES"]).read_text())
app = FastAPI()
for path, (body, media) in bodies.items():
    def answer(_b=body.encode("latin-1"), _m=media):
        return Response(_b, media_type=_m)
    app.add_api_route(path, answer, methods=["GET"])
'''


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def seed(url: str, cameras: int, communes: int) -> None:
    """A province: ``communes`` communes, hamlets of 4 cameras, inserted in bulk (the status-count
    triggers fire for every camera, as they would for an import), then the counts compacted."""
    if url.startswith("postgresql"):
        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    hamlets = max(1, cameras // CAMERAS_PER_HAMLET)
    rows = [{"id": 1, "kind": AreaKind.province, "code": "BP", "name": "Tỉnh Bench", "parent_id": None, "path": "/1/"}]
    for c in range(communes):
        cid = 2 + c
        rows.append({"id": cid, "kind": AreaKind.commune, "code": f"BC{c:03d}", "name": f"Xã {c:03d}",
                     "parent_id": 1, "path": f"/1/{cid}/"})
    first_hamlet = 2 + communes
    for h in range(hamlets):
        hid, cid = first_hamlet + h, 2 + h % communes
        rows.append({"id": hid, "kind": AreaKind.hamlet, "code": f"BH{h:05d}", "name": f"Thôn {h:05d}",
                     "parent_id": cid, "path": f"/1/{cid}/{hid}/"})
    secret = encrypt_secret("x", settings)
    rng = random.Random(14)
    now = datetime.now(timezone.utc)
    with session_factory(engine)() as session:
        session.execute(insert(Area), rows)
        for start in range(0, cameras, 10_000):
            session.execute(insert(Camera), [
                {"code": f"B{i:06d}", "name": f"Camera {i}", "area_id": first_hamlet + (i // CAMERAS_PER_HAMLET) % hamlets,
                 "host": "10.0.0.1", "username": "u", "password_encrypted": secret,
                 "status": rng.choice(STATUS_MIX), "lifecycle": Lifecycle.active, "status_reasons": [],
                 "status_since": now - timedelta(seconds=rng.randint(0, 86400 * 30)), "created_at": now,
                 "updated_at": now} for i in range(start, min(start + 10_000, cameras))])
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('area', 'id'), (SELECT max(id) FROM area))"))
        create_user(session, username="bench", password=PASSWORD, full_name="Bench", role=Role.admin)
        session.commit()
    compact_all(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()


def start(cmd: list[str], env: dict[str, str], log: Path, base: str) -> subprocess.Popen:  # type: ignore[type-arg]
    process = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited: see {log}")
        try:
            if httpx.get(f"{base}/healthz" if "serve" in cmd else base + "/", timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"no answer from {base}: see {log}")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its children (uvicorn's workers), from /proc:
    on a shared machine CPU per request is the figure that does not depend on the neighbours."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return own + sum(tree_cpu_s(int(c)) for c in children)


def wrk(url: str, connections: int, seconds: int, headers: list[str], pid: int | None = None) -> dict[str, float]:
    cpu_before = tree_cpu_s(pid) if pid else 0.0
    args = ["wrk", f"-t{min(4, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    pct = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    cpu_ms = (tree_cpu_s(pid) - cpu_before) * 1000 / max(done, 1) if pid else float("nan")
    return {"rps": rps, "p50": pct.get("50", float("nan")), "p99": pct.get("99", float("nan")), "errors": errors,
            "cpu_ms": cpu_ms}


def _ms(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def sequential_ms(client: httpx.Client, url: str, headers: dict[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: an SQLite file in a temp dir")
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--communes", type=int, default=100, help="a province after the 2025 reform: ~100")
    parser.add_argument("--host", default="127.0.0.1", help="where both servers listen (ports are free ones)")
    parser.add_argument("--workers", type=int, default=2, help="API processes (CAMERA_OPS_API_WORKERS); the floor too")
    parser.add_argument("--concurrency", type=int, default=16, help="CAMERA_OPS_API_CONCURRENCY per process")
    parser.add_argument("--connections", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
    parser.add_argument("--keep", action="store_true", help="reuse the seeded database (PostgreSQL) as it is")
    parser.add_argument("--read-cache-s", type=float, default=None,
                        help="CAMERA_OPS_API_READ_CACHE_S for the API (default: the setting's, 1 s); 0 measures "
                             "every request computed afresh")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        url = args.database_url or f"sqlite:///{tmp / 'api.sqlite3'}"
        started = time.perf_counter()
        if not args.keep:
            seed(url, args.cameras, args.communes)
        print(f"seeded {args.cameras:,} cameras in {args.communes} communes "
              f"({make_engine(url).dialect.name}) in {time.perf_counter() - started:.0f} s")
        run(args, url, tmp)


def run(args: argparse.Namespace, url: str, tmp: Path) -> None:
    api_port, floor_port = free_port(args.host), free_port(args.host)
    api, floor = f"http://{args.host}:{api_port}", f"http://{args.host}:{floor_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMERA_OPS_DATABASE_URL": url, "CAMERA_OPS_DATA_DIR": str(tmp),
           "CAMERA_OPS_API_WORKERS": str(args.workers), "CAMERA_OPS_API_CONCURRENCY": str(args.concurrency),
           "CAMERA_OPS_HOST": args.host, "CAMERA_OPS_PORT": str(api_port)}
    if args.read_cache_s is not None:
        env["CAMERA_OPS_API_READ_CACHE_S"] = str(args.read_cache_s)
    server = start([sys.executable, "-c", "from camera_ops.cli import app; app()", "serve"], env, tmp / "api.log", api)
    floor_proc = None
    try:
        with httpx.Client(base_url=api, timeout=30) as client:
            token = client.post("/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            cookie = {"Cookie": f"camera_ops_token={token}"}
            paths = {"cameras": ("/api/v1/cameras", bearer), "summary": ("/api/v1/health/summary", bearer),
                     "board": ("/board", cookie)}
            bodies = {}
            for name, (path, headers) in paths.items():
                r = client.get(path, headers=headers)
                r.raise_for_status()
                bodies[path] = (r.content.decode("latin-1"), r.headers["content-type"])
                print(f"  {name:8s} {path:26s} {len(r.content):>9,} bytes")
            single = {name: sequential_ms(client, path, headers, 30) for name, (path, headers) in paths.items()}
        (tmp / "bodies.json").write_text(json.dumps(bodies))
        (tmp / "floor.py").write_text(FLOOR_APP)
        floor_proc = start([sys.executable, "-m", "uvicorn", "--app-dir", str(tmp), "floor:app", "--host", args.host,
                            "--port", str(floor_port), "--workers", str(args.workers), "--log-level", "warning",
                            "--no-server-header", "--no-access-log"],
                           {**env, "FLOOR_BODIES": str(tmp / "bodies.json")}, tmp / "floor.log", floor)
        report(args, api, floor, paths, single, server.pid, floor_proc.pid)
    finally:
        for p in (server, floor_proc):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def report(args: argparse.Namespace, api: str, floor: str, paths: dict, single: dict[str, float],  # type: ignore[type-arg]
           api_pid: int, floor_pid: int) -> None:
    print(f"\nsingle request (median of 30): summary {single['summary']:.1f} ms (<= 20), "
          f"board {single['board']:.1f} ms (<= 200), camera list {single['cameras']:.1f} ms")
    print(f"machine load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"(CPU ms/request = the servers' own CPU, whatever the neighbours do)")
    cache_s = args.read_cache_s if args.read_cache_s is not None else Settings(_env_file=None).api_read_cache_s  # type: ignore[call-arg]
    print(f"API: {args.workers} worker(s) x {args.concurrency} request slots; camera list and summary copies "
          f"kept {cache_s:g} s per scope and query (--read-cache-s 0: every request computed afresh)")
    print(f"\n{'endpoint':9s} {'conns':>5s} | {'camera-ops req/s':>16s} {'p50 ms':>7s} {'p99 ms':>7s} {'errors':>6s} "
          f"{'cpu ms/req':>10s} | {'floor req/s':>11s} {'p50 ms':>7s} {'p99 ms':>7s} {'cpu ms/req':>10s} | verdict")
    for name, (path, headers) in paths.items():
        hdrs = [f"{k}: {v}" for k, v in headers.items()]
        for conns in args.connections:
            ours = wrk(api + path, conns, args.seconds, hdrs, api_pid)
            base = wrk(floor + path, conns, args.seconds, [], floor_pid)
            verdict = ""
            if conns == 64 and name in TARGETS:
                ok = ours["rps"] >= TARGETS[name] and ours["p99"] <= P99_TARGET_MS and ours["errors"] == 0
                verdict = f"{'meets' if ok else 'MISSES'} >= {TARGETS[name]:.0f}/s, p99 <= {P99_TARGET_MS:.0f} ms, 0 errors"
            elif ours["errors"]:
                verdict = "ERRORS"
            print(f"{name:9s} {conns:5d} | {ours['rps']:16,.0f} {ours['p50']:7.1f} {ours['p99']:7.1f} "
                  f"{ours['errors']:6d} {ours['cpu_ms']:10.2f} | {base['rps']:11,.0f} {base['p50']:7.1f} "
                  f"{base['p99']:7.1f} {base['cpu_ms']:10.2f} | {verdict}")


if __name__ == "__main__":
    main()
