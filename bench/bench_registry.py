"""Registry benchmark (issue 2). Prints figures; not a test.

  python bench/bench_registry.py                       # SQLite in a temp dir
  python bench/bench_registry.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

1. Import 10,000 cameras from CSV in pending mode (no handshake). Target ≤ 10 s.
2. List a page of 100 cameras filtered by commune from the 10,000-camera registry, serialised as the
   API does (service + pydantic), in-process. Target p99 ≤ 25 ms.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from api.schemas import CameraOut
from camera_ops.registry.areas import create_area
from camera_ops.registry.camera_import import import_cameras_csv
from camera_ops.registry.cameras import CameraFilter, list_cameras
from camera_ops.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import AreaKind

COMMUNES, HAMLETS_PER_COMMUNE, CAMERAS_PER_HAMLET = 25, 25, 16  # 10,000 cameras: a district


def build_csv(hamlet_codes: list[str]) -> str:
    out = io.StringIO()
    out.write("code,name,hamlet_code,host,username,password,donor_name,donor_kind,latitude,longitude,watches\n")
    n = 0
    for h in hamlet_codes:
        for i in range(CAMERAS_PER_HAMLET):
            n += 1
            out.write(f"CAM-{n:05d},Camera {n},{h},10.{n // 65536}.{(n // 256) % 256}.{n % 256},admin,pw{n},"
                      f"Nhà hảo tâm {n % 97},household,{21 + (n % 100) / 1000},{105.8 + (n % 100) / 1000},entrance\n")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = args.db or f"sqlite:///{tmp / 'bench.sqlite3'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    settings = Settings(data_dir=tmp, database_url=url, _env_file=None)  # type: ignore[call-arg]
    Session = session_factory(engine)

    with Session() as s:
        prov = create_area(s, kind=AreaKind.province, code="P", name="Tỉnh", parent_id=None)
        communes, hamlet_codes = [], []
        for c in range(COMMUNES):
            com = create_area(s, kind=AreaKind.commune, code=f"X{c}", name=f"Xã {c}", parent_id=prov.id)
            communes.append(com.id)
            for h in range(HAMLETS_PER_COMMUNE):
                hamlet_codes.append(create_area(s, kind=AreaKind.hamlet, code=f"X{c}-T{h}", name=f"Thôn {h}",
                                                parent_id=com.id).code)
        s.commit()
    csv_text = build_csv(hamlet_codes)

    t0 = time.perf_counter()
    with Session() as s:
        results = import_cameras_csv(s, settings, csv_text, scope=None)
        s.commit()
    import_s = time.perf_counter() - t0
    created = sum(r.outcome == "created" for r in results)

    timings = []
    with Session() as s:
        for i in range(args.queries):
            t = time.perf_counter()
            rows, total = list_cameras(s, scope=None, filters=CameraFilter(area_id=communes[i % COMMUNES]), limit=100)
            [CameraOut.model_validate(r).model_dump() for r in rows]
            timings.append((time.perf_counter() - t) * 1000)
            s.expunge_all()
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(f"backend={engine.dialect.name}")
    print(f"import 10,000 pending cameras: {import_s:.2f} s ({created} created)   target ≤ 10 s")
    print(f"list page of 100 by commune (of {total}): p50 {p50:.2f} ms  p99 {p99:.2f} ms   target p99 ≤ 25 ms")


if __name__ == "__main__":
    main()
