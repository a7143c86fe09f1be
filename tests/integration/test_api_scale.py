"""The API under load, without the load: status counts kept by the database (triggers + compaction)
agree with counting the cameras; the board collapsed by commune; the request slots sized to the
pools; /healthz, /readyz (503 when the database is down or behind), /metrics behind its token."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import case, func, select

from api.app import create_app
from api.concurrency import ConcurrencyLimit
from camera_ops.monitor import counts
from camera_ops.registry.areas import merge_areas
from camera_ops.security import encrypt_secret
from storage.db import POOL_MARGIN, session_scope
from storage.models import Area, Camera, CameraStatus, Lifecycle, Role
from tests.factories import api_login, make_commune, make_user, web_login

pytestmark = pytest.mark.db


def add_camera(session, settings, hamlet, code, status=CameraStatus.online, lifecycle=Lifecycle.active):
    camera = Camera(code=code, name=f"Camera {code}", area_id=hamlet.id, host="10.0.0.2", username="admin",
                    password_encrypted=encrypt_secret("pw", settings), status=status, lifecycle=lifecycle,
                    status_reasons=[])
    session.add(camera)
    session.flush()
    return camera


def counted_by_hand(session, area: Area) -> Counter:
    """The ground truth: GROUP BY over the cameras of the area's subtree."""
    key = case((Camera.lifecycle == Lifecycle.retired, "retired"),
               (Camera.lifecycle == Lifecycle.maintenance, "maintenance"), else_=Camera.status)
    rows = session.execute(select(key, func.count()).join(Area, Area.id == Camera.area_id)
                           .where(Area.path.like(f"{area.path}%")).group_by(key))
    return Counter({(k.value if hasattr(k, "value") else k): n for k, n in rows if n})


def assert_counts_agree(session, areas):
    kept = counts.area_counts(session, [a.id for a in areas])
    for area in areas:
        assert Counter(kept.get(area.id, {})) == counted_by_hand(session, area), area.code


def test_status_counts_follow_every_change_and_survive_compaction(session, settings, engine):
    a = make_commune(session, hamlets=2)
    b = make_commune(session, province=a.province, hamlets=1)
    cams = [add_camera(session, settings, a.hamlets[i % 2], f"K{i}") for i in range(6)]
    cams.append(add_camera(session, settings, b.hamlets[0], "K6", CameraStatus.offline))
    session.commit()
    areas = [a.province, a.commune, b.commune, *a.hamlets, *b.hamlets]
    assert_counts_agree(session, areas)
    cams[0].status = CameraStatus.offline
    cams[1].lifecycle = Lifecycle.maintenance
    cams[2].lifecycle = Lifecycle.retired
    cams[3].area_id = b.hamlets[0].id  # moved to another commune
    cams[4].status = CameraStatus.degraded
    cams[4].status = CameraStatus.online  # and back in the same transaction: no net change
    session.delete(cams[5])
    session.commit()
    assert_counts_agree(session, areas)
    session.commit()  # the test's session holds SQLite's write lock while a transaction is open
    assert counts.compact_all(engine) > 0
    assert counts.compact_all(engine) == 0  # folded once: nothing left, nothing counted twice
    session.expire_all()
    assert_counts_agree(session, areas)
    province = counts.area_counts(session, [a.province.id])[a.province.id]
    assert province == Counter({"online": 2, "offline": 2, "maintenance": 1, "retired": 1})


def test_status_counts_follow_hamlets_moved_by_a_commune_merge(session, settings):
    a = make_commune(session, hamlets=1)
    b = make_commune(session, province=a.province, hamlets=1)
    add_camera(session, settings, a.hamlets[0], "M1", CameraStatus.offline)
    add_camera(session, settings, b.hamlets[0], "M2")
    session.commit()
    merge_areas(session, absorbed_id=a.commune.id, into_id=b.commune.id)
    session.commit()
    assert counts.area_counts(session, [b.commune.id])[b.commune.id] == Counter({"offline": 1, "online": 1})
    assert_counts_agree(session, [a.province, b.commune, a.hamlets[0], b.hamlets[0]])


def test_board_shows_communes_collapsed_and_opens_one_to_its_hamlets(client, session, settings):
    province = make_commune(session, hamlets=1, prefix="BD0").province
    communes = [make_commune(session, province=province, hamlets=2, prefix=f"BD{i}") for i in range(1, 5)]
    for c in communes:
        add_camera(session, settings, c.hamlets[0], f"{c.commune.code}-CAM", CameraStatus.offline)
    make_user(session, Role.admin, username="admin")
    session.commit()
    web_login(client, "admin")
    rollup = client.get("/board").text.split('id="rollup"', 1)[1]
    assert "Xã BD3" in rollup and "Thôn 1 BD3" not in rollup  # five communes: collapsed
    assert f"commune={communes[2].commune.id}" in rollup
    opened = client.get(f"/board?commune={communes[2].commune.id}").text
    rollup = opened.split('id="rollup"', 1)[1]
    assert "Thôn 1 BD3" in rollup and "Thôn 2 BD3" in rollup and "Thôn 1 BD2" not in rollup
    totals = opened.split('id="totals"', 1)[1].split("</ul>", 1)[0]
    assert '<span class="n">4</span>' in totals  # four offline cameras


def test_readyz_is_ok_on_a_migrated_database_and_healthz_touches_nothing(client):
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert {k: v["status"] for k, v in body["checks"].items()} == {
        "database": "ok", "schema": "ok", "clip_store": "ok", "custody_anchor": "ok"}  # the anchor check: ee9292a


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_readyz_is_503_when_the_database_is_down(settings):
    down = settings.model_copy(update={"database_url": f"postgresql+psycopg://camera_ops@127.0.0.1:{closed_port()}/x"})
    with TestClient(create_app(down)) as c:
        r = c.get("/readyz")
        assert c.get("/healthz").status_code == 200  # the process is alive all the same
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "fail" and body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["database"]["reason"] == "database_unreachable"
    assert "Không kết nối được cơ sở dữ liệu" in body["checks"]["database"]["message"]
    assert "127.0.0.1" not in r.text  # never the URL (it may carry a password)


def test_readyz_is_503_when_the_schema_is_not_at_head(settings, tmp_path):
    empty = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    with TestClient(create_app(empty)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"]["status"] == "ok" and checks["schema"]["status"] == "fail"
    assert checks["schema"]["reason"] in ("schema_behind", "database_unreachable")


def test_metrics_need_the_token_and_label_requests_by_route_template(engine, settings, session):
    make_user(session, Role.admin, username="admin")
    hamlet = make_commune(session, hamlets=1).hamlets[0]
    add_camera(session, settings, hamlet, "X1", CameraStatus.offline)
    session.commit()
    with TestClient(create_app(settings, engine=engine)) as c:
        assert c.get("/metrics").status_code == 404  # no token configured: no endpoint
    token = "scrape-token-0123456789"
    with TestClient(create_app(settings.model_copy(update={"ops_token": token}), engine=engine)) as c:
        headers = api_login(c, "admin")
        camera_id = c.get("/api/v1/cameras", headers=headers).json()["items"][0]["id"]
        assert c.get(f"/api/v1/cameras/{camera_id}", headers=headers).status_code == 200
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        text = c.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert 'camera_ops_http_requests_total{method="GET",route="/api/v1/cameras/{camera_id}",status="200"} 1.0' in text
    assert f"/api/v1/cameras/{camera_id}" not in text
    assert 'camera_ops_http_request_duration_seconds_bucket{le="0.1",method="GET",route="/api/v1/cameras"}' in text
    assert 'camera_ops_cameras{status="offline"} 1.0' in text


def test_the_database_pool_is_sized_to_the_request_slots(settings):
    app = create_app(settings.model_copy(update={"api_concurrency": 7}))
    assert app.state.engine.pool.size() == 7
    assert app.state.engine.pool._max_overflow == POOL_MARGIN  # the compactor, /readyz, metrics


def test_requests_beyond_the_slots_wait_then_get_503_with_retry_after_in_vietnamese():
    async def scenario():
        release = asyncio.Event()
        entered = asyncio.Event()

        async def slow(scope, receive, send):
            if scope["path"] != "/healthz":
                entered.set()
                await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"done"})

        app = ConcurrencyLimit(slow, limit=1, queue_timeout_s=0.2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = asyncio.create_task(client.get("/api/v1/cameras"))
            await entered.wait()
            busy = await client.get("/api/v1/cameras")
            alive = await asyncio.wait_for(client.get("/healthz"), 5)  # skips the queue (answers 200 here)
            release.set()
            return (await first), busy, alive

    first, busy, alive = asyncio.run(scenario())
    assert first.status_code == 200 and alive.status_code == 200
    assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    assert busy.json()["error"]["code"] == "server_busy" and "bận" in busy.json()["error"]["message"]
