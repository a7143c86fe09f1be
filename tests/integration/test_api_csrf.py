"""Finding 2 of issue 12: the login cookie on the JSON API. An unsafe call authenticated by the
cookie needs the session's CSRF token in ``X-CSRF-Token`` and a same-origin ``Origin`` (or
``Referer``); bearer-token calls are unaffected; GETs and the web forms keep working."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.deps import TOKEN_COOKIE
from api.web.csrf import csrf_token
from storage.models import Camera, Role
from tests.factories import api_login, make_commune, make_user, web_login

pytestmark = pytest.mark.db
ORIGIN = "http://testserver"  # TestClient's own origin
OTHER_PORT = "http://testserver:8081"  # same host, another port: SameSite counts it as the same site


@pytest.fixture
def world(session):
    commune = make_commune(session, prefix="CS")
    make_user(session, Role.admin, username="admin")
    session.commit()
    return commune


def camera_body(hamlet_id: int, code: str = "CSRF-1") -> dict:
    return {"code": code, "name": "Cổng", "area_id": hamlet_id, "host": "192.168.1.64", "username": "admin",
            "password": "top-secret-9", "pending": True}


def cookie_headers(client: TestClient, settings, origin: str | None = ORIGIN, token: bool = True) -> dict:
    headers = {}
    if token:
        headers["X-CSRF-Token"] = csrf_token(client.cookies[TOKEN_COOKIE], settings.jwt_key)
    if origin:
        headers["Origin"] = origin
    return headers


def cameras(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Camera))


@pytest.mark.parametrize("origin, token", [
    (None, False),  # the attack as reported: the cookie alone
    (ORIGIN, False),  # right origin, no token
    (OTHER_PORT, True),  # a stolen token from another origin still fails
    (None, True),  # the token without any Origin/Referer
    ("null", True),  # sandboxed iframes / file pages send Origin: null
])
def test_cookie_api_post_without_token_or_from_another_origin_is_refused_and_changes_nothing(
        client, world, session, settings, origin, token):
    web_login(client, "admin")
    r = client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id),
                    headers=cookie_headers(client, settings, origin=origin, token=token))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "csrf_failed"
    assert "X-CSRF-Token" in r.json()["error"]["message"]
    assert cameras(session) == 0


def test_cookie_api_post_with_token_and_same_origin_is_accepted(client, world, session, settings):
    web_login(client, "admin")
    r = client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id), headers=cookie_headers(client, settings))
    assert r.status_code == 201, r.text
    assert cameras(session) == 1


def test_referer_stands_in_for_a_missing_origin(client, world, session, settings):
    web_login(client, "admin")
    headers = cookie_headers(client, settings, origin=None) | {"Referer": f"{ORIGIN}/cameras"}
    assert client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id), headers=headers).status_code == 201
    headers["Referer"] = f"{OTHER_PORT}/evil"
    r = client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id, "CSRF-2"), headers=headers)
    assert r.status_code == 403


def test_the_token_of_another_session_does_not_fit(client, world, settings):
    web_login(client, "admin")
    headers = cookie_headers(client, settings) | {"X-CSRF-Token": csrf_token("someone-elses-login", settings.jwt_key)}
    assert client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id), headers=headers).status_code == 403


def test_cookie_csv_import_and_case_close_need_the_token_too(client, world, session, settings):
    web_login(client, "admin")
    csv = f"code,name,hamlet_code,host,username,password\nIMP-1,A,{world.hamlets[0].code},10.0.0.9,u,p\n"
    r = client.post("/api/v1/cameras/import", files={"file": ("c.csv", csv.encode(), "text/csv")},
                    headers={"Origin": OTHER_PORT})
    assert r.status_code == 403 and cameras(session) == 0
    r = client.post("/api/v1/cases/1/close", headers={"Origin": OTHER_PORT})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"


def test_cookie_reads_need_no_token(client, world):
    web_login(client, "admin")
    assert client.get("/api/v1/cameras").status_code == 200


def test_bearer_calls_are_unaffected_even_with_a_foreign_origin(client, world, session):
    headers = api_login(client, "admin") | {"Origin": OTHER_PORT}
    assert client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id), headers=headers).status_code == 201


def test_the_refusal_speaks_english_when_asked(client, world, settings):
    web_login(client, "admin")
    r = client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id), headers={"Accept-Language": "en-GB,en"})
    assert r.json()["error"]["message"].startswith("Refused")
    r = client.post("/api/v1/cameras", json=camera_body(world.hamlets[0].id))
    assert r.json()["error"]["message"].startswith("Yêu cầu bị từ chối")


def test_pages_carry_the_token_for_their_own_scripts(client, world, settings):
    web_login(client, "admin")
    page = client.get("/cameras").text
    assert f'<meta name="csrf-token" content="{csrf_token(client.cookies[TOKEN_COOKIE], settings.jwt_key)}">' in page
