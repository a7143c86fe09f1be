"""Coverage report over constructed histories: exact numbers, groupings, exports, scoping."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from camera_ops.reports.coverage import coverage_report
from camera_ops.reports.periods import period
from camera_ops.security import encrypt_secret
from storage.models import Camera, CameraStatus, Donor, DonorKind, Lifecycle, Role, Watches
from storage.models_monitoring import CameraStatusChange
from tests.factories import api_login as login, make_commune, make_user

pytestmark = pytest.mark.db

NOV = period("month", 2026, 11)  # 2026-10-31T17:00Z .. 2026-11-30T17:00Z, 720 h
DAY = timedelta(days=1)
NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)


def camera(session, settings, hamlet, code, *, donor=None, point=None, lifecycle=Lifecycle.active):
    c = Camera(code=code, name=f"Camera {code}", area_id=hamlet.id, host="10.0.0.3", username="admin",
               password_encrypted=encrypt_secret("pw", settings), donor_id=donor.id if donor else None,
               install_point=point, watches=Watches.entrance, manufacturer="HIKVISION", device_model="DS-2CD1023",
               status=CameraStatus.online, status_since=NOV.start, lifecycle=lifecycle,
               created_at=NOV.start - 30 * DAY)
    session.add(c)
    session.flush()
    return c


def history(session, cam, rows):
    for at, status in rows:
        session.add(CameraStatusChange(camera_id=cam.id, at=at, status=CameraStatus(status), reasons_mask=0))


@pytest.fixture
def world(session, settings):
    c = make_commune(session, prefix="RC", hamlets=3)
    donor = Donor(kind=DonorKind.business, name="Cửa hàng Minh Phát", area_id=c.commune.id)
    session.add(donor)
    session.flush()
    h1, h2, h3 = c.hamlets
    a = camera(session, settings, h1, "R-A", donor=donor, point="Cổng thôn")
    b = camera(session, settings, h1, "R-B", point="Cổng thôn")  # same install point as A
    d = camera(session, settings, h2, "R-D", point="Chợ")
    e = camera(session, settings, h2, "R-E", lifecycle=Lifecycle.retired)  # retired before November
    history(session, a, [(NOV.start - DAY, "online")])  # online the whole month
    history(session, b, [(NOV.start - DAY, "online"), (NOV.start + 6 * DAY, "offline")])  # 6 of 30 days up
    history(session, d, [(NOV.start - DAY, "online"), (NOV.start + 10 * DAY, "maintenance"),
                         (NOV.start + 20 * DAY, "degraded")])  # up 20 days of 20 counted
    history(session, e, [(NOV.start - 40 * DAY, "online"), (NOV.start - 5 * DAY, "unknown")])
    make_user(session, Role.manager, [c.commune], username="manager_rc")
    other = make_commune(session, province=c.province, prefix="RX", hamlets=1)
    make_user(session, Role.manager, [other.commune], username="manager_rx")
    session.commit()
    return c


def test_coverage_numbers_are_exact_for_a_month(session, world):
    r = coverage_report(session, area_id=world.commune.id, period=NOV, scope=None, now=NOW)
    assert r.cameras_registered == 3  # the camera retired before November does not count
    assert r.cameras_working == 2  # B (20 % up) does not cover anything
    # counted: A 720 h + B 720 h + D 480 h (240 h maintenance excluded); up: 720 + 144 + 480
    assert r.camera_hours_up == pytest.approx(1344.0)
    assert r.uptime_pct == pytest.approx(100 * 1344 / 1920)
    assert r.useful_pct == pytest.approx(100 * (720 + 144 + 240) / 1920)
    assert (r.hamlets_total, r.hamlets_covered) == (3, 2)
    assert (r.install_points_total, r.install_points_watched) == (2, 2)
    assert [w.code for w in r.worst] == ["R-B", "R-D"]  # A was up and usable all month: not among the worst
    donors = {g.key: (g.cameras, g.working) for g in r.by_donor}
    assert donors["Cửa hàng Minh Phát"] == (1, 1)
    assert [g.key for g in r.by_device_model] == ["HIKVISION DS-2CD1023"]


def test_coverage_exports_json_csv_and_xlsx_with_vietnamese_headings_and_local_times(engine, settings, world):
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = login(client, "manager_rc")
        base = f"/api/v1/reports/coverage?area_id={world.commune.id}&period=month&year=2026&index=11"
        body = client.get(base, headers=headers).json()
        assert body["period"]["start_local"] == "01/11/2026 00:00" and body["period"]["label"]["vi"] == "Tháng 11/2026"
        assert body["cameras_registered"] == 3 and body["hamlets_covered"] == 2
        r = client.get(base + "&format=csv", headers=headers)
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert ["Số thôn có ít nhất 1 camera hoạt động", "2"] in rows
        assert any(row and row[0] == "Mã camera" for row in rows)
        r = client.get(base + "&format=xlsx", headers=headers)
        book = load_workbook(io.BytesIO(r.content))
        assert book.sheetnames[:2] == ["Tổng hợp", "Theo thôn"]
        assert [c.value for c in book["Danh sách camera"][1]][:3] == ["Mã camera", "Tên camera", "Thôn / tổ dân phố"]
        outsider = login(client, "manager_rx")
        assert client.get(base, headers=outsider).status_code == 404


def test_coverage_counts_clips_supplied_to_cases_in_the_period(session, world):
    from storage.models_evidence import AcquisitionMethod, Case, Clip, ClipRequest, ClipStatus

    officer = make_user(session, Role.officer, [world.commune], username="officer_rc")
    cams = {c.code: c for c in session.query(Camera).filter(Camera.code.in_(["R-A", "R-D", "R-E"]))}
    cases = [Case(number=f"{n}/2026/VA", unit="CA xã", title="Trộm cắp", legal_basis="QĐ khởi tố",
                  officer_id=officer.id, created_by_id=officer.id) for n in (1, 2)]
    session.add_all(cases)
    session.flush()

    def clip(case, code, status, archived_at):
        request = ClipRequest(case_id=case.id, requested_by_id=officer.id, purpose="điều tra",
                              start_at=NOV.start, end_at=NOV.start + timedelta(minutes=5))
        session.add(request)
        session.flush()
        session.add(Clip(request_id=request.id, case_id=case.id, camera_id=cams[code].id, start_at=request.start_at,
                         end_at=request.end_at, method=AcquisitionMethod.onvif_replay, status=status,
                         archived_at=archived_at))

    clip(cases[0], "R-A", ClipStatus.archived, NOV.start + 2 * DAY)
    clip(cases[0], "R-D", ClipStatus.partial, NOV.start + 3 * DAY)  # gaps listed: still supplied
    clip(cases[1], "R-A", ClipStatus.archived, NOV.start + 9 * DAY)
    clip(cases[1], "R-D", ClipStatus.failed, None)  # nothing supplied
    clip(cases[1], "R-E", ClipStatus.archived, NOV.end + DAY)  # archived in December: not this period
    session.commit()
    r = coverage_report(session, area_id=world.commune.id, period=NOV, scope=None, now=NOW)
    assert (r.clips_supplied, r.cases_supplied) == (3, 2)
    hamlet = coverage_report(session, area_id=world.hamlets[1].id, period=NOV, scope=None, now=NOW)
    assert (hamlet.clips_supplied, hamlet.cases_supplied) == (1, 1)  # R-D's partial clip
    from camera_ops.reports.export import summary_rows, to_json

    assert ("Số đoạn video đã cung cấp cho vụ việc", 3) in summary_rows(r, "Asia/Ho_Chi_Minh")
    assert to_json(r, "Asia/Ho_Chi_Minh")["cases_supplied"] == 2
