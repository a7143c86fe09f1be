"""Holes found in the attacker's review of 2026-12-07 (remembered logins, hot-read copies): each
test failed before its fix. Real API through TestClient, real database; clocks injected."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

import api.deps
from api.app import create_app
from storage.models import Camera, CameraStatus, Lifecycle, Role
from camera_ops.security import encrypt_secret
from tests.factories import api_login, make_commune, make_user
from tests.integration.test_api_hot_paths import Clock

pytestmark = pytest.mark.db


@pytest.fixture
def world(session, settings):
    commune = make_commune(session, hamlets=2)
    for i, hamlet in enumerate(commune.hamlets * 3):
        session.add(Camera(code=f"RV{i}", name=f"Cổng chợ số {i} " + "x" * 180, area_id=hamlet.id,
                           host=f"10.0.1.{i + 1}", username="admin", password_encrypted=encrypt_secret("pw", settings),
                           status=CameraStatus.online, lifecycle=Lifecycle.active, status_reasons=[]))
    make_user(session, Role.admin, username="admin")
    make_user(session, Role.commune_police, [commune.commune], username="officer")
    session.commit()
    return commune


@pytest.fixture
def app(settings, engine):
    app = create_app(settings, engine=engine)
    app.state.now = datetime.now(timezone.utc)
    app.state.clock = lambda: app.state.now
    app.state.answers.clock = Clock()
    return app


def _wait_until(condition, seconds: float = 10.0, *, required: bool = True) -> None:
    done = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        done.wait(0.01)
    if required:
        raise AssertionError("condition not reached")


def test_a_background_login_check_that_read_before_logout_does_not_bring_the_login_back(
        app, world, settings, monkeypatch):
    """A remembered login past half its time is checked again in the background. If that check read
    the database before a logout in this process and answers after it, it must not put the ended
    login back: a logout stops the token at once in-process (not 2 s later)."""
    real = api.deps.principal_for_token
    armed, read_done, release = threading.Event(), threading.Event(), threading.Event()

    def slow_lookup(*args, **kwargs):
        principal = real(*args, **kwargs)
        if armed.is_set():
            armed.clear()
            read_done.set()
            assert release.wait(10)
        return principal

    monkeypatch.setattr(api.deps, "principal_for_token", slow_lookup)
    with TestClient(app) as client:
        officer = api_login(client, "officer")
        assert client.get("/api/v1/cameras", headers=officer).status_code == 200
        app.state.now += timedelta(seconds=settings.api_session_check_s * 0.75)  # ageing: checked in background
        armed.set()
        assert client.get("/api/v1/cameras", headers=officer).status_code == 200
        assert read_done.wait(10)  # the background check read the open session
        assert client.post("/api/v1/auth/logout", headers=officer).status_code == 200
        release.set()
        _wait_until(lambda: not app.state.principal_lookups)
        r = client.get("/api/v1/cameras", headers=officer)
        assert r.status_code == 401
        assert client.get("/api/v1/health/summary", headers=officer).status_code == 401


def test_a_request_after_logout_does_not_join_a_login_check_started_before_it(app, world, settings, monkeypatch):
    """The same race through the first check of a token: a request arriving after the logout must
    not share the answer of a check that read the database before it."""
    real = api.deps.principal_for_token
    armed, read_done, release = threading.Event(), threading.Event(), threading.Event()

    def slow_lookup(*args, **kwargs):
        principal = real(*args, **kwargs)
        if armed.is_set():
            armed.clear()
            read_done.set()
            assert release.wait(10)
        return principal

    monkeypatch.setattr(api.deps, "principal_for_token", slow_lookup)
    with TestClient(app) as client:
        officer = api_login(client, "officer")
        armed.set()
        first: dict[str, int] = {}
        early = threading.Thread(target=lambda: first.setdefault(
            "status", client.get("/api/v1/cameras", headers=officer).status_code))
        early.start()
        assert read_done.wait(10)
        assert client.post("/api/v1/auth/logout", headers=officer).status_code == 200
        late: dict[str, int] = {}
        after = threading.Thread(target=lambda: late.setdefault(
            "status", client.get("/api/v1/cameras", headers=officer).status_code))
        after.start()
        # fixed: the late request makes a check of its own and is refused; before, it waited on the early one
        _wait_until(lambda: "status" in late, 3, required=False)
        release.set()
        early.join(10)
        after.join(10)
        assert first["status"] == 200  # asked before the logout answered
        assert late["status"] == 401
        assert client.get("/api/v1/cameras", headers=officer).status_code == 401


def test_distinct_queries_cannot_grow_the_copies_past_their_byte_bound(app, world):
    """One logged-in reader asking pages with ever new query strings (q, limit, offset) must not make
    the process keep thousands of large copies (MAX_KEYS alone let 4,096 pages of up to 1,000 cameras
    each stay in memory: gigabytes on a province). Copies are bounded in bytes, keys counted too."""
    answers = app.state.answers
    answers.max_bytes = 64_000
    with TestClient(app) as client:
        officer = api_login(client, "officer")
        for n in range(1, 120):
            r = client.get("/api/v1/cameras", params={"q": "x" * n, "limit": 1000}, headers=officer)
            assert r.status_code == 200 and r.json()["total"] == 6
            assert answers.size_bytes <= 64_000
        long_q = "x" * 150 + "y" * 20_000  # a long query string is counted in its key
        for n in range(10):
            r = client.get("/api/v1/cameras", params={"q": long_q + str(n)}, headers=officer)
            assert r.status_code == 200 and r.json()["total"] == 0
            assert answers.size_bytes <= 64_000
        # still answered from copies when they fit
        first = client.get("/api/v1/health/summary", headers=officer).content
        assert client.get("/api/v1/health/summary", headers=officer).content == first
        assert answers.size_bytes <= 64_000


def test_a_change_made_on_the_web_pages_is_seen_by_the_next_api_read(app, world, settings):
    """Checked sound (a regression guard): a form post on the web pages drops the copies as an API
    write does, and the cookie login is remembered and forgotten like the bearer one."""
    from tests.factories import web_login
    from tests.integration.test_web_pages import csrf

    with TestClient(app) as client:
        admin = api_login(client, "admin")
        listed = client.get("/api/v1/cameras", params={"lifecycle": "retired"}, headers=admin).json()
        assert listed["total"] == 0
        summary = client.get("/api/v1/health/summary", headers=admin).json()
        camera_id = client.get("/api/v1/cameras", headers=admin).json()["items"][0]["id"]
        web_login(client, "admin")
        token = csrf(client, f"/cameras/{camera_id}")
        r = client.post(f"/cameras/{camera_id}/retire", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        client.cookies.clear()
        listed = client.get("/api/v1/cameras", params={"lifecycle": "retired"}, headers=admin).json()
        assert [c["id"] for c in listed["items"]] == [camera_id]
        assert client.get("/api/v1/health/summary", headers=admin).json() != summary
