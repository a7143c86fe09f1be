"""The review report as a Word file in the administrative form of Nghị định 30/2020/NĐ-CP.

A4, Times New Roman 13-14 pt, margins 20/20/30/15 mm (top/bottom/left/right); the issuing unit at
top left over the number, the national heading at top right over the place and date; title, the six
sections, then the recipients (Nơi nhận) and the signature block. Vietnamese only (it is handed in
to the commune / district). An ordinary .docx: the manager edits it in Word before signing.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from camera_ops.i18n import fmt_date, fmt_number, fmt_percent, label, reason_text, t
from camera_ops.reports.review import NO_REASON, ReviewReport

FONT = "Times New Roman"  # the font ND 30/2020 prescribes
BODY_PT = 14
SMALL_PT = 12  # tables and "Nơi nhận"
HEADING_PT = 13  # unit names and the national heading


def review_docx(report: ReviewReport) -> bytes:
    doc = Document()
    _page(doc)
    _heading(doc, report)
    _title(doc, report)
    _section_model(doc, report)
    _section_cameras(doc, report)
    _section_uptime(doc, report)
    _section_down(doc, report)
    _section_clips(doc, report)
    _section_verdict(doc, report)
    _signature(doc, report)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def file_name(report: ReviewReport) -> str:
    kind = "so-ket" if report.kind.value == "interim" else "tong-ket"
    return f"bao-cao-{kind}-mo-hinh-{report.model.id}-{report.period_from:%Y%m%d}-{report.period_to:%Y%m%d}.docx"


# --- layout helpers ---------------------------------------------------------------------------------


def _page(doc: Document) -> None:  # type: ignore[valid-type]
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(BODY_PT)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_after = Pt(3)
    style.paragraph_format.line_spacing = 1.15


def _para(container, text: str = "", *, bold: bool = False, italic: bool = False, size: int | None = None,  # type: ignore[no-untyped-def]
          align: WD_ALIGN_PARAGRAPH | None = None, underline: bool = False, indent: bool = False) -> Paragraph:
    p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    if indent:  # body text: first line indented, justified (căn đều hai lề)
        p.paragraph_format.first_line_indent = Mm(10)
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if text:
        run = p.add_run(text)
        run.bold, run.italic, run.underline = bold, italic, underline
        if size:
            run.font.size = Pt(size)
    return p


def _cell(table: Table, row: int, col: int, text: str, *, bold: bool = False, right: bool = False) -> None:
    cell = table.cell(row, col)
    cell.text = ""
    p = cell.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    if right:
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = p.add_run(text)
    run.bold = bold
    run.font.size = Pt(SMALL_PT)


def _table(doc: Document, header: list[str], rows: list[list[str]], numeric_from: int) -> None:  # type: ignore[valid-type]
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for col, text in enumerate(header):
        _cell(table, 0, col, text, bold=True)
    for r, values in enumerate(rows, start=1):
        for col, text in enumerate(values):
            _cell(table, r, col, text, right=col >= numeric_from)
    _para(doc).paragraph_format.space_after = Pt(0)


def _num(value: float | int | None, decimals: int = 0) -> str:
    return fmt_number(value, decimals, "vi")


def _pct(value: float | None) -> str:
    return fmt_percent(value, 1, "vi")


# --- parts ------------------------------------------------------------------------------------------


def _heading(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    table = doc.add_table(rows=2, cols=2)
    table.autofit = False
    widths = (Mm(65), Mm(100))
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    left = table.cell(0, 0).paragraphs[0]
    left.alignment = WD_ALIGN_PARAGRAPH.CENTER
    unit = left.add_run(report.model.managing_unit.upper())
    unit.bold, unit.font.size = True, Pt(HEADING_PT)
    _para(table.cell(0, 0), "―――――", align=WD_ALIGN_PARAGRAPH.CENTER, size=8)
    right = table.cell(0, 1).paragraphs[0]
    right.alignment = WD_ALIGN_PARAGRAPH.CENTER
    nation = right.add_run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    nation.bold, nation.font.size = True, Pt(HEADING_PT)
    motto = _para(table.cell(0, 1), "Độc lập - Tự do - Hạnh phúc", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    motto.runs[0].font.size = Pt(BODY_PT)
    _para(table.cell(0, 1), "―――――――――――――", align=WD_ALIGN_PARAGRAPH.CENTER, size=8)
    number = report.number or "      /BC-"
    _para(table.cell(1, 0), f"Số: {number}", align=WD_ALIGN_PARAGRAPH.CENTER, size=HEADING_PT)
    day = report.issued_on
    place = report.commune.name
    _para(table.cell(1, 1), f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}", italic=True,
          align=WD_ALIGN_PARAGRAPH.CENTER)
    for cell in (table.cell(1, 0), table.cell(1, 1)):
        first = cell.paragraphs[0]
        if not first.text:
            first._element.getparent().remove(first._element)


def model_title(report: ReviewReport) -> str:
    """ "Sơ kết mô hình “Camera an ninh” xã EA" — the model's own name when it already says mô hình."""
    kind = "Sơ kết" if report.kind.value == "interim" else "Tổng kết"
    name = report.model.name.strip()
    if name.lower().startswith("mô hình"):
        return f"{kind} {name[0].lower()}{name[1:]}"
    return f"{kind} mô hình {name}"


def _title(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    _para(doc)
    _para(doc, "BÁO CÁO", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, model_title(report), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"(Kỳ báo cáo {report.period.label_vi})", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, "―――――", align=WD_ALIGN_PARAGRAPH.CENTER, size=8)
    _para(doc, f"{report.model.managing_unit} báo cáo kết quả thực hiện mô hình như sau:", indent=True)


def _section_model(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    m = report.model
    _para(doc, "I. TÌNH HÌNH MÔ HÌNH", bold=True)
    _para(doc, f"- Mô hình được thành lập theo Quyết định số {m.decision_number} ngày {fmt_date(m.decision_date)}; "
               f"đơn vị quản lý: {m.managing_unit}.", indent=True)
    _para(doc, f"- Địa bàn: {m.area.name}"
               f"{'' if m.area.id == report.commune.id else f' ({report.commune.name})'}; "
               f"số thôn trên địa bàn: {_num(report.coverage.hamlets_total)}.", indent=True)
    status = label(m.status, "model_status", "vi")
    _para(doc, f"- Tình trạng: {status}.", indent=True)
    _para(doc, f"- Thành viên ({_num(len(m.members))} người):", indent=True)
    for member in m.members:
        phone = f", điện thoại {member.phone}" if member.phone else ""
        _para(doc, f"+ {member.name} — {member.role}{phone};", indent=True)


def _section_cameras(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    c = report.coverage
    _para(doc, "II. CAMERA VÀ ĐỘ PHỦ", bold=True)
    _para(doc, f"- Số camera của mô hình trong kỳ: {_num(c.cameras_registered)}; trong đó hoạt động "
               f"(tỷ lệ hoạt động từ 50% trở lên): {_num(c.cameras_working)}.", indent=True)
    _para(doc, f"- Số thôn có camera hoạt động: {_num(c.hamlets_covered)}/{_num(c.hamlets_total)} thôn; "
               f"điểm lắp đặt được giám sát: {_num(c.install_points_watched)}/{_num(c.install_points_total)}.",
          indent=True)
    _table(doc, ["Thôn", "Số camera", "Camera hoạt động"],
           [[g.key, _num(g.cameras), _num(g.working)] for g in c.by_hamlet], numeric_from=1)


def _section_uptime(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    c = report.coverage
    _para(doc, "III. TỶ LỆ HOẠT ĐỘNG THEO THÔN VÀ THEO NHÀ HẢO TÂM", bold=True)
    _para(doc, f"- Tỷ lệ hoạt động chung: {_pct(c.uptime_pct)}; tỷ lệ dùng được (hình ảnh, thời gian đều tốt): "
               f"{_pct(c.useful_pct)}; tổng số giờ camera hoạt động: {_num(c.camera_hours_up, 1)} giờ.", indent=True)
    _para(doc, "1. Theo thôn", italic=True, bold=True)
    _table(doc, ["Thôn", "Số camera", "Tỷ lệ hoạt động", "Tỷ lệ dùng được", "Giờ hoạt động"],
           [[g.key, _num(g.cameras), _pct(g.uptime_pct), _pct(g.useful_pct), _num(g.camera_hours_up, 1)]
            for g in c.by_hamlet], numeric_from=1)
    _para(doc, "2. Theo nhà hảo tâm", italic=True, bold=True)
    _table(doc, ["Nhà hảo tâm", "Số camera", "Tỷ lệ hoạt động", "Tỷ lệ dùng được", "Giờ hoạt động"],
           [[g.key, _num(g.cameras), _pct(g.uptime_pct), _pct(g.useful_pct), _num(g.camera_hours_up, 1)]
            for g in c.by_donor], numeric_from=1)


def reason_label_vi(reason: str) -> str:
    return t("review.no_reason", "vi") if reason == NO_REASON else reason_text(reason, "vi")


def _section_down(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    _para(doc, "IV. CAMERA HỎNG, KHÔNG DÙNG ĐƯỢC VÀ NGUYÊN NHÂN", bold=True)
    if not report.down:
        _para(doc, "- Trong kỳ không có camera nào bị mất kết nối hoặc không dùng được.", indent=True)
        return
    _para(doc, f"- Số camera có thời gian mất kết nối hoặc không dùng được: {_num(len(report.down))}.", indent=True)
    rows = [[f"{d.code} — {d.name}", d.hamlet, _num(d.hours_offline, 1), _num(d.hours_degraded, 1),
             "; ".join(f"{reason_label_vi(r)} ({_num(h, 1)} giờ)" for r, h in d.reasons),
             label(d.status_now, "status", "vi")] for d in report.down]
    _table(doc, ["Camera", "Thôn", "Giờ mất kết nối", "Giờ hình ảnh, thời gian không dùng được", "Nguyên nhân", "Hiện nay"], rows,
           numeric_from=2)


def _section_clips(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    c = report.coverage
    _para(doc, "V. DỮ LIỆU ĐÃ CUNG CẤP CHO VỤ VIỆC, VỤ ÁN", bold=True)
    _para(doc, f"- Số đoạn video đã trích xuất, lưu trữ phục vụ điều tra: {_num(c.clips_supplied)}; "
               f"cho {_num(c.cases_supplied)} vụ việc, vụ án.", indent=True)


VERDICT_TEXT = {
    "maintain": "Đề nghị tiếp tục duy trì mô hình.",
    "replicate": "Đề nghị duy trì và nhân rộng mô hình.",
    "end": "Đề nghị kết thúc mô hình.",
}


def _section_verdict(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    _para(doc, "VI. KIẾN NGHỊ, ĐỀ XUẤT", bold=True)
    verdict = VERDICT_TEXT[report.verdict.value] if report.verdict else "Đề nghị: ……………………"
    _para(doc, f"- {verdict}", bold=True, indent=True)
    for line in report.findings.splitlines():
        if line.strip():
            _para(doc, line.strip(), indent=True)
    _para(doc, f"Trên đây là báo cáo {model_title(report)[0].lower()}{model_title(report)[1:]} "
               f"{report.period.label_vi} của {report.model.managing_unit}./.", indent=True)


def _signature(doc: Document, report: ReviewReport) -> None:  # type: ignore[valid-type]
    table = doc.add_table(rows=1, cols=2)
    left, right = table.cell(0, 0), table.cell(0, 1)
    left.paragraphs[0].add_run("Nơi nhận:").bold = True
    left.paragraphs[0].runs[0].italic = True
    left.paragraphs[0].runs[0].font.size = Pt(SMALL_PT)
    for line in (f"- UBND {report.commune.name} (để báo cáo);", "- Công an cấp trên (để báo cáo);", "- Lưu: VT."):
        _para(left, line, size=11).paragraph_format.space_after = Pt(0)
    title, name = report.signer
    head = right.paragraphs[0]
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run((title or "CHỨC VỤ").upper())
    run.bold = True
    _para(right, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=SMALL_PT)
    for _ in range(3):
        _para(right)
    _para(right, name, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
