"""The coverage report page: a period and an area, uptime per hamlet/donor/model with charts, and
the XLSX/CSV export links (served by the reports API)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from camera_ops.i18n import local_time
from storage.models import CameraStatus, Role
from storage.models_monitoring import CameraStatusChange
from storage.types import utcnow
from tests.factories import make_commune, make_user, web_login as login
from tests.integration.test_web_pages import add_camera

pytestmark = pytest.mark.db


@pytest.fixture
def client(engine, settings, session):
    a = make_commune(session, prefix="RA")
    make_user(session, Role.manager, [a.commune], username="manager")
    make_user(session, Role.officer, [a.commune], username="officer")
    cam = add_camera(session, settings, a.hamlets[0], "RA-1")
    cam.created_at = utcnow() - timedelta(days=40)
    session.add(CameraStatusChange(camera_id=cam.id, at=utcnow() - timedelta(days=40), status=CameraStatus.online,
                                   reasons_mask=0))
    session.commit()
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


def test_the_report_shows_coverage_with_charts_and_exports_xlsx_and_csv(client):
    login(client, "manager")
    html = client.get("/reports").text
    month = local_time(utcnow()).month
    assert f"Tháng {month}/" in html and "Thôn 1 RA" in html and 'class="bars"' in html
    assert re.search(r"<b>100,0\s%</b> Tỷ lệ hoạt động", html)
    assert re.search(r'id="clips-supplied"><b>0</b> đoạn video cung cấp cho 0 vụ việc', html)
    xlsx_link = re.search(r'id="export-xlsx" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    r = client.get(xlsx_link)
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    assert load_workbook(io.BytesIO(r.content)).sheetnames
    csv_link = re.search(r'id="export-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "RA-1" in client.get(csv_link).content.decode("utf-8-sig")


def test_the_printable_view_drops_navigation_and_forms(client):
    login(client, "manager")
    html = client.get("/reports?print=1&period=quarter").text
    assert '<body class="printable">' in html and "Quý" in html


def test_an_officer_has_no_reports(client):
    login(client, "officer")
    assert client.get("/reports").status_code == 403


def test_the_report_charts_uptime_by_day_from_the_commune_rollups(client, engine):
    from camera_ops.monitor.history import rebuild_rollups
    from storage.db import session_factory

    login(client, "manager")
    last_month_end = local_time(utcnow()).replace(day=1) - timedelta(days=1)  # a whole month, in the past
    query = f"/reports?period=month&index={last_month_end.month}&year={last_month_end.year}"
    assert 'id="daily"' not in client.get(query).text  # nothing rolled up yet: no empty chart
    rebuild_rollups(session_factory(engine, write=True), utcnow() - timedelta(days=40))
    html = client.get(query).text
    assert 'id="daily"' in html and "Tỷ lệ hoạt động theo ngày" in html
    bars = re.findall(r"<title>(\d\d/\d\d/\d{4}): ([^<]+)</title>", html)
    # the camera (registered 40 days ago, online since) is up every day it existed, to the month's end
    assert bars and all(pct.startswith("100,0") for _, pct in bars)
    assert bars[-1][0] == last_month_end.strftime("%d/%m/%Y")
