"""API errors carry a stable code, the field and message key for programs, and a message in the
language of ``Accept-Language`` (Vietnamese by default)."""

from __future__ import annotations

import pytest

from api.errors import accepted_lang
from storage.models import Role
from tests.factories import api_login, make_commune, make_user

pytestmark = pytest.mark.db


@pytest.mark.parametrize("header, lang", [
    (None, "vi"), ("", "vi"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("fr-FR, en;q=0.5", "en"),
    ("vi-VN,vi;q=0.9,en;q=0.8", "vi"), ("en;q=0.4, vi;q=0.8", "vi"), ("de", "vi"), ("en;q=0", "vi"),
])
def test_accept_language_picks_our_language_by_quality(header, lang):
    assert accepted_lang(header) == lang


def test_a_domain_error_is_rendered_in_the_requested_language(client, session):
    commune = make_commune(session)
    police = make_user(session, Role.commune_police, [commune.commune])
    session.commit()
    headers = api_login(client, police.username)
    body = {"code": "CAM-1", "name": "Cổng thôn", "area_id": commune.commune.id, "host": "127.0.0.1",
            "username": "admin", "password": "x", "pending": True}
    vi = client.post("/api/v1/cameras", json=body, headers=headers).json()["error"]
    assert vi["code"] == "validation_failed" and vi["field"] == "area_id"
    assert vi["message_key"] == "err.camera.needs_hamlet" and vi["message"].startswith("Camera được đăng ký tại thôn")
    en = client.post("/api/v1/cameras", json=body, headers={**headers, "Accept-Language": "en-GB,en;q=0.9"})
    assert en.json()["error"]["message"] == "Cameras are registered in a hamlet"


def test_a_request_validation_error_names_the_field_in_vietnamese(client, session):
    commune = make_commune(session)
    police = make_user(session, Role.commune_police, [commune.commune])
    session.commit()
    headers = api_login(client, police.username)
    r = client.post("/api/v1/cameras", json={"name": "Cổng thôn"}, headers=headers)
    error = r.json()["error"]
    assert r.status_code == 422 and error["code"] == "validation_failed" and error["field"]
    assert error["message_key"] == "err.field.required" and error["message"].startswith("Chưa nhập “")
    assert all(item["message"] for item in error["details"]["errors"])
    r = client.get("/api/v1/nowhere", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and r.json()["error"] == {
        "code": "not_found", "message": "Not found", "field": None, "message_key": None, "params": {},
        "details": {"detail": "Not Found"}}
