"""The HTTP API over the real database: auth, scoping, error shape, secrets."""

from __future__ import annotations

import pytest

from tests.factories import api_login as login, make_commune, make_user
from storage.models import Role

pytestmark = pytest.mark.db


@pytest.fixture
def world(session):
    a = make_commune(session, prefix="XA")
    b = make_commune(session, province=a.province, prefix="XB")
    users = {
        "admin": make_user(session, Role.admin, username="admin"),
        "police_a": make_user(session, Role.commune_police, [a.commune], username="police_a"),
        "police_b": make_user(session, Role.commune_police, [b.commune], username="police_b"),
        "officer_a": make_user(session, Role.officer, [a.commune], username="officer_a"),
    }
    session.commit()
    return {"a": a, "b": b, "users": users}


def new_camera(client, headers, hamlet_id, code="CAM-A1", **extra):
    body = {"code": code, "name": "Cổng thôn", "area_id": hamlet_id, "host": "192.168.1.64", "username": "admin",
            "password": "top-secret-9", "pending": True, "latitude": 21.0, "longitude": 105.8}
    body.update(extra)
    return client.post("/api/v1/cameras", json=body, headers=headers)


def test_anonymous_requests_get_401_with_the_error_shape(client, world):
    for path in ("/api/v1/cameras", "/api/v1/areas", "/api/v1/donors", "/api/v1/models", "/api/v1/users"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "not_authenticated"


def test_wrong_password_login_is_refused_without_saying_which_part(client, world):
    r = client.post("/api/v1/auth/token", data={"username": "police_a", "password": "nope-nope"})
    assert r.status_code == 401 and r.json()["error"]["message"] == "Sai tên đăng nhập hoặc mật khẩu"
    r = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "nope-nope"},
                    headers={"Accept-Language": "en"})
    assert r.json()["error"]["message"] == "Wrong username or password"


def test_commune_police_cannot_read_or_change_another_communes_cameras(client, world):
    ha = login(client, "police_a")
    hb = login(client, "police_b")
    r = new_camera(client, ha, world["a"].hamlets[0].id)
    assert r.status_code == 201, r.text
    cam_id = r.json()["camera"]["id"]
    # B cannot see it in the list, cannot open it, cannot change it, cannot move it
    assert client.get("/api/v1/cameras", headers=hb).json()["total"] == 0
    assert client.get(f"/api/v1/cameras/{cam_id}", headers=hb).status_code == 404
    assert client.patch(f"/api/v1/cameras/{cam_id}", json={"name": "hijack"}, headers=hb).status_code == 404
    assert client.post(f"/api/v1/cameras/{cam_id}/lifecycle", json={"lifecycle": "retired"}, headers=hb).status_code == 404
    # B cannot register a camera into A's hamlet, nor move its own camera there
    r = new_camera(client, hb, world["a"].hamlets[0].id, code="CAM-B1")
    assert r.status_code == 422 and r.json()["error"]["field"] == "area_id"
    # A still sees its camera unchanged
    got = client.get(f"/api/v1/cameras/{cam_id}", headers=ha).json()
    assert got["name"] == "Cổng thôn" and got["lifecycle"] == "active"


def test_area_listing_is_scoped_but_shows_ancestors(client, world):
    ha = login(client, "police_a")
    codes = {a["code"] for a in client.get("/api/v1/areas?limit=1000", headers=ha).json()["items"]}
    assert world["a"].commune.code in codes and world["a"].province.code in codes
    assert world["b"].commune.code not in codes
    assert client.get(f"/api/v1/areas/{world['b'].commune.id}", headers=ha).status_code == 404


def test_roles_are_enforced(client, world):
    ho = login(client, "officer_a")
    r = new_camera(client, ho, world["a"].hamlets[0].id)
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    r = client.post("/api/v1/areas", json={"kind": "hamlet", "code": "Z", "name": "z",
                                           "parent_id": world["a"].commune.id}, headers=login(client, "police_a"))
    assert r.status_code == 403


def test_unknown_json_fields_are_rejected(client, world):
    ha = login(client, "police_a")
    r = new_camera(client, ha, world["a"].hamlets[0].id, colour="red")
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "validation_failed" and body["field"] == "colour"


def test_password_is_never_returned(client, world):
    ha = login(client, "police_a")
    r = new_camera(client, ha, world["a"].hamlets[0].id)
    cam_id = r.json()["camera"]["id"]
    for text in (r.text, client.get(f"/api/v1/cameras/{cam_id}", headers=ha).text,
                 client.get("/api/v1/cameras", headers=ha).text,
                 client.patch(f"/api/v1/cameras/{cam_id}", json={"password": "new-secret-7"}, headers=ha).text):
        assert "top-secret-9" not in text and "new-secret-7" not in text and "password" not in text


def test_filters_and_pagination(client, world):
    ha = login(client, "police_a")
    for i in range(5):
        assert new_camera(client, ha, world["a"].hamlets[i % 2].id, code=f"K{i}", name=f"cam {i}").status_code == 201
    page = client.get(f"/api/v1/cameras?area_id={world['a'].hamlets[0].id}&limit=2", headers=ha).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    page2 = client.get(f"/api/v1/cameras?area_id={world['a'].hamlets[0].id}&limit=2&offset=2", headers=ha).json()
    assert len(page2["items"]) == 1
    assert client.get("/api/v1/cameras?q=cam 3", headers=ha).json()["total"] == 1
    assert client.get("/api/v1/cameras?status=offline", headers=ha).json()["total"] == 0
    r = client.get("/api/v1/cameras?status=exploded", headers=ha)
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"


def test_donors_and_dossiers_round_trip(client, world):
    ha = login(client, "police_a")
    commune = world["a"].commune.id
    d = client.post("/api/v1/donors", json={"area_id": commune, "kind": "business", "name": "Công ty Hòa Phát"},
                    headers=ha)
    assert d.status_code == 201, d.text
    m = client.post("/api/v1/models", json={
        "area_id": commune, "name": "Mô hình Camera an ninh xã A", "decision_number": "123/QĐ-UBND",
        "decision_date": "2025-03-01", "managing_unit": "Công an xã A",
        "members": [{"name": "Trần Văn B", "role": "Tổ trưởng", "phone": "0912345678"}]}, headers=ha)
    assert m.status_code == 201, m.text
    mid = m.json()["id"]
    r = client.post(f"/api/v1/models/{mid}/reviews", json={"review_date": "2025-09-01", "kind": "interim",
                                                           "findings": "Hoạt động tốt", "verdict": "replicate"}, headers=ha)
    assert r.status_code == 201
    r = client.post(f"/api/v1/models/{mid}/end", json={"ended_on": "2026-03-01", "reason": "Sáp nhập xã"}, headers=ha)
    assert r.json()["status"] == "ended"
    r = client.post(f"/api/v1/models/{mid}/reviews", json={"review_date": "2026-09-01", "kind": "final",
                                                           "findings": "x", "verdict": "end"}, headers=ha)
    assert r.status_code == 422
    hb = login(client, "police_b")
    assert client.get(f"/api/v1/models/{mid}", headers=hb).status_code == 404


def test_csv_import_through_the_api(client, world):
    ha = login(client, "police_a")
    h = world["a"].hamlets[0].code
    csv_text = f"code,name,hamlet_code,host,username,password\nI1,a,{h},10.0.0.1,admin,pw\nI2,b,{world['b'].hamlets[0].code},10.0.0.2,admin,pw\n"
    r = client.post("/api/v1/cameras/import", files={"file": ("c.csv", csv_text.encode(), "text/csv")}, headers=ha)
    assert r.status_code == 200, r.text
    assert [row["outcome"] for row in r.json()["rows"]] == ["created", "error"]  # B's hamlet is unknown to A


def test_openapi_is_complete(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/cameras", "/api/v1/cameras/{camera_id}/handshake", "/api/v1/areas/{area_id}/merge",
                 "/api/v1/models/{model_id}/reviews", "/api/v1/cameras/import", "/api/v1/auth/token"):
        assert path in spec["paths"]
