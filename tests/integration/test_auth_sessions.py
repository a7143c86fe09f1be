"""Issue 12 findings 3 and 4: safe development secrets, login throttling, server-side sessions."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from api.app import create_app
from camera_ops.errors import ValidationFailed
from camera_ops.passwords import check_password
from camera_ops.registry.sessions import lockout_s
from storage.models import Role
from storage.models_security import AuditEvent
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.db


@pytest.fixture
def users(session):
    made = {"admin": make_user(session, Role.admin, username="admin")}
    session.commit()
    return made


def test_a_token_forged_with_the_old_development_constant_is_refused(client, users):
    """Finding 4: without configuration, tokens were signed with a key anyone could compute from the
    source; a forged admin token got 200 on /api/v1/users."""
    old_constant = hashlib.sha256(b"camera-ops-development-jwt").hexdigest()
    now = datetime.now(timezone.utc)
    forged = jwt.encode({"sub": str(users["admin"].id), "iat": now, "exp": now + timedelta(hours=1)}, old_constant,
                        algorithm="HS256")
    r = client.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    r = client.get("/api/v1/users", cookies={"camera_ops_token": forged})
    assert r.status_code == 401


# --- helpers -------------------------------------------------------------------------------------


class Clock:
    """The app's injected clock: tests move time, never sleep."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def world(session):
    from tests.factories import make_commune

    commune = make_commune(session, prefix="SS")
    made = {
        "admin": make_user(session, Role.admin, username="admin"),
        "police": make_user(session, Role.commune_police, [commune.commune], username="police"),
        "other": make_user(session, Role.commune_police, [commune.commune], username="other"),
    }
    session.commit()
    return made


@pytest.fixture
def clocked(engine, settings) -> Iterator[tuple[TestClient, Clock]]:
    clock = Clock()
    app = create_app(settings, engine=engine)
    app.state.clock = clock
    with TestClient(app) as c:
        yield c, clock


def token_for(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def bearer(response: Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- throttling (finding 3: 40 wrong passwords in 21 s, then success) ------------------------------


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0), (5, 0), (6, 30), (7, 60), (8, 120), (10, 480), (11, 900),
                                                    (40, 900)])
def test_lockout_grows_after_the_free_failures_up_to_the_maximum(failures, seconds):
    assert lockout_s(failures, free=5, first_s=30, max_s=900) == seconds


def test_a_username_is_locked_with_growing_delays_then_unlocked(clocked, world, session, caplog):
    client, clock = clocked
    for _ in range(5):
        assert token_for(client, "police", "wrong-password-1").status_code == 401
    with caplog.at_level(logging.WARNING, logger="camera_ops.registry.sessions"):
        assert token_for(client, "police", "wrong-password-1").status_code == 401  # the 6th: locks 30 s
    assert "SECURITY ALERT" in caplog.text and "police" in caplog.text
    locked = token_for(client, "police")  # even the right password waits
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "30"
    assert locked.json()["error"]["code"] == "too_many_attempts"
    clock.advance(seconds=31)
    assert token_for(client, "police", "wrong-password-1").status_code == 401  # 7th: 60 s now
    assert token_for(client, "police").headers["Retry-After"] == "60"
    clock.advance(seconds=61)
    assert token_for(client, "police").status_code == 200
    clock.advance(seconds=1)
    assert token_for(client, "police", "wrong-password-1").status_code == 401  # counting starts again
    assert token_for(client, "police").status_code == 200
    assert token_for(client, "other").status_code == 200  # another username is not affected
    session.expire_all()
    events = {e.action for e in session.scalars(select(AuditEvent))}
    session.commit()
    assert {"login.failed", "login.locked"} <= events


def test_one_address_guessing_many_usernames_is_locked(clocked, world):
    client, _ = clocked
    for i in range(20):
        assert token_for(client, f"guess{i}", "wrong-password-1").status_code == 401
    assert token_for(client, "guess-x", "wrong-password-1").status_code == 401  # the 21st locks the address
    refused = token_for(client, "police")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_the_login_page_shows_the_lockout_in_vietnamese(clocked, world):
    client, _ = clocked
    for _ in range(6):
        client.post("/login", data={"username": "police", "password": "wrong-password-1"})
    page = client.post("/login", data={"username": "police", "password": PASSWORD})
    assert page.status_code == 429 and "Đăng nhập sai quá nhiều lần" in page.text
    assert page.headers["Retry-After"] == "30"


def test_an_unknown_username_costs_one_password_verification_like_a_known_one(clocked, world, monkeypatch):
    """Finding 3: 507 ms for an existing user vs 58 ms for a missing one. Both now verify once."""
    from camera_ops import security

    client, _ = clocked
    calls = []

    class Counting:
        def __init__(self, real):
            self.real = real

        def hash(self, password):
            return self.real.hash(password)

        def verify(self, password_hash, password):
            calls.append(password_hash)
            return self.real.verify(password_hash, password)

    monkeypatch.setattr(security, "_hasher", Counting(security._hasher))
    token_for(client, "police", "wrong-password-1")
    token_for(client, "nobody-here", "wrong-password-1")
    assert len(calls) == 2 and calls[0] != calls[1]  # the real hash, then the dummy one


# --- password policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(("password", "rule"), [
    ("short-pw", "min_length"), ("1234567890", "common"), ("qwertyuiop", "common"), ("matkhau123", "common"),
    ("Password123", "common"), ("newofficer", "username"), ("x" * 201, "max_length"),
])
def test_weak_passwords_are_refused_naming_the_rule(password, rule):
    with pytest.raises(ValidationFailed) as info:
        check_password(password, username="newofficer")
    assert info.value.field == "password" and info.value.details["rule"] == rule


def test_creating_a_user_with_a_common_password_is_refused(clocked, world):
    client, _ = clocked
    admin = bearer(token_for(client, "admin"))
    r = client.post("/api/v1/users", headers=admin, json={
        "username": "moi", "password": "1234567890", "full_name": "Mới", "role": "admin"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
    r = client.post("/api/v1/users", headers=admin, json={
        "username": "moi", "password": "Cổng-làng-2026", "full_name": "Mới", "role": "admin"})
    assert r.status_code == 201, r.text


# --- server-side sessions -------------------------------------------------------------------------


def test_logout_ends_every_token_of_the_user_at_once(clocked, world):
    """Finding 3: logout only deleted the cookie; the same token worked for 8 more hours."""
    client, _ = clocked
    laptop, phone = bearer(token_for(client, "police")), bearer(token_for(client, "police"))
    assert client.get("/api/v1/auth/me", headers=phone).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=laptop).json() == {"ended": 2}
    assert client.get("/api/v1/auth/me", headers=laptop).status_code == 401
    assert client.get("/api/v1/auth/me", headers=phone).status_code == 401


def test_web_logout_ends_the_token_on_the_server(clocked, world):
    client, _ = clocked
    r = client.post("/login", data={"username": "police", "password": PASSWORD}, follow_redirects=False)
    token = r.cookies.get("camera_ops_token") or client.cookies.get("camera_ops_token")
    page = client.get("/account/password").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_password_change_disable_and_role_change_end_the_users_tokens(clocked, world):
    client, _ = clocked
    admin = bearer(token_for(client, "admin"))
    old = bearer(token_for(client, "police"))
    changed = client.post("/api/v1/auth/password", headers=old,
                          json={"current_password": PASSWORD, "new_password": "Cầu-tre-mùa-mưa-9"})
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/auth/me", headers=old).status_code == 401
    fresh = bearer(changed)
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    other = bearer(token_for(client, "other"))
    police_id = client.get("/api/v1/auth/me", headers=fresh).json()["id"]
    other_id = client.get("/api/v1/auth/me", headers=other).json()["id"]
    assert client.patch(f"/api/v1/users/{police_id}", headers=admin, json={"is_active": False}).status_code == 200
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 401
    assert client.patch(f"/api/v1/users/{other_id}", headers=admin, json={"role": "manager"}).status_code == 200
    assert client.get("/api/v1/auth/me", headers=other).status_code == 401
    assert client.get("/api/v1/auth/me", headers=admin).status_code == 200  # nobody else is affected


def test_a_login_left_unused_ends_after_the_idle_timeout(clocked, world, settings):
    client, clock = clocked
    police = bearer(token_for(client, "police"))
    for _ in range(4):  # in use: kept alive well past one idle period
        clock.advance(minutes=settings.session_idle_minutes - 1)
        assert client.get("/api/v1/auth/me", headers=police).status_code == 200
    clock.advance(minutes=settings.session_idle_minutes + 1)
    r = client.get("/api/v1/auth/me", headers=police)
    assert r.status_code == 401 and "lâu không sử dụng" in r.json()["error"]["message"]


def test_a_token_past_its_lifetime_is_refused_even_if_used(clocked, world, settings):
    client, clock = clocked
    police = bearer(token_for(client, "police"))
    for _ in range(settings.access_token_minutes // 20 + 1):
        clock.advance(minutes=20)
        last = client.get("/api/v1/auth/me", headers=police)
    assert last.status_code == 401
