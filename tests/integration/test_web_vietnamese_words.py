"""Every page of every role, in Vietnamese, with problems present: no English word a user would
read is left on it (tech names such as ONVIF, RTSP, MAC, H.264, SHA-256 are allowed). The pages are
each role's navigation plus the detail pages reached from there."""

from __future__ import annotations

import re
from datetime import date, timedelta

import lxml.html
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from camera_ops.custody.ledger import SYSTEM, EventType, append
from camera_ops.footage.cases import create_case
from camera_ops.registry import cameras as camera_service
from camera_ops.registry.donors import create_donor
from camera_ops.registry.dossiers import add_review, create_model
from storage.models import CameraStatus, DonorKind, RegistrationState, ReviewKind, ReviewVerdict, Role
from storage.models_monitoring import CameraStatusChange, Problem
from storage.types import utcnow
from tests.factories import make_commune, make_user, web_login
from tests.footage_fixtures import actor

pytestmark = pytest.mark.db
ROLES = ("admin", "police", "officer", "manager", "auditor")
# English words users reported (issue 13) and their kin: as whole words, case-insensitive.
ENGLISH = ("(system)", "hash", "case", "cases", "offline", "online", "market", "school", "degraded", "unknown",
           "pending", "error", "failed", "request", "clip", "donor", "hamlet", "commune", "uptime", "usable",
           "none", "true", "false", "status", "camera_ids", "unreachable", "wrong_password", "clock_drift",
           "entrance", "crossroads", "household", "business")
WORD = re.compile(r"(?<![\w/.-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w/-])", re.I)


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="VW", hamlets=2)
    users = {
        "admin": make_user(session, Role.admin, [], username="vw_admin"),
        "police": make_user(session, Role.commune_police, [a.commune], username="vw_police"),
        "officer": make_user(session, Role.officer, [a.commune], username="vw_officer"),
        "manager": make_user(session, Role.manager, [a.commune], username="vw_manager"),
        "auditor": make_user(session, Role.auditor, [a.commune], username="vw_auditor"),
    }
    users["officer"].unit = "Đội Cảnh sát điều tra"
    cams = []
    for i, (status, reasons, pending) in enumerate([
            (CameraStatus.offline, ["unreachable"], False), (CameraStatus.degraded, ["clock_drift"], False),
            (CameraStatus.unauthorized, ["wrong_password"], False), (CameraStatus.online, [], False),
            (CameraStatus.unknown, [], True)]):
        data = camera_service.CameraInput(code=f"VW-0{i}", name=f"Cổng chợ {i}", area_id=a.hamlets[i % 2].id,
                                          host="10.255.3.10", username="admin", password="secret-123",
                                          latitude=21.01, longitude=105.81)
        camera = camera_service.register_camera(session, settings, data, scope=None, pending=True).camera
        if not pending:
            camera.registration_state = RegistrationState.registered
            camera.status, camera.status_reasons = status, reasons
            camera.status_since = utcnow() - timedelta(hours=3)
            session.add(CameraStatusChange(camera_id=camera.id, at=camera.status_since, status=status, reasons_mask=0))
            if status is not CameraStatus.online:
                session.add(Problem(camera_id=camera.id, area_id=camera.area_id, status=status, reasons=reasons,
                                    started_at=camera.status_since))
        cams.append(camera)
    donor = create_donor(session, area_id=a.commune.id, kind=DonorKind.business, name="Công ty Hoàng Long")
    cams[0].donor_id = donor.id
    model = create_model(session, area_id=a.commune.id, name="Mô hình “Camera an ninh” xã VW",
                         decision_number="123/QĐ-UBND", decision_date=date(2025, 3, 1), managing_unit="Công an xã",
                         members=[{"name": "Nguyễn Văn Hùng", "role": "Trưởng Công an xã", "phone": "0912345678"}])
    add_review(session, model, review_date=date(2025, 9, 1), kind=ReviewKind.interim,
               findings="Camera hoạt động ổn định.", verdict=ReviewVerdict.maintain)
    case = create_case(session, actor(users["officer"]), users["officer"], number="45/2026/VA",
                       title="Trộm cắp tài sản", legal_basis="Quyết định khởi tố số 45/QĐ-CSĐT")
    append(session, EventType.integrity_checked, SYSTEM, case_id=case.id, details={"ok": True})  # "(system)"
    session.commit()
    return {"users": users, "cameras": cams, "case": case, "model": model, "commune": a}


def visible_text(html: str) -> str:
    doc = lxml.html.fromstring(html)
    for bad in doc.xpath("//script|//style|//template"):
        bad.drop_tree()
    body = doc.find("body")
    return " ".join((body if body is not None else doc).itertext())


def _nav_paths(html: str) -> list[str]:
    doc = lxml.html.fromstring(html)
    return [h for h in doc.xpath("//nav[contains(@class,'sections')]//a/@href") if h.startswith("/")]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_every_role_reads_vietnamese(engine, settings, world, role):
    with TestClient(create_app(settings, engine=engine)) as client:
        web_login(client, world["users"][role].username)
        home = client.get("/")
        paths = _nav_paths(home.text)
        assert paths
        cams, case, model = world["cameras"], world["case"], world["model"]
        paths += [f"/cameras/{cams[0].id}", f"/cameras/{cams[4].id}", f"/dossiers/{model.id}", f"/cases/{case.id}",
                  "/pending", "/cameras/new", "/cameras/import", "/reports?period=quarter&year=2026&index=4"]
        found: list[str] = []
        for path in dict.fromkeys(paths):
            r = client.get(path)
            if r.status_code in (403, 404) or "text/html" not in r.headers.get("content-type", ""):
                continue
            words = sorted({m.group(1).lower() for m in WORD.finditer(visible_text(r.text))})
            if words:
                found.append(f"{path}: {', '.join(words)}")
    assert found == [], "English on Vietnamese pages:\n" + "\n".join(found)
