"""Finding 7 of issue 12, case by case (the fuzz run in test_api_fuzz.py covers the rest): integers
past 64 bits, explicit nulls, ``password: null``, oversized fields, and every status code declared."""

from __future__ import annotations

import pytest

from api.bounds import INT_MAX, INT_MIN
from api.schemas import MAX_TEXT_CHARS
from storage.models import Camera, Role
from tests.factories import api_login, make_commune, make_user, web_login

pytestmark = pytest.mark.db
BIG = INT_MAX + 1


@pytest.fixture
def world(session):
    commune = make_commune(session, prefix="FF")
    make_user(session, Role.admin, username="admin")
    session.commit()
    return commune


@pytest.fixture
def admin(client, world):
    return api_login(client, "admin")


@pytest.fixture
def camera_id(client, world, admin):
    body = {"code": "FF-1", "name": "Cổng", "area_id": world.hamlets[0].id, "host": "192.168.1.64",
            "username": "admin", "password": "top-secret-9", "pending": True, "note": "ghi chú"}
    r = client.post("/api/v1/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["camera"]["id"]


@pytest.mark.parametrize("method, url, field", [
    ("GET", f"/api/v1/cameras/{BIG}", "camera_id"),
    ("GET", f"/api/v1/cameras/{INT_MIN - 1}", "camera_id"),
    ("GET", f"/api/v1/cameras/{2**63}", "camera_id"),
    ("POST", f"/api/v1/cases/{BIG}/close", "case_id"),
    ("GET", f"/api/v1/cameras?area_id={BIG}", "area_id"),
    ("GET", f"/api/v1/health/problems?area_id={2**63}", "area_id"),
    ("GET", f"/api/v1/cameras?limit=10&donor_id={10**30}", "donor_id"),
    ("GET", f"/api/v1/areas/{BIG}", "area_id"),
])
def test_integers_past_the_column_range_in_paths_and_queries_are_a_422_naming_them(client, admin, method, url, field):
    r = client.request(method, url, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


@pytest.mark.parametrize("url, field", [("/api/v1/cameras?q=a%00b", "q"), ("/api/v1/areas?q=%00", "q"),
                                        ("/api/v1/donors?q=x%1B", "q")])
def test_control_characters_in_query_parameters_are_a_422(client, admin, url, field):
    """PostgreSQL refuses a NUL even in a search: it used to be a 500 there."""
    r = client.get(url, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_pages_refuse_them_too(client, admin):
    web_login(client, "admin")
    assert client.get("/cameras?q=a%00b").status_code == 422
    assert client.get(f"/cameras/{2**63}").status_code == 422


def test_a_search_text_of_digits_is_not_taken_for_a_number(client, admin):
    assert client.get(f"/api/v1/cameras?q={10**30}", headers=admin).status_code == 200


@pytest.mark.parametrize("body_field", ["area_id", "donor_id", "onvif_port"])
def test_integers_past_the_column_range_in_bodies_are_a_422_naming_them(client, world, admin, body_field):
    body = {"code": "FF-2", "name": "Cổng", "area_id": world.hamlets[0].id, "host": "192.168.1.64",
            "username": "admin", "password": "top-secret-9", "pending": True, body_field: BIG}
    r = client.post("/api/v1/cameras", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == body_field


@pytest.mark.parametrize("field", ["name", "host", "onvif_port", "username", "password", "watches"])
def test_explicit_null_for_a_required_column_is_a_422_not_a_500(client, admin, camera_id, session, field):
    r = client.patch(f"/api/v1/cameras/{camera_id}", json={field: None}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    session.expire_all()
    assert session.get(Camera, camera_id).name == "Cổng"


def test_explicit_null_still_clears_an_optional_field(client, admin, camera_id):
    r = client.patch(f"/api/v1/cameras/{camera_id}", json={"note": None}, headers=admin)
    assert r.status_code == 200 and r.json()["note"] is None


def test_explicit_nulls_in_donor_and_dossier_patches(client, world, admin):
    donor = client.post("/api/v1/donors", json={"area_id": world.commune.id, "kind": "household", "name": "A"},
                        headers=admin).json()
    assert client.patch(f"/api/v1/donors/{donor['id']}", json={"name": None}, headers=admin).status_code == 422
    model = client.post("/api/v1/models", headers=admin, json={
        "area_id": world.commune.id, "name": "Mô hình", "decision_number": "12/QĐ", "decision_date": "2026-01-02",
        "managing_unit": "Công an xã"})
    assert model.status_code == 201, model.text
    for field in ("decision_date", "members", "managing_unit"):
        r = client.patch(f"/api/v1/models/{model.json()['id']}", json={field: None}, headers=admin)
        assert r.status_code == 422 and r.json()["error"]["field"] == field


def test_a_field_over_the_text_limit_is_refused(client, admin, camera_id):
    r = client.patch(f"/api/v1/cameras/{camera_id}", json={"note": "x" * (128 << 10)}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "note"
    r = client.patch(f"/api/v1/cameras/{camera_id}", json={"note": "x" * MAX_TEXT_CHARS}, headers=admin)
    assert r.status_code == 200


def test_openapi_declares_the_common_errors_and_bounds_for_every_operation(client):
    spec = client.get("/api/v1/openapi.json").json()
    operations = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(operations) >= 50
    for path, method, op in operations:
        missing = {"400", "401", "403", "404", "413", "422"} - set(op["responses"])
        assert not missing, f"{method.upper()} {path} does not declare {missing}"
        for param in op.get("parameters", []):
            schema = param["schema"]
            for option in [schema, *schema.get("anyOf", [])]:
                if option.get("type") == "integer":
                    assert option["maximum"] <= INT_MAX and option["minimum"] >= INT_MIN, (path, param)
    error = spec["components"]["schemas"]["ErrorOut"]
    assert error["properties"]["error"]["$ref"].endswith("ErrorDetail")
    patch = spec["components"]["schemas"]["CameraPatch"]["properties"]
    assert patch["password"]["type"] == "string" and "anyOf" not in patch["password"]
