"""Every page of every role fits a 390 px phone (and a 1366 px desktop) without horizontal scrolling, with problems present
(offline and degraded cameras with open problems and their actions, a pending camera, a case with a
request, a dossier with a review). The pages are found by following each role's navigation, plus
the detail pages a user reaches from there. A page that overflows is kept as a screenshot in
test-artifacts/browser/ and named in the failure."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page

from camera_ops.registry import cameras as camera_service
from camera_ops.registry.donors import create_donor
from camera_ops.registry.dossiers import add_review, create_model
from storage.models import CameraStatus, DonorKind, RegistrationState, ReviewKind, ReviewVerdict, Role
from storage.models_monitoring import CameraStatusChange, Problem
from storage.types import utcnow
from tests.browser.conftest import PHONE, log_in, screenshot
from tests.factories import PASSWORD, make_commune, make_user
from tests.footage_fixtures import actor, make_case

pytestmark = [pytest.mark.browser, pytest.mark.db]
ROLES = ("admin", "police", "officer", "manager", "auditor")
DESKTOP = {"width": 1366, "height": 900}
MEASURE = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _camera(session, settings, hamlet, code, status, reasons=(), hours=1.0, pending=False):
    data = camera_service.CameraInput(code=code, name=f"Camera cổng trường tiểu học {code}", area_id=hamlet.id,
                                      host="10.255.3.10", username="admin", password="secret-123",
                                      latitude=21.01, longitude=105.81)
    camera = camera_service.register_camera(session, settings, data, scope=None, pending=True).camera
    if not pending:
        camera.registration = RegistrationState.registered
        camera.status, camera.status_reasons = status, list(reasons)
        camera.status_since = utcnow() - timedelta(hours=hours)
    session.flush()
    return camera


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="PF", hamlets=2)
    users = {
        "admin": make_user(session, Role.admin, [], username="pf_admin"),
        "police": make_user(session, Role.commune_police, [a.commune], username="pf_police"),
        "officer": make_user(session, Role.officer, [a.commune], username="pf_officer"),
        "manager": make_user(session, Role.manager, [a.commune], username="pf_manager"),
        "auditor": make_user(session, Role.auditor, [a.commune], username="pf_auditor"),
    }
    users["officer"].unit = "Đội Cảnh sát điều tra tội phạm về trật tự xã hội"
    cams = [
        _camera(session, settings, a.hamlets[0], "PF-01", CameraStatus.offline, ["unreachable"], hours=50),
        _camera(session, settings, a.hamlets[0], "PF-02", CameraStatus.degraded, ["clock_drift"], hours=3),
        _camera(session, settings, a.hamlets[1], "PF-03", CameraStatus.unauthorized, ["wrong_password"]),
        _camera(session, settings, a.hamlets[1], "PF-04", CameraStatus.online),
        _camera(session, settings, a.hamlets[1], "PF-05", CameraStatus.unknown, pending=True),
    ]
    for camera in cams[:3]:
        session.add(CameraStatusChange(camera_id=camera.id, at=camera.status_since, status=camera.status,
                                       reasons_mask=0))
        session.add(Problem(camera_id=camera.id, area_id=camera.area_id, status=camera.status,
                            reasons=list(camera.status_reasons or []), started_at=camera.status_since))
    donor = create_donor(session, area_id=a.commune.id, kind=DonorKind.business,
                         name="Công ty TNHH Thương mại Dịch vụ Vận tải Hoàng Long")
    cams[0].donor_id = donor.id
    model = create_model(session, area_id=a.commune.id, name="Mô hình “Camera an ninh” xã PF",
                         decision_number="123/QĐ-UBND", decision_date=date(2025, 3, 1),
                         managing_unit="Công an xã PF",
                         members=[{"name": "Nguyễn Văn Hùng", "role": "Trưởng Công an xã", "phone": "0912345678"}])
    add_review(session, model, review_date=date(2025, 9, 1), kind=ReviewKind.interim,
               findings="Camera hoạt động ổn định, cần thay 2 camera hỏng ở thôn 1.", verdict=ReviewVerdict.maintain)
    from camera_ops.footage.cases import create_case
    case = create_case(session, actor(users["officer"]), users["officer"], number="45/2026/VA",
                       title="Trộm cắp tài sản tại chợ đầu mối, khu vực cổng phía Đông",
                       legal_basis="Quyết định khởi tố vụ án số 45/QĐ-CSĐT ngày 01/12/2026")
    session.commit()
    return {"users": users, "cameras": cams, "case": case, "model": model, "commune": a}


def _nav_paths(page: Page) -> list[str]:
    hrefs = page.eval_on_selector_all("nav.sections a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/")]


def _overflow(page: Page, path: str) -> int:
    response = page.goto(path)
    assert response is not None and response.status < 500, f"{path}: {response.status if response else 'none'}"
    page.wait_for_load_state("load")
    return int(page.evaluate(MEASURE))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_the_role_fits_the_screen(browser, live_server, world, role, viewport):
    context = browser.new_context(base_url=live_server, viewport=viewport, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _walk(page, world, role, viewport["width"])
    finally:
        context.close()


def _walk(page: Page, world, role: str, width: int) -> None:
    user = world["users"][role]
    log_in(page, user.username, PASSWORD)
    paths = _nav_paths(page)
    assert paths, "no navigation found"
    cams, case, model = world["cameras"], world["case"], world["model"]
    paths += [f"/cameras/{cams[0].id}", f"/cameras/{cams[4].id}", f"/dossiers/{model.id}", f"/cases/{case.id}",
              f"/areas/{world['commune'].commune.id}/edit", "/cameras?registration=pending"]
    wide: list[str] = []
    for path in dict.fromkeys(paths):
        over = _overflow(page, path)
        if over > 0:
            shot = screenshot(page, f"overflow-{width}-{role}-{path.strip('/').replace('/', '_') or 'root'}")
            wide.append(f"{path} is {over} px too wide at {width} px ({shot.name})")
    assert wide == [], "\n".join(wide)
