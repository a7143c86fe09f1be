"""The review report of a model dossier (báo cáo sơ kết / tổng kết) over the real database: its figures
are the coverage report's for the same period, the Word file opens and carries the form, bad input
names its field and stores nothing, and a manager of another commune cannot reach it."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from docx import Document
from sqlalchemy import func, select

from camera_ops.health.vocabulary import Reason, reasons_to_mask
from camera_ops.i18n import fmt_number, fmt_percent, local_time
from camera_ops.registry.dossiers import create_model
from camera_ops.reports.coverage import coverage_report
from camera_ops.reports.periods import period
from camera_ops.reports.review import build_review
from camera_ops.reports.review_docx import review_docx
from camera_ops.security import encrypt_secret
from storage.db import session_scope
from storage.models import (
    Camera,
    CameraStatus,
    Donor,
    DonorKind,
    Lifecycle,
    ModelReview,
    ReviewKind,
    ReviewVerdict,
    Role,
    Watches,
)
from storage.models_evidence import AcquisitionMethod, Case, Clip, ClipRequest, ClipStatus
from storage.models_monitoring import CameraStatusChange
from storage.types import utcnow
from tests.factories import make_commune, make_user, web_login as login

pytestmark = pytest.mark.db

NOV = period("month", 2026, 11)  # 2026-10-31T17:00Z .. 2026-11-30T17:00Z, 720 h
DAY = timedelta(days=1)
NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)
TZ = "Asia/Ho_Chi_Minh"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def camera(session, settings, hamlet, code, *, donor=None, model=None, point=None, lifecycle=Lifecycle.active):
    c = Camera(code=code, name=f"Camera {code}", area_id=hamlet.id, host="10.0.0.3", username="admin",
               password_encrypted=encrypt_secret("pw", settings), donor_id=donor.id if donor else None,
               security_model_id=model.id if model else None, install_point=point, watches=Watches.entrance,
               manufacturer="HIKVISION", device_model="DS-2CD1023", status=CameraStatus.online,
               status_since=NOV.start, lifecycle=lifecycle, created_at=NOV.start - 30 * DAY)
    session.add(c)
    session.flush()
    return c


def history(session, cam, rows):
    for at, status, *reasons in rows:
        session.add(CameraStatusChange(camera_id=cam.id, at=at, status=CameraStatus(status),
                                       reasons_mask=reasons_to_mask(reasons[0]) if reasons else 0))


@pytest.fixture
def world(session, settings):
    c = make_commune(session, prefix="SK", hamlets=3)
    model = create_model(session, area_id=c.commune.id, name="Mô hình “Camera an ninh” xã SK",
                         decision_number="45/QĐ-UBND", decision_date=date(2026, 3, 2), managing_unit="Công an xã SK",
                         members=[{"name": "Nguyễn Văn An", "role": "Trưởng Công an xã", "phone": "0912345678"}])
    donor = Donor(kind=DonorKind.business, name="Cửa hàng Minh Phát", area_id=c.commune.id)
    session.add(donor)
    session.flush()
    h1, h2, h3 = c.hamlets
    a = camera(session, settings, h1, "SK-A", donor=donor, model=model, point="Cổng thôn")
    b = camera(session, settings, h1, "SK-B", model=model, point="Cổng thôn")
    d = camera(session, settings, h2, "SK-D", model=model, point="Chợ")
    x = camera(session, settings, h3, "SK-X", point="Trường")  # in the commune, not in the model
    history(session, a, [(NOV.start - DAY, "online")])
    history(session, b, [(NOV.start - DAY, "online"), (NOV.start + 6 * DAY, "offline", [Reason.UNREACHABLE])])
    history(session, d, [(NOV.start - DAY, "online"), (NOV.start + 10 * DAY, "maintenance"),
                         (NOV.start + 20 * DAY, "degraded", [Reason.BLACK, Reason.FROZEN])])
    history(session, x, [(NOV.start - DAY, "offline", [Reason.TIMEOUT])])
    officer = make_user(session, Role.officer, [c.commune], username="officer_sk")
    case_rows = [Case(number=f"{n}/2026/VA", unit="CA xã", title="Trộm cắp", legal_basis="QĐ khởi tố",
                      officer_id=officer.id, created_by_id=officer.id) for n in (1, 2)]
    session.add_all(case_rows)
    session.flush()
    for case, cam, status, day in [(case_rows[0], a, ClipStatus.archived, 2), (case_rows[1], d, ClipStatus.partial, 3),
                                   (case_rows[1], x, ClipStatus.archived, 4)]:
        request = ClipRequest(case_id=case.id, requested_by_id=officer.id, purpose="điều tra",
                              start_at=NOV.start, end_at=NOV.start + timedelta(minutes=5))
        session.add(request)
        session.flush()
        session.add(Clip(request_id=request.id, case_id=case.id, camera_id=cam.id, start_at=request.start_at,
                         end_at=request.end_at, method=AcquisitionMethod.onvif_replay, status=status,
                         archived_at=NOV.start + day * DAY))
    make_user(session, Role.manager, [c.commune], username="manager_sk")
    other = make_commune(session, province=c.province, prefix="SX", hamlets=1)
    make_user(session, Role.manager, [other.commune], username="manager_sx")
    session.commit()
    return {"commune": c, "model": model, "model_id": model.id}


def review(session, world, **extra):
    return build_review(session, world["model"], kind=ReviewKind.interim, period_from=date(2026, 11, 1),
                        period_to=date(2026, 11, 30), tz=TZ, now=NOW, **extra)


def test_review_figures_equal_the_coverage_report_for_the_same_period(session, world):
    r = review(session, world)
    assert (r.period.start, r.period.end) == (NOV.start, NOV.end)
    full = coverage_report(session, area_id=world["commune"].commune.id, period=NOV, scope=None, now=NOW)
    model_line = next(g for g in full.by_security_model if g.key == world["model"].name)
    c = r.coverage
    assert (c.cameras_registered, c.cameras_working) == (model_line.cameras, model_line.working) == (3, 2)
    assert c.uptime_pct == pytest.approx(model_line.uptime_pct)
    assert c.useful_pct == pytest.approx(model_line.useful_pct)
    assert c.camera_hours_up == pytest.approx(model_line.camera_hours_up) == pytest.approx(720 + 144 + 480)
    # the model's hamlets are the coverage report's lines for them (SK-X's hamlet is not the model's)
    full_hamlets = {g.key: g for g in full.by_hamlet}
    assert [g.key for g in c.by_hamlet] == [h.name for h in world["commune"].hamlets[:2]]
    for line in c.by_hamlet:
        assert line == full_hamlets[line.key]
    assert {g.key: (g.cameras, g.working) for g in c.by_donor}["Cửa hàng Minh Phát"] == (1, 1)
    assert (c.hamlets_covered, c.hamlets_total) == (2, 3)
    # clips: SK-X's clip belongs to no model camera; counts only
    assert (c.clips_supplied, c.cases_supplied) == (2, 2)
    assert (full.clips_supplied, full.cases_supplied) == (3, 2)
    # section IV: B offline 24 days (unreachable), D degraded 10 days (black and frozen)
    down = {d.code: d for d in r.down}
    assert list(down) == ["SK-B", "SK-D"]
    assert down["SK-B"].hours_offline == pytest.approx(576.0)
    assert down["SK-B"].reasons == [("unreachable", pytest.approx(576.0))]
    assert down["SK-D"].hours_degraded == pytest.approx(240.0)
    assert dict(down["SK-D"].reasons) == {"black": pytest.approx(240.0), "frozen": pytest.approx(240.0)}


def all_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                parts.append(cell.text)
    return "\n".join(parts)


def test_the_docx_opens_and_carries_the_heading_the_sections_and_the_figures(session, world):
    r = review(session, world, number="12/BC-CAX", verdict=ReviewVerdict.replicate,
               findings="Camera hoạt động ổn định.\nĐề nghị lắp thêm 2 camera ở thôn 3.")
    text = all_text(Document(io.BytesIO(review_docx(r))))
    for expected in ("CÔNG AN XÃ SK", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "Số: 12/BC-CAX", "BÁO CÁO", "Sơ kết mô hình “Camera an ninh” xã SK",
                     "từ ngày 01/11/2026 đến ngày 30/11/2026", "45/QĐ-UBND", "Nguyễn Văn An",
                     "I. TÌNH HÌNH MÔ HÌNH", "II. CAMERA VÀ ĐỘ PHỦ", "III. TỶ LỆ HOẠT ĐỘNG THEO THÔN VÀ THEO NHÀ HẢO TÂM",
                     "IV. CAMERA HỎNG", "V. DỮ LIỆU ĐÃ CUNG CẤP", "VI. KIẾN NGHỊ",
                     "Đề nghị duy trì và nhân rộng mô hình.", "Đề nghị lắp thêm 2 camera ở thôn 3.",
                     "Nơi nhận:", "TRƯỞNG CÔNG AN XÃ", "Cửa hàng Minh Phát"):
        assert expected in text, expected
    c = r.coverage
    assert f"Số thôn có camera hoạt động: 2/3 thôn" in text
    assert fmt_percent(c.uptime_pct, 1, "vi") in text
    assert fmt_number(576.0, 1, "vi") in text  # SK-B's hours offline
    assert "Số đoạn video đã trích xuất, lưu trữ phục vụ điều tra: 2; cho 2 vụ việc, vụ án." in text
    assert "SK-X" not in text  # not a camera of the model
    assert "Trộm cắp" not in text and "1/2026/VA" not in text  # counts only, never a case's content


# --- the web flow ----------------------------------------------------------------------------------


def count_reviews(engine) -> int:
    with session_scope(engine, write=False) as s:
        return s.scalar(select(func.count()).select_from(ModelReview)) or 0


def post_report(client, model_id, data):
    page = client.get(f"/dossiers/{model_id}").text
    token = CSRF.search(page).group(1)
    return client.post(f"/dossiers/{model_id}/review-report", data={**data, "csrf_token": token},
                       follow_redirects=False)


FORM = {"from": "01/11/2026", "to": "30/11/2026", "kind": "final", "number": "7/BC-CAX", "verdict": "maintain",
        "findings": "Mô hình phát huy hiệu quả."}


def test_a_manager_generates_the_report_from_the_dossier_and_downloads_the_docx(client, world, engine):
    login(client, "manager_sk")
    model_id = world["model_id"]
    page = client.get(f"/dossiers/{model_id}").text
    assert "Lập báo cáo sơ kết / tổng kết" in page and 'action="/dossiers/%d/review-report"' % model_id in page
    r = post_report(client, model_id, FORM)
    assert r.status_code == 303, r.text
    with session_scope(engine, write=False) as s:
        stored = s.scalars(select(ModelReview)).one()
        assert (stored.kind, stored.verdict, stored.doc_number) == (ReviewKind.final, ReviewVerdict.maintain, "7/BC-CAX")
        assert (stored.period_from, stored.period_to) == (date(2026, 11, 1), date(2026, 11, 30))
        review_id = stored.id
    page = client.get(r.headers["location"]).text
    link = f"/dossiers/{model_id}/reviews/{review_id}/report.docx"
    assert link in page and "Tải báo cáo (.docx)" in page
    download = client.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument")
    text = all_text(Document(io.BytesIO(download.content)))
    assert "Tổng kết mô hình “Camera an ninh” xã SK" in text and "Số: 7/BC-CAX" in text
    assert "Mô hình phát huy hiệu quả." in text
    printable = client.get(f"/dossiers/{model_id}/review-report?review={review_id}")
    assert printable.status_code == 200 and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in printable.text
    assert "<script>" not in printable.text  # the CSP forbids inline script: print.js binds the button


def test_the_printable_page_in_both_languages(client, world):
    login(client, "manager_sk")
    url = f"/dossiers/{world['model_id']}/review-report?from=2026-11-01&to=2026-11-30&kind=interim"
    vi = client.get(url)
    assert vi.status_code == 200
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO",
                     "I. TÌNH HÌNH MÔ HÌNH", "VI. KIẾN NGHỊ", "Cửa hàng Minh Phát", "SK-B"):
        assert expected in vi.text, expected
    en = client.get(url + "&lang=en")
    assert en.status_code == 200 and "UPTIME BY HAMLET AND BY DONOR" in en.text


def marked_field(html: str) -> list[str]:
    """The names of the report form's fields that carry an error message."""
    form = html.split('id="report-form"', 1)[1].split("</form>", 1)[0]
    return [re.search(r'name="([a-z_]+)"', chunk).group(1) for chunk in form.split("<label")[1:]
            if 'class="field-error"' in chunk.split("</label>")[0]]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"to": "15/10/2026"}, "to", "trước ngày bắt đầu"),
    ({"from": "31/02/2026"}, "from", "31/02/2026"),  # not a date  # the period ends before it starts
    ({"to": "01/01/2999"}, "to", "chưa kết thúc"),  # a period in the future
    ({"verdict": ""}, "verdict", "Chọn kiến nghị"),
    ({"from": ""}, "from", "Từ ngày"),
    ({"findings": ""}, "findings", "Chưa nhập"),
])
def test_bad_report_input_names_its_field_and_stores_nothing(client, world, engine, change, field, words):
    login(client, "manager_sk")
    r = post_report(client, world["model_id"], {**FORM, **change})
    assert r.status_code == 422
    assert marked_field(r.text) == [field]
    assert words in r.text
    assert count_reviews(engine) == 0


def test_a_manager_of_another_commune_cannot_generate_or_read_it(client, world, engine):
    login(client, "manager_sk")
    token = CSRF.search(client.get(f"/dossiers/{world['model_id']}").text).group(1)
    client.cookies.clear()
    login(client, "manager_sx")
    own = CSRF.search(client.get("/dossiers").text)
    r = client.post(f"/dossiers/{world['model_id']}/review-report",
                    data={**FORM, "csrf_token": own.group(1) if own else token}, follow_redirects=False)
    assert r.status_code == 404
    assert count_reviews(engine) == 0
    assert client.get(f"/dossiers/{world['model_id']}/review-report?from=2026-11-01&to=2026-11-30").status_code == 404


def test_the_form_starts_filled_and_its_preview_stores_nothing(client, world, engine):
    login(client, "manager_sk")
    page = client.get(f"/dossiers/{world['model_id']}").text
    form = page.split('id="report-form"', 1)[1].split("</form>", 1)[0]
    today = local_time(utcnow(), TZ).date()  # Vietnam's today, as the form computes it
    assert f'value="{today:%d/%m/%Y}"' in form  # to: today; from: 1 January or the decision
    assert f'value="{max(date(today.year, 1, 1), date(2026, 3, 2)):%d/%m/%Y}"' in form
    r = post_report(client, world["model_id"], {**FORM, "verdict": "", "action": "preview"})
    assert r.status_code == 200 and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in r.text
    assert "Kiến nghị: (chưa chọn)" in r.text
    assert count_reviews(engine) == 0


def test_a_reader_sees_the_preview_form_but_cannot_store_a_report(client, world, engine):
    login(client, "officer_sk")
    page = client.get(f"/dossiers/{world['model_id']}").text
    form = page.split('id="report-form"', 1)[1].split("</form>", 1)[0]
    assert 'name="verdict"' not in form and 'csrf_token' not in form
    assert client.get(f"/dossiers/{world['model_id']}/review-report?from=01/11/2026&to=30/11/2026").status_code == 200
