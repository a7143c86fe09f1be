"""Coverage report as JSON, CSV (UTF-8 with BOM so Excel reads Vietnamese) and XLSX.

Headings are Vietnamese (the review documents are), JSON keys English. Times are shown in Vietnam
time; the JSON also carries the UTC window.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from camera_ops import i18n
from camera_ops.reports.coverage import CameraLine, CoverageReport, GroupLine
from camera_ops.spreadsheet import csv_row, xlsx_row

LOCAL_FORMAT = "%d/%m/%Y %H:%M"
GROUP_HEADINGS = ("Số camera", "Camera hoạt động tốt", "Tỷ lệ hoạt động (%)", "Tỷ lệ hình ảnh dùng được (%)",
                  "Giờ-camera hoạt động")
CAMERA_HEADINGS = ("Mã camera", "Tên camera", "Thôn / tổ dân phố", "Điểm lắp đặt", "Giám sát", "Nhà hảo tâm",
                   "Mô hình", "Loại camera", "Trạng thái hiện tại", "Tỷ lệ hoạt động (%)",
                   "Tỷ lệ hình ảnh dùng được (%)", "Giờ hoạt động", "Giờ mất kết nối")
SECTIONS = (("by_commune", "Theo xã", "Xã / phường"), ("by_hamlet", "Theo thôn", "Thôn / tổ dân phố"), ("by_donor", "Theo nhà hảo tâm", "Nhà hảo tâm"),
            ("by_security_model", "Theo mô hình", "Mô hình"), ("by_device_model", "Theo loại camera", "Loại camera"))


DAILY_HEADINGS = ("Ngày", "Tỷ lệ hoạt động (%)", "Tỷ lệ hình ảnh dùng được (%)")
UNKNOWN_MODEL = "Chưa rõ"
MAX_COLUMN_WIDTH = 60  # characters; longer names wrap in the cell instead of widening the sheet


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _local(report: CoverageReport, tz: str) -> tuple[str, str, str]:
    zone = ZoneInfo(tz)
    return tuple(t.astimezone(zone).strftime(LOCAL_FORMAT)  # type: ignore[return-value]
                 for t in (report.period.start, report.period.end, report.generated_at))


def summary_rows(report: CoverageReport, tz: str) -> list[tuple[str, Any]]:
    start, end, generated = _local(report, tz)
    return [
        ("Địa bàn", f"{report.area_name} ({report.area_code})"),
        ("Kỳ báo cáo", report.period.label_vi),
        ("Từ", start), ("Đến (không bao gồm)", end), ("Lập lúc", generated),
        ("Số camera đã đăng ký", report.cameras_registered),
        ("Số camera hoạt động tốt", report.cameras_working),
        ("Tỷ lệ hoạt động (%)", _pct(report.uptime_pct)),
        ("Tỷ lệ hình ảnh dùng được (%)", _pct(report.useful_pct)),
        ("Giờ-camera hoạt động", round(report.camera_hours_up, 2)),
        ("Giờ-camera hình ảnh tốt", round(report.camera_hours_useful, 2)),
        ("Số thôn", report.hamlets_total),
        ("Số thôn có ít nhất 1 camera hoạt động", report.hamlets_covered),
        ("Số điểm lắp đặt", report.install_points_total),
        ("Số điểm được giám sát", report.install_points_watched),
        ("Số đoạn video đã cung cấp cho vụ việc", report.clips_supplied),
        ("Số vụ việc được cung cấp video", report.cases_supplied),
    ]


def _group_row(g: GroupLine) -> list[Any]:
    return [g.key, g.cameras, g.working, _pct(g.uptime_pct), _pct(g.useful_pct), round(g.camera_hours_up, 2)]


def _status_label(value: str) -> str:
    return i18n.label("retired", "lifecycle", "vi") if value == "retired" else i18n.label(value, "status", "vi")


def _camera_row(c: CameraLine) -> list[Any]:
    """A camera in the review's words: Vietnamese labels for what it watches and its status."""
    model = UNKNOWN_MODEL if c.device_model in ("", "?") else c.device_model
    return [c.code, c.name, c.hamlet, c.install_point, i18n.label(c.watches, "watches", "vi"), c.donor,
            c.security_model, model, _status_label(c.status_now), _pct(c.uptime_pct), _pct(c.useful_pct),
            round(c.hours_up, 2), round(c.hours_offline, 2)]


def _daily_rows(report: CoverageReport) -> list[list[Any]]:
    return [[d.day.strftime("%d/%m/%Y"), _pct(d.uptime_pct), _pct(d.useful_pct)] for d in report.daily]


def _decimal_comma(row: Sequence[Any]) -> list[Any]:
    """Decimals as Vietnamese write them (``97,25``), for a CSV opened by Excel set to Vietnamese."""
    return [f"{v:.2f}".rstrip("0").rstrip(".").replace(".", ",") if isinstance(v, float) else v for v in row]


def to_json(report: CoverageReport, tz: str) -> dict[str, Any]:
    start, end, generated = _local(report, tz)

    def group(lines: Iterable[GroupLine]) -> list[dict[str, Any]]:
        return [{"key": g.key, "cameras": g.cameras, "working": g.working, "uptime_pct": _pct(g.uptime_pct),
                 "useful_pct": _pct(g.useful_pct), "camera_hours_up": round(g.camera_hours_up, 2)} for g in lines]

    def camera(c: CameraLine) -> dict[str, Any]:
        return {"camera_id": c.camera_id, "code": c.code, "name": c.name, "hamlet": c.hamlet,
                "install_point": c.install_point, "watches": c.watches, "donor": c.donor,
                "security_model": c.security_model, "device_model": c.device_model, "status_now": c.status_now,
                "uptime_pct": _pct(c.uptime_pct), "useful_pct": _pct(c.useful_pct), "hours_up": round(c.hours_up, 2),
                "hours_offline": round(c.hours_offline, 2), "working": c.working}

    return {
        "area": {"id": report.area_id, "code": report.area_code, "name": report.area_name},
        "period": {"kind": report.period.kind, "year": report.period.year, "index": report.period.index,
                   "label": {"vi": report.period.label_vi, "en": report.period.label_en},
                   "start_utc": report.period.start.isoformat(), "end_utc": report.period.end.isoformat(),
                   "start_local": start, "end_local": end, "timezone": tz},
        "generated_at": report.generated_at.isoformat(), "generated_local": generated,
        "cameras_registered": report.cameras_registered, "cameras_working": report.cameras_working,
        "uptime_pct": _pct(report.uptime_pct), "useful_pct": _pct(report.useful_pct),
        "camera_hours_up": round(report.camera_hours_up, 2), "camera_hours_useful": round(report.camera_hours_useful, 2),
        "hamlets_total": report.hamlets_total, "hamlets_covered": report.hamlets_covered,
        "install_points_total": report.install_points_total, "install_points_watched": report.install_points_watched,
        "clips_supplied": report.clips_supplied, "cases_supplied": report.cases_supplied,
        **{key: group(getattr(report, key)) for key, _, _ in SECTIONS},
        "worst_cameras": [camera(c) for c in report.worst],
        "cameras": [camera(c) for c in report.cameras],
    }


def to_csv(report: CoverageReport, tz: str, *, decimal_comma: bool = True) -> bytes:
    """``decimal_comma``: ``97,25`` (Vietnamese Excel, the default; setting
    ``CAMERA_OPS_CSV_DECIMAL_COMMA``) or ``97.25``."""
    number = _decimal_comma if decimal_comma else list
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["BÁO CÁO ĐỘ PHỦ CAMERA AN NINH"])
    writer.writerows(csv_row(number(row)) for row in summary_rows(report, tz))
    for key, title, first in SECTIONS:
        if getattr(report, key):
            _section(writer, title, (first, *GROUP_HEADINGS), [number(_group_row(g)) for g in getattr(report, key)])
    _section(writer, "Tỷ lệ hoạt động theo ngày", DAILY_HEADINGS, [number(r) for r in _daily_rows(report)])
    _section(writer, "Camera kém nhất", CAMERA_HEADINGS, [number(_camera_row(c)) for c in report.worst])
    _section(writer, "Danh sách camera", CAMERA_HEADINGS, [number(_camera_row(c)) for c in report.cameras])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _section(writer: Any, title: str, headings: Sequence[str], rows: list[list[Any]]) -> None:
    writer.writerow([])
    writer.writerow([title])
    writer.writerow(headings)
    writer.writerows(csv_row(row) for row in rows)  # names, donors, points: typed by users


def to_xlsx(report: CoverageReport, tz: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Tổng hợp"
    sheet.append(["BÁO CÁO ĐỘ PHỦ CAMERA AN NINH"])
    sheet["A1"].font = Font(bold=True)
    for row in summary_rows(report, tz):
        sheet.append(xlsx_row(row))
    sheet.column_dimensions["A"].width = 42
    sheet.column_dimensions["B"].width = 36
    for key, title, first in SECTIONS:
        if getattr(report, key):
            _sheet(book, title, (first, *GROUP_HEADINGS), [_group_row(g) for g in getattr(report, key)])
    _sheet(book, "Theo ngày", DAILY_HEADINGS, _daily_rows(report))
    _sheet(book, "Camera kém nhất", CAMERA_HEADINGS, [_camera_row(c) for c in report.worst])
    _sheet(book, "Danh sách camera", CAMERA_HEADINGS, [_camera_row(c) for c in report.cameras])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, title: str, headings: Sequence[str], rows: list[list[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(xlsx_row(row))
    for i, heading in enumerate(headings):  # wide enough for the heading and the longest value
        longest = max([len(heading), *(len(str(r[i])) for r in rows if i < len(r) and r[i] is not None)])
        sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width = min(MAX_COLUMN_WIDTH, max(10, longest + 2))
    sheet.freeze_panes = "A2"
