"""Health board benchmark (issue 6). Prints figures; not a test.

  python bench/bench_board.py                       # SQLite in a temp dir
  python bench/bench_board.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

A district: 10,000 cameras in 25 communes × 25 hamlets × 16 cameras, about 30 % of them with a
problem (offline, wrong password, black picture…). Measures the whole server-side render of
``GET /board`` for an admin (login cookie check, two grouped queries, one page of problems, the
Jinja2 template) through the ASGI app in-process. Target: median ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from api.app import create_app
from api.deps import TOKEN_COOKIE
from camera_ops.registry.areas import create_area
from camera_ops.monitor.counts import compact_all
from camera_ops.registry.users import create_user
from camera_ops.security import encrypt_secret
from camera_ops.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import AreaKind, Camera, CameraStatus, Lifecycle, RegistrationState, Role, Watches
from storage.types import utcnow

COMMUNES, HAMLETS_PER_COMMUNE, CAMERAS_PER_HAMLET = 25, 25, 16
TARGET_MS = 200.0
PROBLEMS = ((CameraStatus.offline, ["unreachable"]), (CameraStatus.offline, ["timeout"]),
            (CameraStatus.unauthorized, ["wrong_password"]), (CameraStatus.degraded, ["black"]),
            (CameraStatus.degraded, ["covered"]), (CameraStatus.maintenance, []))


def seed(url: str, settings: Settings) -> int:
    engine = make_engine(url)
    rng = random.Random(6)
    now = utcnow()
    password = encrypt_secret("bench-password", settings)
    with session_factory(engine)() as session:
        province = create_area(session, kind=AreaKind.province, code="P", name="Tỉnh Bắc Ninh", parent_id=None)
        hamlets = []
        for c in range(COMMUNES):
            commune = create_area(session, kind=AreaKind.commune, code=f"X{c}", name=f"Xã Số {c}",
                                  parent_id=province.id)
            hamlets += [create_area(session, kind=AreaKind.hamlet, code=f"X{c}-T{h}", name=f"Thôn {h} xã {c}",
                                    parent_id=commune.id).id for h in range(HAMLETS_PER_COMMUNE)]
        rows, n = [], 0
        for hamlet_id in hamlets:
            for _ in range(CAMERAS_PER_HAMLET):
                n += 1
                status, reasons = (rng.choice(PROBLEMS) if rng.random() < 0.3 else (CameraStatus.online, []))
                rows.append({
                    "code": f"CAM-{n:05d}", "name": f"Camera {n}", "area_id": hamlet_id, "host": f"10.0.{n // 256}.{n % 256}",
                    "onvif_port": 80, "username": "admin", "password_encrypted": password, "watches": Watches.entrance,
                    "latitude": 21 + rng.random() / 10, "longitude": 105.8 + rng.random() / 10,
                    "registration": RegistrationState.registered, "recording": "none",
                    "lifecycle": Lifecycle.maintenance if status == CameraStatus.maintenance else Lifecycle.active,
                    "status": status, "status_since": now - timedelta(minutes=rng.randint(1, 60 * 24 * 30)),
                    "status_reasons": reasons, "created_at": now, "updated_at": now,
                })
        session.execute(insert(Camera), rows)
        admin = create_user(session, username="admin", password="bench-password", full_name="Quản trị",
                            role=Role.admin)
        session.commit()
        compact_all(engine)  # the steady state: a running API folds the import's status-count deltas within 2 s
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
        return admin.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        settings = Settings(data_dir=Path(tmp), database_url=url, _env_file=None)  # type: ignore[call-arg]
        upgrade(url)
        started = time.perf_counter()
        admin_id = seed(url, settings)
        print(f"seeded {COMMUNES * HAMLETS_PER_COMMUNE * CAMERAS_PER_HAMLET:,} cameras in "
              f"{time.perf_counter() - started:.1f} s")
        with TestClient(create_app(settings)) as client:
            login = client.post("/api/v1/auth/token", data={"username": "admin", "password": "bench-password"})
            client.cookies.set(TOKEN_COOKIE, login.json()["access_token"])
            first = client.get("/board")
            assert first.status_code == 200, first.text[:300]
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                r = client.get("/board")
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
        med, p95 = statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1]
        verdict = "OK" if med <= TARGET_MS else "OVER TARGET"
        print(f"GET /board, 10,000 cameras, {len(first.content) / 1024:.0f} KiB of HTML: "
              f"median {med:.1f} ms, p95 {p95:.1f} ms, min {min(times):.1f} ms "
              f"(target ≤ {TARGET_MS:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
