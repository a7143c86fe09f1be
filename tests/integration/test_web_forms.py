"""Forms a first-time user gets right: required fields marked and the officer's unit prefilled;
footage windows typed as dd/mm/yyyy 24 h in Vietnam time (whatever the browser's locale) and
prefilled with the last 30 minutes; the clip page asks for the purpose once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import lxml.html
import pytest

from camera_ops.i18n import parse_local_datetime
from camera_ops.security import encrypt_secret
from storage.models import Camera, RecordingCapability, RegistrationState
from storage.models_evidence import ClipRequest
from storage.types import utcnow
from tests.factories import web_login
from tests.footage_fixtures import UNIT, make_case, make_world

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def test_dd_mm_yyyy_24h_is_read_as_vietnam_time():
    assert parse_local_datetime("07/12/2026 14:30") == datetime.fromisoformat("2026-12-07T07:30:00+00:00")
    assert parse_local_datetime("7/12/2026 09:05:10") == datetime.fromisoformat("2026-12-07T02:05:10+00:00")
    assert parse_local_datetime("2026-12-07T14:30") == datetime.fromisoformat("2026-12-07T07:30:00+00:00")
    with pytest.raises(ValueError):
        parse_local_datetime("12/31/2026 2:30 PM")


def test_the_case_form_marks_required_fields_and_prefills_the_officers_unit(client, session):
    world = make_world(session)
    session.commit()
    web_login(client, world.officer.username)
    form = lxml.html.fromstring(client.get("/cases").text).xpath("//form[@action='/cases']")[0]
    unit = form.xpath(".//input[@name='unit']")[0]
    assert unit.get("value") == UNIT and unit.get("required") is not None
    assert "*" in unit.getparent().text_content()
    for name in ("number", "title", "legal_basis"):
        assert form.xpath(f".//input[@name='{name}']")[0].get("required") is not None


def test_the_footage_window_is_dd_mm_yyyy_prefilled_with_the_last_30_minutes_and_accepted(client, session, settings):
    world = make_world(session)
    camera = Camera(code="CAM-F", name="Cổng chợ", area_id=world.hamlet.id, host="127.0.0.1", onvif_port=9,
                    username="u", password_encrypted=encrypt_secret("p", settings), replay_uri="rtsp://127.0.0.1:9/r",
                    recording=RecordingCapability.onvif_replay, registration=RegistrationState.registered)
    session.add(camera)
    case = make_case(session, world)
    session.commit()
    web_login(client, world.officer.username)
    html = client.get(f"/cases/{case.id}").text
    doc = lxml.html.fromstring(html)
    start, end = (doc.xpath(f"//input[@name='{n}']")[0] for n in ("start", "end"))
    assert start.get("type") == "text" and re.fullmatch(start.get("pattern"), start.get("value"))
    began, ended = parse_local_datetime(start.get("value")), parse_local_datetime(end.get("value"))
    assert ended - began == timedelta(minutes=30) and abs(utcnow() - ended) < timedelta(minutes=2)
    r = client.post(f"/cases/{case.id}/requests", data={
        "csrf_token": CSRF.search(html).group(1), "camera_ids": [str(camera.id)],
        "start": start.get("value"), "end": end.get("value"), "purpose": "xác minh vụ trộm"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    saved = session.query(ClipRequest).one()
    assert (saved.start_at, saved.end_at) == (began, ended)


def test_date_fields_read_dd_mm_yyyy_and_name_a_bad_one():
    from datetime import date

    from api.web import forms
    from camera_ops.errors import ValidationFailed

    assert forms.day({"d": "15/03/2025"}, "d") == date(2025, 3, 15)
    assert forms.day({"d": "2025-03-15"}, "d") == date(2025, 3, 15)  # what older clients send
    with pytest.raises(ValidationFailed) as refused:
        forms.day({"donated_on": "31/02/2025"}, "donated_on")
    assert refused.value.field == "donated_on" and refused.value.key == "err.field.not_date"


def test_the_camera_form_shows_its_date_as_dd_mm_yyyy(client, session):
    world = make_world(session)
    session.commit()
    web_login(client, world.police.username)
    doc = lxml.html.fromstring(client.get("/cameras/new").text)
    donated = doc.xpath("//input[@name='donated_on']")[0]
    assert donated.get("type") == "text" and donated.get("placeholder") == "dd/mm/yyyy"
