"""A province report: hamlets grouped by identity (two communes' "Thôn A" are two lines, both
counted), a per-commune breakdown; the worst list holds only genuinely bad cameras; the exports
speak Vietnamese (labels, not codes) with readable columns and Vietnamese decimals in the CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from camera_ops.registry import cameras as camera_service
from camera_ops.registry.areas import create_area
from camera_ops.reports.coverage import CameraLine, coverage_report, worst_cameras
from camera_ops.reports.export import to_csv, to_xlsx
from camera_ops.reports.periods import period
from storage.models import AreaKind, Watches

pytestmark = pytest.mark.db
TZ = "Asia/Ho_Chi_Minh"


def line(code: str, uptime: float | None, useful: float | None) -> CameraLine:
    return CameraLine(0, code, code, "Thôn A", "", "market", "", "", "", "online", uptime, useful, 0.0, 0.0)


def test_the_worst_list_holds_only_bad_cameras_in_one_stable_order():
    lines = [line("C", 100.0, 100.0), line("B", 40.0, 10.0), line("A", 40.0, 10.0), line("D", 100.0, 60.0),
             line("E", None, None)]
    assert [x.code for x in worst_cameras(lines)] == ["A", "B", "D"]


@pytest.fixture
def province(session, settings):
    p = create_area(session, kind=AreaKind.province, code="PV", name="Tỉnh V", parent_id=None)
    communes = [create_area(session, kind=AreaKind.commune, code=f"PV-{i}", name=f"Xã {i}", parent_id=p.id)
                for i in (1, 2)]
    hamlets = [create_area(session, kind=AreaKind.hamlet, code=f"PV-{i}-A", name="Thôn A", parent_id=c.id)
               for i, c in zip((1, 2), communes)]
    for i, hamlet in enumerate(hamlets):
        data = camera_service.CameraInput(code=f"PV-C{i}", name=f"Chợ {i}", area_id=hamlet.id, host="10.9.9.9",
                                          username="u", password="p", watches=Watches.market)
        camera_service.register_camera(session, settings, data, scope=None, pending=True)
    session.commit()
    return p


def test_a_province_report_keeps_two_communes_hamlets_of_one_name_apart(session, province):
    now = datetime(2027, 1, 5, tzinfo=timezone.utc)
    r = coverage_report(session, area_id=province.id, period=period("year", 2026, tz=TZ), scope=None, now=now)
    assert [g.key for g in r.by_hamlet] == ["Thôn A (Xã 1)", "Thôn A (Xã 2)"]
    assert [g.key for g in r.by_commune] == ["Xã 1", "Xã 2"] and r.hamlets_total == 2
    book = load_workbook(io.BytesIO(to_xlsx(r, TZ)))
    cams = book["Danh sách camera"]
    values = [c.value for c in cams[2]]
    assert "Chợ" in values and "market" not in values  # Vietnamese labels, not codes
    assert "Theo xã" in book.sheetnames
    width_b = cams.column_dimensions["B"].width
    assert width_b >= len("Tên camera") + 2


def test_csv_numbers_use_the_vietnamese_decimal_comma_unless_told_otherwise(session, province):
    now = datetime(2027, 1, 5, tzinfo=timezone.utc)
    r = coverage_report(session, area_id=province.id, period=period("year", 2026, tz=TZ), scope=None, now=now)
    r.uptime_pct = 97.25
    vi = list(csv.reader(io.StringIO(to_csv(r, TZ).decode("utf-8-sig"))))
    en = list(csv.reader(io.StringIO(to_csv(r, TZ, decimal_comma=False).decode("utf-8-sig"))))
    assert ["Tỷ lệ hoạt động (%)", "97,25"] in vi and ["Tỷ lệ hoạt động (%)", "97.25"] in en
