"""Finding 8 of issue 12: security headers on every response, no inline script in the pages, and
forwarded headers believed only from configured proxies (through a real uvicorn server)."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.web.context import TEMPLATES_DIR
from storage.models import Role
from storage.models_evidence import CustodyEvent
from tests.factories import PASSWORD, make_commune, make_user, web_login
from tests.live_server import running_server

FORGED = "203.0.113.66"  # TEST-NET-3: an address nobody here has


def csp_directives(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.mark.db
@pytest.mark.parametrize("path", ["/login", "/cameras", "/api/v1/cameras", "/api/v1/nothing-here", "/static/app.css",
                                  "/healthz", "/api/v1/openapi.json"])
def test_every_response_carries_the_security_headers(client, session, path):
    make_user(session, Role.admin, username="admin")
    session.commit()
    web_login(client, "admin")
    r = client.get(path)
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    csp = csp_directives(r)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["script-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert "strict-transport-security" not in r.headers  # development over plain HTTP


def test_hsts_in_production(engine, tmp_path):
    from camera_ops.settings import Settings

    settings = Settings(environment="production", data_dir=tmp_path, database_url="sqlite://", _env_file=None,
                        secret_key=secrets.token_urlsafe(48), credentials_key=Fernet.generate_key().decode())  # type: ignore[call-arg]
    with TestClient(create_app(settings, engine=engine)) as c:
        r = c.get("/healthz")
    assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_the_api_docs_page_allows_its_one_inline_script_by_hash_only(client):
    r = client.get("/api/v1/docs")
    csp = csp_directives(r)
    assert "'unsafe-inline'" not in csp["script-src"] and "'sha256-" in csp["script-src"]
    assert csp["frame-ancestors"] == "'none'"


def test_tile_server_is_allowed_for_images_only(engine, settings):
    settings = settings.model_copy(update={"tile_url": "https://{s}.tile.example.org/{z}/{x}/{y}.png"})
    with TestClient(create_app(settings, engine=engine)) as c:
        csp = csp_directives(c.get("/healthz"))
    assert "https://*.tile.example.org" in csp["img-src"] and "example" not in csp["script-src"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def test_templates_have_no_inline_script_or_event_handler():
    offenders = []
    for template in sorted(TEMPLATES_DIR.glob("*.html")):
        text = template.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text) or "javascript:" in text:
            offenders.append(template.name)
    assert offenders == []


def _case_opened_address(session) -> str | None:
    session.expire_all()
    return session.scalars(select(CustodyEvent.client_address).where(CustodyEvent.event_type == "case_opened")).one()


def _open_case_through(url: str, username: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        token = http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
        r = http.post("/api/v1/cases", json={"number": "7/2026/VA", "title": "Trộm", "legal_basis": "QĐ 7"},
                      headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": FORGED,
                               "X-Forwarded-Proto": "https"})
        assert r.status_code == 201, r.text


@pytest.mark.db
def test_forged_x_forwarded_for_never_reaches_the_custody_ledger_by_default(engine, session, settings):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, [commune.commune])
    officer.unit = "Đội CSĐT"
    session.commit()
    assert settings.trusted_proxies == []
    with running_server(create_app(settings, engine=engine), settings) as url:
        _open_case_through(url, officer.username)
    assert _case_opened_address(session) == "127.0.0.1"


@pytest.mark.db
def test_a_configured_proxy_is_believed(engine, session, settings):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, [commune.commune])
    officer.unit = "Đội CSĐT"
    session.commit()
    settings = settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]})
    with running_server(create_app(settings, engine=engine), settings) as url:
        _open_case_through(url, officer.username)
    assert _case_opened_address(session) == FORGED
