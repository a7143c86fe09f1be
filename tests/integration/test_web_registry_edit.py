"""Web pages for what only the API could do before: add, rename and merge areas; create a model
dossier and end it. Over the real database through TestClient; each bad input names its field and
leaves nothing half-written."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.web.pages.registry import parse_members
from camera_ops.errors import ValidationFailed
from camera_ops.registry import cameras as camera_service
from camera_ops.registry.dossiers import create_model
from storage.db import session_scope
from storage.models import Area, AreaName, Camera, ModelStatus, Role, SecurityModel
from storage.types import utcnow
from tests.factories import make_commune, make_user, web_login as login

pytestmark = pytest.mark.db

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def fresh(engine):
    """A short reading session per call: the test's own session would hold SQLite's write lock
    (it begins IMMEDIATE) while the app tries to write."""
    def run(fn):
        with session_scope(engine, write=False) as s:
            return fn(s)
    return run


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="EA", hamlets=2)
    b = make_commune(session, province=a.province, prefix="EB", hamlets=1)
    make_user(session, Role.admin, [], username="admin")
    make_user(session, Role.commune_police, [a.commune], username="police_a")
    make_user(session, Role.manager, [a.commune], username="manager_a")
    data = camera_service.CameraInput(code="EA-CAM", name="Camera cổng", area_id=a.hamlets[1].id, host="10.255.2.10",
                                      username="admin", password="secret-123")
    camera = camera_service.register_camera(session, settings, data, scope=None, pending=True).camera
    session.commit()
    return {"a": a, "b": b, "camera": camera}


def token(client: TestClient, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client: TestClient, path: str, form_path: str, data: dict[str, str]):
    return client.post(path, data={**data, "csrf_token": token(client, form_path)}, follow_redirects=False)


# --- areas -----------------------------------------------------------------------------------------


def test_admin_adds_a_hamlet_under_a_commune_from_the_areas_page(client, world, session, fresh):
    login(client, "admin")
    page = client.get("/areas").text
    assert "Thêm xã / thôn" in page and 'action="/areas"' in page
    r = post(client, "/areas", "/areas", {"kind": "hamlet", "parent_id": str(world["a"].commune.id),
                                          "code": "EA-H9", "name": "Thôn Đông Mới"})
    assert r.status_code == 303 and r.headers["location"] == "/areas"
    created = fresh(lambda s: s.scalars(select(Area).where(Area.code == "EA-H9")).one())
    assert created.parent_id == world["a"].commune.id and created.name == "Thôn Đông Mới"
    assert "Thôn Đông Mới" in client.get("/areas").text


def test_a_duplicate_area_code_is_refused_on_its_field_and_nothing_is_added(client, world, session, fresh):
    login(client, "admin")
    existing = world["a"].hamlets[0].code
    count = lambda s: s.scalar(select(func.count()).select_from(Area))  # noqa: E731
    before = fresh(count)
    r = post(client, "/areas", "/areas", {"kind": "hamlet", "parent_id": str(world["a"].commune.id),
                                          "code": existing, "name": "Thôn trùng mã"})
    assert r.status_code == 422 and 'class="field-error"' in r.text
    assert 'value="Thôn trùng mã"' in r.text  # what the user typed is kept
    assert fresh(count) == before


def test_only_admins_see_and_use_the_area_forms(client, world):
    login(client, "police_a")
    assert 'method="post" action="/areas"' not in client.get("/areas").text
    hamlet = world["a"].hamlets[0]
    assert client.get(f"/areas/{hamlet.id}/edit").status_code == 403
    r = client.post(f"/areas/{hamlet.id}/rename", data={"name": "X", "csrf_token": token(client, "/areas")},
                    follow_redirects=False)
    assert r.status_code == 403


def test_rename_keeps_the_old_name_in_the_history_with_its_reason(client, world, session, fresh):
    login(client, "admin")
    hamlet = world["a"].hamlets[0]
    old = hamlet.name
    r = post(client, f"/areas/{hamlet.id}/rename", f"/areas/{hamlet.id}/edit",
             {"name": "Tổ dân phố 5", "reason": "Nghị quyết 1234/NQ-UBTVQH15"})
    assert r.status_code == 303
    names = fresh(lambda s: s.scalars(
        select(AreaName).where(AreaName.area_id == hamlet.id).order_by(AreaName.valid_from)).all())
    assert [n.name for n in names] == [old, "Tổ dân phố 5"] and names[0].valid_to is not None
    page = client.get(f"/areas/{hamlet.id}/edit").text
    assert old in page and "Nghị quyết 1234/NQ-UBTVQH15" in page


def test_an_empty_new_name_is_refused_on_the_name_field(client, world, session, fresh):
    login(client, "admin")
    hamlet = world["a"].hamlets[0]
    r = post(client, f"/areas/{hamlet.id}/rename", f"/areas/{hamlet.id}/edit", {"name": "   "})
    assert r.status_code == 422 and 'class="field-error"' in r.text
    assert fresh(lambda s: s.get(Area, hamlet.id).name) == hamlet.name


def test_merge_needs_confirmation_then_moves_the_cameras_and_closes_the_unit(client, world, session, fresh):
    login(client, "admin")
    absorbed, into = world["a"].hamlets[1], world["a"].hamlets[0]
    path = f"/areas/{absorbed.id}/merge"
    refused = post(client, path, f"/areas/{absorbed.id}/edit", {"into_id": str(into.id)})
    assert refused.status_code == 422
    assert fresh(lambda s: s.get(Area, absorbed.id).valid_to) is None  # nothing happened without the tick
    r = post(client, path, f"/areas/{absorbed.id}/edit", {"into_id": str(into.id), "confirm": "1",
                                                           "reason": "sáp nhập thôn"})
    assert r.status_code == 303 and r.headers["location"] == f"/areas/{into.id}/edit"
    assert fresh(lambda s: s.get(Area, absorbed.id).merged_into_id) == into.id
    assert fresh(lambda s: s.get(Camera, world["camera"].id).area_id) == into.id


def test_merge_into_a_unit_of_another_kind_is_refused(client, world, session, fresh):
    login(client, "admin")
    hamlet = world["a"].hamlets[0]
    r = post(client, f"/areas/{hamlet.id}/merge", f"/areas/{hamlet.id}/edit",
             {"into_id": str(world["b"].commune.id), "confirm": "1"})
    assert r.status_code == 422 and 'class="field-error"' in r.text
    assert fresh(lambda s: s.get(Area, hamlet.id).valid_to) is None


# --- dossiers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", []),
    ("Nguyễn Văn A; Trưởng thôn; 0912 345 678", [{"name": "Nguyễn Văn A", "role": "Trưởng thôn",
                                                  "phone": "0912 345 678"}]),
    ("Trần Thị B | Công an viên\n\n", [{"name": "Trần Thị B", "role": "Công an viên", "phone": None}]),
])
def test_members_are_read_one_person_per_line(text, expected):
    assert parse_members(text) == expected


@pytest.mark.parametrize("text", ["Chỉ có tên", "; vai trò", "Tên;"])
def test_a_member_line_without_a_role_names_the_members_field(text):
    with pytest.raises(ValidationFailed) as caught:
        parse_members(text)
    assert caught.value.field == "members"


def test_manager_creates_a_dossier_with_its_members_and_lands_on_it(client, world, session, fresh):
    login(client, "manager_a")
    assert "Lập hồ sơ mô hình mới" in client.get("/dossiers").text
    r = post(client, "/dossiers", "/dossiers", {
        "area_id": str(world["a"].commune.id), "name": "Mô hình Camera an ninh xã EA",
        "decision_number": "45/QĐ-UBND", "decision_date": "2026-03-02", "managing_unit": "Công an xã EA",
        "members": "Nguyễn Văn A; Trưởng Công an xã; 0912345678\nLê Thị C; Trưởng thôn"})
    assert r.status_code == 303
    model_id, members = fresh(lambda s: next(
        (m.id, sorted(x.name for x in m.members))
        for m in s.scalars(select(SecurityModel).where(SecurityModel.decision_number == "45/QĐ-UBND"))))
    assert r.headers["location"] == f"/dossiers/{model_id}"
    assert members == ["Lê Thị C", "Nguyễn Văn A"]
    assert "Trưởng Công an xã" in client.get(r.headers["location"]).text


@pytest.mark.parametrize(("change", "field"), [
    ({"area_id": ""}, "area_id"),
    ({"decision_date": ""}, "decision_date"),
    ({"decision_date": "2999-01-01"}, "decision_date"),
    ({"managing_unit": ""}, "managing_unit"),
    ({"members": "chỉ một cột"}, "members"),
])
def test_a_bad_dossier_form_names_its_field_and_creates_nothing(client, world, session, change, field, fresh):
    login(client, "manager_a")
    form = {"area_id": str(world["a"].commune.id), "name": "Mô hình X", "decision_number": "1/QĐ",
            "decision_date": "2026-01-05", "managing_unit": "Công an xã", "members": "", **change}
    r = post(client, "/dossiers", "/dossiers", form)
    assert r.status_code == 422 and 'class="field-error"' in r.text, field
    assert fresh(lambda s: s.scalar(select(func.count()).select_from(SecurityModel))) == 0


def test_a_dossier_of_another_commune_cannot_be_created_by_a_scoped_manager(client, world, session, fresh):
    login(client, "manager_a")
    r = post(client, "/dossiers", "/dossiers", {
        "area_id": str(world["b"].commune.id), "name": "Mô hình khác", "decision_number": "2/QĐ",
        "decision_date": "2026-01-05", "managing_unit": "Công an xã"})
    assert r.status_code == 422
    assert fresh(lambda s: s.scalar(select(func.count()).select_from(SecurityModel))) == 0


def test_ending_a_model_records_date_and_reason_and_stops_new_reviews(client, world, session, fresh):
    model = create_model(session, area_id=world["a"].commune.id, name="Mô hình EA", decision_number="3/QĐ",
                         decision_date=utcnow().date().replace(day=1), managing_unit="Công an xã")
    session.commit()
    login(client, "manager_a")
    path = f"/dossiers/{model.id}"
    refused = post(client, f"{path}/end", path, {"ended_on": str(utcnow().date()), "end_reason": ""})
    assert refused.status_code == 422 and 'class="field-error"' in refused.text
    r = post(client, f"{path}/end", path, {"ended_on": str(utcnow().date()), "end_reason": "Camera hỏng hết"})
    assert r.status_code == 303
    ended = fresh(lambda s: s.get(SecurityModel, model.id))
    assert ended.status == ModelStatus.ended and ended.end_reason == "Camera hỏng hết"
    page = client.get(path).text
    assert "Camera hỏng hết" in page and f'action="{path}/end"' not in page
