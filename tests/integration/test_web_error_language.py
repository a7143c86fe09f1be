"""What a person meets when something goes wrong is in their language, with the form's own label:
the handshake steps' details, a pending camera's last error, a case without a unit."""

from __future__ import annotations

import re
import socket

import pytest

from storage.models import Camera, Role
from tests.factories import make_commune, make_user, web_login

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_an_unreachable_camera_is_explained_in_vietnamese_and_its_pending_page_too(client, session):
    commune = make_commune(session)
    police = make_user(session, Role.commune_police, [commune.commune])
    session.commit()
    web_login(client, police.username)
    token = CSRF.search(client.get("/cameras/new").text).group(1)
    port = closed_port()
    r = client.post("/cameras/new", data={
        "csrf_token": token, "code": "CAM-9", "name": "Cổng chợ", "area_id": str(commune.hamlets[0].id),
        "host": "127.0.0.1", "onvif_port": str(port), "username": "admin", "password": "x",
        "save_if_unreachable": "1"})
    said = "Không có camera ONVIF nào trả lời ở địa chỉ và cổng này"  # no detail: the form is no port scanner
    assert said in r.text, r.text
    assert "Connect call failed" not in r.text and "no ONVIF camera answered" not in r.text
    camera = session.query(Camera).filter_by(code="CAM-9").one()
    page = client.get(f"/cameras/{camera.id}").text
    assert said in page and "Mục cần sửa: Địa chỉ IP / tên máy" in page and "no ONVIF camera" not in page
    english = client.get(f"/cameras/{camera.id}?lang=en").text
    assert "No ONVIF camera answered at this host and port" in english


def test_a_case_without_a_unit_names_the_unit_field_by_its_label(client, session):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, [commune.commune])  # no unit on the account
    session.commit()
    web_login(client, officer.username)
    token = CSRF.search(client.get("/cases").text).group(1)
    r = client.post("/cases", data={"csrf_token": token, "number": "1/2026", "title": "Trộm xe",
                                    "legal_basis": "QĐ 1", "unit": ""})
    assert r.status_code == 422
    assert "Chưa có đơn vị thụ lý vụ việc" in r.text and "the unit the case belongs to" not in r.text


def test_a_camera_form_error_uses_the_forms_own_label(client, session):
    commune = make_commune(session)
    police = make_user(session, Role.commune_police, [commune.commune])
    session.commit()
    web_login(client, police.username)
    token = CSRF.search(client.get("/cameras/new").text).group(1)
    r = client.post("/cameras/new", data={"csrf_token": token, "code": "C", "name": "N", "host": "127.0.0.1",
                                          "username": "u", "password": "p"})
    assert r.status_code == 422 and "Hãy chọn “Thôn / tổ”" in r.text and "choose the hamlet" not in r.text
