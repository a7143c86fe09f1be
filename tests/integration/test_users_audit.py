"""Issue 12 findings 3 (users could only be managed in the database) and 9 (no record of who
changed a camera's host or password, administered users, or was refused)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from camera_ops.security import encrypt_secret
from storage.models import Camera, Role
from tests.factories import PASSWORD, api_login, make_commune, make_user, web_login

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="UA")
    b = make_commune(session, province=a.province, prefix="UB")
    users = {
        "admin": make_user(session, Role.admin, username="admin"),
        "police": make_user(session, Role.commune_police, [a.commune], username="police"),
        "officer": make_user(session, Role.officer, [a.commune], username="officer"),
        "auditor": make_user(session, Role.auditor, [a.commune], username="auditor"),
    }
    camera = Camera(code="UA-1", name="Cổng", area_id=a.hamlets[0].id, host="192.168.5.10", username="admin",
                    password_encrypted=encrypt_secret("cam-secret-77", settings), status_reasons=[])
    session.add(camera)
    session.commit()
    return {"a": a, "b": b, "users": users, "camera": camera}


def _csrf(client: TestClient, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def test_admin_manages_users_through_the_api(client, world):
    admin = api_login(client, "admin")
    a, b = world["a"], world["b"]
    r = client.post("/api/v1/users", headers=admin, json={
        "username": "Canbo.Moi", "password": "Sông-Hồng-2026", "full_name": "Cán bộ mới", "role": "commune_police",
        "area_ids": [a.commune.id]})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["username"] == "canbo.moi" and "Sông-Hồng-2026" not in str(new) and "password_hash" not in new
    listed = client.get("/api/v1/users", headers=admin, params={"q": "canbo"}).json()
    assert [u["username"] for u in listed] == ["canbo.moi"]
    r = client.patch(f"/api/v1/users/{new['id']}", headers=admin, json={"role": "manager", "area_ids": [b.commune.id]})
    assert r.status_code == 200 and r.json()["role"] == "manager" and r.json()["areas"][0]["id"] == b.commune.id
    r = client.post(f"/api/v1/users/{new['id']}/reset-password", headers=admin, json={"new_password": "Tạm-thời-2026!"})
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    # at the next login: nothing but the password change
    temp = client.post("/api/v1/auth/token", data={"username": "canbo.moi", "password": "Tạm-thời-2026!"})
    headers = {"Authorization": f"Bearer {temp.json()['access_token']}"}
    refused = client.get("/api/v1/cameras", headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "password_change_required"
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    changed = client.post("/api/v1/auth/password", headers=headers,
                          json={"current_password": "Tạm-thời-2026!", "new_password": "Đồng-lúa-chín-88"})
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert client.get("/api/v1/cameras", headers=fresh).status_code == 200
    assert client.post(f"/api/v1/users/{new['id']}/end-sessions", headers=admin).json() == {"ended": 1}
    assert client.get("/api/v1/cameras", headers=fresh).status_code == 401
    r = client.patch(f"/api/v1/users/{new['id']}", headers=admin, json={"is_active": False})
    assert r.json()["is_active"] is False
    assert client.post("/api/v1/auth/token", data={"username": "canbo.moi", "password": "Đồng-lúa-chín-88"}).status_code == 401


def test_the_last_administrator_cannot_be_demoted_or_disabled(client, world):
    admin = api_login(client, "admin")
    me = client.get("/api/v1/auth/me", headers=admin).json()
    r = client.patch(f"/api/v1/users/{me['id']}", headers=admin, json={"is_active": False})
    assert r.status_code == 409 and r.json()["error"]["field"] == "role"


def test_only_administrators_manage_users(client, world):
    police = api_login(client, "police")
    assert client.get("/api/v1/users", headers=police).status_code == 403
    assert client.post(f"/api/v1/users/{world['users']['officer'].id}/reset-password", headers=police,
                       json={"new_password": "Tạm-thời-2026!"}).status_code == 403


def test_admin_manages_users_on_the_web_pages_in_vietnamese(client, world, session):
    web_login(client, "admin")
    page = client.get("/users")
    assert page.status_code == 200 and "Người dùng" in page.text and "police" in page.text
    token = CSRF.search(page.text).group(1)
    r = client.post("/users", data={"csrf_token": token, "username": "tuan", "full_name": "Lê Văn Tuấn",
                                    "password": "123456789a", "role": "officer",
                                    "area_ids": str(world["a"].commune.id)})
    assert r.status_code == 422 and "quá phổ biến" in r.text  # a common password, said in Vietnamese
    r = client.post("/users", data={"csrf_token": token, "username": "tuan", "full_name": "Lê Văn Tuấn",
                                    "password": "Núi-Bà-Đen-2026", "role": "officer", "must_change_password": "1",
                                    "area_ids": str(world["a"].commune.id)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    user_path = r.headers["location"].split("?")[0]
    page = client.get(user_path)
    assert "Lê Văn Tuấn" in page.text and "Phải đổi mật khẩu" in page.text
    token = CSRF.search(page.text).group(1)
    assert client.post(f"{user_path}/disable", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert "Đã khóa" in client.get(user_path).text
    assert client.post(f"{user_path}/reset-password", data={"csrf_token": token, "new_password": "Hạ-Long-xanh-99"},
                       follow_redirects=False).status_code == 303
    english = client.get(f"{user_path}?lang=en").text
    assert "Enable the account" in english


def test_a_user_whose_password_was_reset_is_led_to_the_change_form(client, world):
    admin = api_login(client, "admin")
    police_id = world["users"]["police"].id
    client.post(f"/api/v1/users/{police_id}/reset-password", headers=admin, json={"new_password": "Tạm-thời-2026!"})
    r = client.post("/login", data={"username": "police", "password": "Tạm-thời-2026!"}, follow_redirects=False)
    assert r.headers["location"] == "/account/password"
    assert client.get("/board", follow_redirects=False).headers["location"] == "/account/password"
    page = client.get("/account/password")
    assert "Quản trị viên đã đặt lại mật khẩu" in page.text
    token = CSRF.search(page.text).group(1)
    r = client.post("/account/password", data={"csrf_token": token, "current_password": "Tạm-thời-2026!",
                                               "new_password": "Mưa-phùn-Hà-Nội-1", "new_password_again": "Mưa-phùn-Hà-Nội-1"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert client.get("/board").status_code == 200


def test_camera_changes_user_administration_and_refusals_are_audited_without_secrets(client, world):
    admin, police, officer = (api_login(client, n) for n in ("admin", "police", "officer"))
    cam = world["camera"]
    assert client.patch(f"/api/v1/cameras/{cam.id}", headers=police,
                        json={"host": "192.168.5.11", "password": "cam-secret-88"}).status_code == 200
    assert client.patch(f"/api/v1/cameras/{cam.id}", headers=officer, json={"name": "x"}).status_code == 403
    assert client.patch(f"/api/v1/users/{world['users']['officer'].id}", headers=admin,
                        json={"role": "auditor"}).status_code == 200
    assert client.get("/api/v1/users", headers=police).status_code == 403
    log = client.get("/api/v1/audit", headers=admin).json()
    by_action = {}
    for e in log["items"]:
        by_action.setdefault(e["action"], []).append(e)
    update = by_action["camera.update"][0]
    assert update["actor_username"] == "police" and update["actor_role"] == "commune_police"
    assert update["client_address"] and update["changes"]["host"] == {"from": "192.168.5.10", "to": "192.168.5.11"}
    assert update["changes"]["password"] == {"changed": True}
    assert "cam-secret" not in str(log) and PASSWORD not in str(log)
    denied = {e["actor_username"]: e for e in by_action["access.denied"]}
    assert denied["officer"]["outcome"] == "denied" and "PATCH /api/v1/cameras" in denied["officer"]["target_id"]
    assert denied["police"]["target_id"] == "GET /api/v1/users"
    assert by_action["user.update"][0]["changes"]["role"] == {"from": "officer", "to": "auditor"}
    # filters
    only = client.get("/api/v1/audit", headers=admin, params={"actor": "police", "action": "camera."}).json()
    assert [e["action"] for e in only["items"]] == ["camera.update"]
    assert client.get("/api/v1/audit", headers=admin, params={"outcome": "denied"}).json()["total"] == 2
    # CSV export: Vietnamese headers, inert cells, no secrets
    exported = client.get("/api/v1/audit/export.csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Thời điểm" and len(rows) == log["total"] + 1
    assert "cam-secret" not in exported.text
    assert client.get("/api/v1/audit", headers=police).status_code == 403
    assert client.get("/api/v1/audit", headers=api_login(client, "auditor")).status_code == 200


def test_the_audit_page_filters_and_exports(client, world):
    admin = api_login(client, "admin")
    client.patch(f"/api/v1/cameras/{world['camera'].id}", headers=admin, json={"name": "=HYPERLINK(\"x\")"})
    web_login(client, "admin")
    page = client.get("/audit", params={"action": "camera."})
    assert page.status_code == 200 and "Nhật ký quản trị" in page.text and "camera.update" in page.text
    exported = client.get("/audit.csv", params={"action": "camera."})
    assert exported.status_code == 200 and "camera.update" in exported.text
    assert ",=HYPERLINK" not in exported.text  # a formula in a changed value stays inert
    web_login(client, "police")
    assert client.get("/audit").status_code == 403


def test_area_donor_and_dossier_changes_are_audited_from_the_api_and_the_pages(client, world):
    admin = api_login(client, "admin")
    hamlet = world["a"].hamlets[0]
    assert client.post(f"/api/v1/areas/{hamlet.id}/rename", headers=admin,
                       json={"name": "Tổ dân phố 9", "reason": "Nghị quyết 1/NQ"}).status_code == 200
    donor = client.post("/api/v1/donors", headers=admin, json={"area_id": world["a"].commune.id, "kind": "business",
                                                               "name": "Công ty An Phát"}).json()
    assert client.patch(f"/api/v1/donors/{donor['id']}", headers=admin, json={"phone": "0912000111"}).status_code == 200
    model = client.post("/api/v1/models", headers=admin, json={
        "area_id": world["a"].commune.id, "name": "Mô hình UA", "decision_number": "7/QĐ",
        "decision_date": "2026-01-02", "managing_unit": "Công an xã"}).json()
    assert client.post(f"/api/v1/models/{model['id']}/end", headers=admin,
                       json={"ended_on": "2026-06-01", "reason": "hết kinh phí"}).status_code == 200
    web_login(client, "admin")  # the same from the web pages: a new hamlet
    r = client.post("/areas", data={"kind": "hamlet", "parent_id": str(world["a"].commune.id), "code": "UA-T9",
                                    "name": "Thôn Mới", "csrf_token": _csrf(client, "/areas")}, follow_redirects=False)
    assert r.status_code == 303
    items = client.get("/api/v1/audit", headers=admin, params={"limit": 200}).json()["items"]
    by_action = {e["action"]: e for e in items}
    for action in ("area.rename", "donor.create", "donor.update", "dossier.create", "dossier.end", "area.create"):
        assert by_action[action]["actor_username"] == "admin", action
    rename = by_action["area.rename"]["changes"]
    assert rename["name"][1] == "Tổ dân phố 9" and rename["reason"] == "Nghị quyết 1/NQ"
    assert by_action["donor.update"]["changes"]["phone"] == [None, "0912000111"]
    assert by_action["dossier.end"]["changes"]["ended_on"] == "2026-06-01"
    assert by_action["area.create"]["target_label"] == "UA-T9"
