"""Registry services on the real database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from camera_ops.errors import Conflict, ValidationFailed
from camera_ops.registry import areas as area_service
from camera_ops.registry import cameras as camera_service
from camera_ops.registry.camera_import import import_cameras_csv
from camera_ops.security import decrypt_secret
from storage.models import AreaKind, Camera, CameraAreaHistory, RegistrationState
from tests.factories import make_commune

pytestmark = pytest.mark.db


def _camera_input(area_id: int, code: str = "CAM-1", **kw) -> camera_service.CameraInput:
    base = dict(code=code, name="Cổng làng", area_id=area_id, host="192.168.1.64", username="admin",
                password="s3cret-pass", latitude=21.03, longitude=105.85)
    base.update(kw)
    return camera_service.CameraInput(**base)


def test_times_are_stored_and_returned_as_utc(session):
    c = make_commune(session)
    session.commit()
    again = session.get(type(c.commune), c.commune.id)
    assert again.created_at.tzinfo is not None and again.created_at.utcoffset().total_seconds() == 0


def test_naive_datetimes_are_refused(session):
    c = make_commune(session)
    c.commune.valid_from = datetime(2026, 1, 1)
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()
    session.rollback()


def test_hamlet_must_sit_under_a_commune(session):
    c = make_commune(session)
    with pytest.raises(ValidationFailed) as err:
        area_service.create_area(session, kind=AreaKind.hamlet, code="X1", name="x", parent_id=c.province.id)
    assert err.value.field == "parent_id"


def test_rename_keeps_the_old_name_findable(session):
    c = make_commune(session)
    hamlet = c.hamlets[0]
    old = hamlet.name
    area_service.rename_area(session, area_id=hamlet.id, new_name="Thôn Mới", reason="Nghị quyết 2025")
    found, _ = area_service.list_areas(session, scope=None, q=old)
    assert [a.id for a in found] == [hamlet.id]
    assert found[0].name == "Thôn Mới"
    assert [n.name for n in hamlet.names] == [old, "Thôn Mới"]


def test_merge_moves_cameras_and_children_and_closes_the_absorbed_unit(session, settings):
    p = make_commune(session, hamlets=1)
    a = make_commune(session, province=p.province, hamlets=2)
    b = make_commune(session, province=p.province, hamlets=1)
    cam = camera_service.register_camera(session, settings, _camera_input(a.hamlets[0].id), scope=None, pending=True).camera
    area_service.merge_areas(session, absorbed_id=a.commune.id, into_id=b.commune.id, reason="sáp nhập 2025")
    session.flush()
    assert a.commune.valid_to is not None and a.commune.merged_into_id == b.commune.id
    # hamlets of the absorbed commune now sit under the survivor, with their paths
    for h in a.hamlets:
        session.refresh(h)
        assert h.parent_id == b.commune.id and h.path.startswith(b.commune.path)
    # searching the absorbed commune's name finds the survivor (and the closed unit itself)
    found, _ = area_service.list_areas(session, scope=None, q=a.commune.name, include_closed=True)
    assert {x.id for x in found} >= {b.commune.id, a.commune.id}
    # the camera is found under the survivor's subtree
    rows, total = camera_service.list_cameras(session, scope=None, filters=camera_service.CameraFilter(area_id=b.commune.id))
    assert [r.id for r in rows] == [cam.id] and total == 1
    # the code of the closed unit can be reused by a new unit, the closed one keeps it
    assert area_service.find_current_by_code(session, a.commune.code) is None


def test_merging_hamlets_moves_cameras_and_keeps_their_area_history(session, settings):
    c = make_commune(session, hamlets=2)
    cam = camera_service.register_camera(session, settings, _camera_input(c.hamlets[0].id), scope=None, pending=True).camera
    area_service.merge_areas(session, absorbed_id=c.hamlets[0].id, into_id=c.hamlets[1].id)
    history = session.scalars(select(CameraAreaHistory).where(CameraAreaHistory.camera_id == cam.id)
                              .order_by(CameraAreaHistory.id)).all()
    assert [h.area_id for h in history] == [c.hamlets[0].id, c.hamlets[1].id]
    assert history[0].valid_to is not None and history[1].valid_to is None
    assert cam.area_id == c.hamlets[1].id


def test_area_csv_import_is_idempotent_and_reports_bad_rows(session):
    text = ("code,name,kind,parent_code\n"
            "HN,Hà Nội,province,\n"
            "HN-X1,Xã Một,commune,HN\n"
            "HN-X1-T1,Thôn Một,hamlet,HN-X1\n"
            "HN-X1-T2,Thôn Hai,hamlet,NOPE\n"
            "HN-X1-T3,Thôn Ba,village,HN-X1\n")
    first = area_service.import_areas_csv(session, text)
    assert [r.outcome for r in first] == ["created", "created", "created", "error", "error"]
    assert "unknown area code 'NOPE'" in first[3].message
    assert "kind must be" in first[4].message
    second = area_service.import_areas_csv(session, text)
    assert [r.outcome for r in second] == ["unchanged", "unchanged", "unchanged", "error", "error"]


def test_pending_registration_encrypts_the_password(session, settings):
    c = make_commune(session)
    cam = camera_service.register_camera(session, settings, _camera_input(c.hamlets[0].id), scope=None, pending=True).camera
    assert cam.registration == RegistrationState.pending
    assert b"s3cret-pass" not in cam.password_encrypted
    assert decrypt_secret(cam.password_encrypted, settings) == "s3cret-pass"


def test_camera_code_is_unique(session, settings):
    c = make_commune(session)
    camera_service.register_camera(session, settings, _camera_input(c.hamlets[0].id), scope=None, pending=True)
    with pytest.raises(Conflict) as err:
        camera_service.register_camera(session, settings, _camera_input(c.hamlets[1].id), scope=None, pending=True)
    assert err.value.field == "code"


@pytest.mark.parametrize("change,field", [
    ({"host": "http://cam"}, "host"), ({"latitude": 48.85, "longitude": 2.35}, "latitude"),
    ({"onvif_port": 70000}, "onvif_port"), ({"bearing_deg": 400}, "bearing_deg"),
])
def test_bad_camera_input_names_the_field_and_saves_nothing(session, settings, change, field):
    c = make_commune(session)
    with pytest.raises(ValidationFailed) as err:
        camera_service.register_camera(session, settings, _camera_input(c.hamlets[0].id, **change), scope=None,
                                       pending=True)
    assert err.value.field == field
    assert session.scalar(select(Camera.id)) is None


def test_cameras_are_registered_in_hamlets_only(session, settings):
    c = make_commune(session)
    with pytest.raises(ValidationFailed) as err:
        camera_service.register_camera(session, settings, _camera_input(c.commune.id), scope=None, pending=True)
    assert err.value.field == "area_id"


def test_move_camera_records_history(session, settings):
    c = make_commune(session)
    cam = camera_service.register_camera(session, settings, _camera_input(c.hamlets[0].id), scope=None, pending=True).camera
    camera_service.move_camera(session, cam, area_id=c.hamlets[1].id, scope=None, reason="chuyển cột")
    rows = session.scalars(select(CameraAreaHistory.area_id).where(CameraAreaHistory.camera_id == cam.id)
                           .order_by(CameraAreaHistory.id)).all()
    assert rows == [c.hamlets[0].id, c.hamlets[1].id]


def test_camera_csv_import_reports_each_row_and_is_idempotent(session, settings):
    c = make_commune(session)
    h = c.hamlets[0].code
    text = ("code,name,hamlet_code,host,username,password,donor_name,donor_kind,latitude,longitude,watches\n"
            f"K1,Cổng thôn,{h},192.168.1.10,admin,pw1,Nhà ông Ba,household,21.01,105.80,entrance\n"
            f"K2,Ngã ba,{h},192.168.1.11,admin,pw2,Cửa hàng Minh Anh,business,21.02,105.81,crossroads\n"
            f"K3,Chợ,NOPE,192.168.1.12,admin,pw3,,,,,market\n"
            f"K4,Trường,{h},http://x,admin,pw4,,,,,school\n"
            f"K5,Đình,{h},192.168.1.14,admin,pw5,,,48.8,2.3,other\n"
            f"K1,Trùng mã,{h},192.168.1.15,admin,pw6,,,,,other\n")
    first = import_cameras_csv(session, settings, text, scope=None)
    assert [r.outcome for r in first] == ["created", "created", "error", "error", "error", "duplicate"]
    assert "unknown hamlet code 'NOPE'" in first[2].message
    assert "(host)" in first[3].message and "(latitude)" in first[4].message
    session.commit()
    second = import_cameras_csv(session, settings, text, scope=None)
    assert [r.outcome for r in second] == ["duplicate", "duplicate", "error", "error", "error", "duplicate"]
    cams = session.scalars(select(Camera).order_by(Camera.code)).all()
    assert [x.code for x in cams] == ["K1", "K2"]
    assert cams[0].donor is not None and cams[0].donor.name == "Nhà ông Ba"


def test_camera_csv_import_refuses_a_file_without_the_required_columns(session, settings):
    with pytest.raises(ValidationFailed, match="lacks column"):
        import_cameras_csv(session, settings, "code,name\nK1,x\n", scope=None)
