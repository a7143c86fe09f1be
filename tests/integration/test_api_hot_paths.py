"""The hot read endpoints (camera list, fleet summary) answer from remembered logins and short-lived
copies (``camera_ops.registry.principals``, ``api.freshness``): the JSON is what the models would
write, a login ended here stops at once and one ended elsewhere within ``api_session_check_s``, and
a copy never outlives ``api_read_cache_s`` nor a change made through the API. Clocks are injected."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import update

from api.app import create_app
from api.schemas import CameraOut, Page
from camera_ops.registry import cameras as camera_service
from camera_ops.security import encrypt_secret
from storage.models import Camera, CameraStatus, Lifecycle, Role
from storage.models_security import UserSession
from tests.factories import api_login, make_commune, make_user

pytestmark = pytest.mark.db
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(session, settings):
    commune = make_commune(session, hamlets=2)
    for i, hamlet in enumerate(commune.hamlets * 2):
        session.add(Camera(
            code=f"HP{i}", name=f"Cổng {i}", area_id=hamlet.id, host=f"10.0.0.{i + 1}", username="admin",
            password_encrypted=encrypt_secret("pw", settings), status=CameraStatus.offline if i == 1 else
            CameraStatus.online, lifecycle=Lifecycle.active, status_reasons=["unreachable"] if i == 1 else [],
            status_since=T0, latitude=11.5 + i, longitude=106.9, bearing_deg=90.0 if i else None,
            donated_on=date(2026, 1, 2) if i == 2 else None, serial=f"SN{i}", rtsp_port=554,
            handshake_error={"code": "timeout", "detail": "Không trả lời"} if i == 3 else None,
            handshake_at=T0 - timedelta(days=1)))
    make_user(session, Role.admin, username="admin")
    make_user(session, Role.commune_police, [commune.commune], username="officer")
    session.commit()
    return commune


@pytest.fixture
def app(settings, engine):
    app = create_app(settings, engine=engine)
    app.state.clock = lambda: app.state.now  # the sessions' clock
    app.state.now = datetime.now(timezone.utc)
    app.state.answers.clock = Clock()  # the copies' clock
    return app


def test_camera_list_json_is_byte_for_byte_what_the_model_writes(app, world, session):
    with TestClient(app) as client:
        for who in ("admin", "officer"):
            headers = api_login(client, who)
            r = client.get("/api/v1/cameras", params={"limit": 3, "offset": 1}, headers=headers)
            assert r.status_code == 200
            cameras, total = camera_service.list_cameras(session, scope=None, filters=camera_service.CameraFilter(),
                                                         limit=3, offset=1)
            adapter = TypeAdapter(Page[CameraOut])
            expected = adapter.dump_json(adapter.validate_python(
                {"items": cameras, "total": total, "limit": 3, "offset": 1}, from_attributes=True))
            session.commit()  # the test's session holds SQLite's write lock while a transaction is open
            assert r.content == expected
            assert r.json()["total"] == 4 and r.json()["items"][2]["handshake_error"]["detail"] == "Không trả lời"


def test_a_login_ended_in_this_process_stops_at_once(app, world):
    with TestClient(app) as client:
        officer, admin = api_login(client, "officer"), api_login(client, "admin")
        assert client.get("/api/v1/cameras", headers=officer).status_code == 200
        assert client.get("/api/v1/health/summary", headers=officer).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=officer).status_code == 200
        r = client.get("/api/v1/cameras", headers=officer)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
        assert client.get("/api/v1/health/summary", headers=officer).status_code == 401
        # disabled by an administrator: forgotten at once too
        officer = api_login(client, "officer")
        assert client.get("/api/v1/cameras", headers=officer).status_code == 200
        user_id = client.get("/api/v1/auth/me", headers=officer).json()["id"]
        assert client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin).status_code == 200
        assert client.get("/api/v1/cameras", headers=officer).status_code == 401


def test_a_login_ended_in_another_process_stops_within_the_check_interval(app, world, engine, settings):
    with TestClient(app) as client:
        officer = api_login(client, "officer")
        assert client.get("/api/v1/cameras", headers=officer).status_code == 200
        with engine.begin() as conn:  # another API process (or the command line) ended every session
            conn.execute(update(UserSession).values(ended_at=app.state.now, ended_reason="logout"))
        assert client.get("/api/v1/cameras", headers=officer).status_code == 200  # believed a little longer
        app.state.now += timedelta(seconds=settings.api_session_check_s)
        r = client.get("/api/v1/cameras", headers=officer)
        assert r.status_code == 401 and "đăng nhập" in r.json()["error"]["message"].lower()
        assert client.get("/api/v1/auth/me", headers=officer).status_code == 401  # every other route: at once


def test_the_idle_timeout_still_ends_a_remembered_login(app, world, settings):
    with TestClient(app) as client:
        officer = api_login(client, "officer")
        assert client.get("/api/v1/health/summary", headers=officer).status_code == 200
        app.state.now += timedelta(minutes=settings.session_idle_minutes, seconds=1)
        assert client.get("/api/v1/health/summary", headers=officer).status_code == 401


def test_copies_expire_and_a_write_through_the_api_refreshes_them(app, world, engine, settings):
    clock = app.state.answers.clock
    with TestClient(app) as client:
        admin = api_login(client, "admin")
        summary = client.get("/api/v1/health/summary", headers=admin).json()
        assert summary["counts"] == {"online": 3, "offline": 1}
        listed = client.get("/api/v1/cameras", params={"status": "offline"}, headers=admin).json()
        assert [c["code"] for c in listed["items"]] == ["HP1"]
        with engine.begin() as conn:  # the monitor (another process) saw a camera go down
            conn.execute(update(Camera).where(Camera.code == "HP0").values(status=CameraStatus.offline))
        assert client.get("/api/v1/health/summary", headers=admin).json() == summary  # the copy, still young
        clock.now += settings.api_read_cache_s
        assert client.get("/api/v1/health/summary", headers=admin).json()["counts"] == {"online": 2, "offline": 2}
        listed = client.get("/api/v1/cameras", params={"status": "offline"}, headers=admin).json()
        assert [c["code"] for c in listed["items"]] == ["HP0", "HP1"]
        # a change made through this API process is seen by the very next read
        camera_id = listed["items"][0]["id"]
        r = client.post(f"/api/v1/health/cameras/{camera_id}/maintenance", json={"on": True}, headers=admin)
        assert r.status_code == 200, r.text
        assert client.get("/api/v1/health/summary", headers=admin).json()["counts"] == {
            "online": 2, "offline": 1, "maintenance": 1}
        listed = client.get("/api/v1/cameras", params={"status": "offline"}, headers=admin).json()
        assert client.get(f"/api/v1/cameras/{camera_id}", headers=admin).json()["lifecycle"] == "maintenance"


def test_copies_are_kept_per_scope(app, world, session):
    other = make_commune(session, hamlets=1)
    make_user(session, Role.commune_police, [other.commune], username="elsewhere")
    session.commit()
    with TestClient(app) as client:
        admin, elsewhere = api_login(client, "admin"), api_login(client, "elsewhere")
        assert client.get("/api/v1/cameras", headers=admin).json()["total"] == 4
        assert client.get("/api/v1/cameras", headers=elsewhere).json() == {
            "items": [], "total": 0, "limit": 100, "offset": 0}
        assert client.get("/api/v1/health/summary", headers=admin).json()["total"] == 4
        assert client.get("/api/v1/health/summary", headers=elsewhere).json()["total"] == 0
