"""``camera-ops demo``: the whole service on one machine with embedded defaults.

SQLite in ``data/``, a fleet of simulated cameras on 127.20.x.y, a seeded commune (hamlets, donors,
a model dossier, users of every role), cameras registered through the real ONVIF handshake, and
the API/web server. Running it again reuses what is already there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.errors import CameraOpsError
from camera_ops.registry import cameras as camera_service
from camera_ops.registry.areas import create_area, find_current_by_code
from camera_ops.registry.donors import find_or_create_donor
from camera_ops.registry.dossiers import add_review, create_model
from camera_ops.registry.users import create_user
from camera_ops.settings import Settings
from storage.types import utcnow
from storage.models import (
    AreaKind,
    Camera,
    CameraKind,
    DonorKind,
    ReviewKind,
    ReviewVerdict,
    Role,
    SecurityModel,
    User,
    Watches,
)

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-12345"
DEMO_SIM_BASE_ADDRESS = "127.20.0.1"
# Fixed ports, as on real cameras: a camera that starts powered off still has a known address.
DEMO_SIM_HTTP_PORT, DEMO_SIM_RTSP_PORT = 8080, 8554
HAMLETS = (("BN-TC-DONG", "Thôn Đông"), ("BN-TC-TAY", "Thôn Tây"), ("BN-TC-CHO", "Thôn Chợ"))
DONORS = (
    ("Hộ ông Nguyễn Văn Hùng", DonorKind.household),
    ("Công ty TNHH Minh Phát", DonorKind.business),
    ("Hội Cựu chiến binh xã", DonorKind.organisation),
    ("Bà Trần Thị Lan", DonorKind.person),
)
INSTALL_POINTS = (
    ("Cổng làng", Watches.entrance, 180.0),
    ("Ngã ba đình", Watches.crossroads, 90.0),
    ("Cổng trường tiểu học", Watches.school, 270.0),
    ("Cổng chợ", Watches.market, 0.0),
)
# Faults the demo fleet starts with, so every board shows something real (camera index → faults).
DEMO_FAULTS: dict[int, dict[str, Any]] = {3: {"offline": True}, 6: {"covered": True}, 9: {"clock_skew_s": 420.0}}
DEMO_WRONG_PASSWORD = {10}  # registered with a password the camera no longer accepts
BASE_LAT, BASE_LON = 21.1562, 106.0710  # a commune in Bắc Ninh


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    full_name: str


DEMO_USERS = (
    DemoUser("admin", Role.admin, "Quản trị hệ thống"),
    DemoUser("congan", Role.commune_police, "Trung úy Lê Văn Nam (Công an xã)"),
    DemoUser("dieutra", Role.officer, "Đại úy Phạm Minh Tuấn (Điều tra viên)"),
    DemoUser("bancd", Role.manager, "Ông Đỗ Quang Vinh (BCĐ 138)"),
    DemoUser("kiemsat", Role.auditor, "Bà Ngô Thu Hà (Kiểm sát viên)"),
)


def demo_fleet_specs(count: int) -> list[Any]:
    from camera_ops.sim import CameraSpec, Faults

    vendors = ("hikvision", "dahua", "generic")
    specs = []
    for i in range(count):
        faults = Faults(**DEMO_FAULTS.get(i, {}))
        specs.append(CameraSpec(name=f"demo-cam-{i + 1:02d}", group=HAMLETS[i % len(HAMLETS)][0],
                                vendor=vendors[i % len(vendors)], faults=faults))  # type: ignore[arg-type]
    return specs


def seed(session: Session, settings: Settings, sim_cameras: list[Any]) -> None:
    """Create the demo commune, its people and its cameras (idempotent)."""
    commune = find_current_by_code(session, "BN-TC")
    if commune is None:
        province = find_current_by_code(session, "BN") or create_area(
            session, kind=AreaKind.province, code="BN", name="Tỉnh Bắc Ninh", parent_id=None)
        commune = create_area(session, kind=AreaKind.commune, code="BN-TC", name="Xã Tân Chi", parent_id=province.id)
        for code, name in HAMLETS:
            create_area(session, kind=AreaKind.hamlet, code=code, name=name, parent_id=commune.id)
    hamlets = {code: find_current_by_code(session, code) for code, _ in HAMLETS}
    donors = [find_or_create_donor(session, area_id=commune.id, name=n, kind=k)[0] for n, k in DONORS]
    model = session.scalar(select(SecurityModel).where(SecurityModel.area_id == commune.id))
    if model is None:
        model = create_model(
            session, area_id=commune.id, name='Mô hình "Camera an ninh" xã Tân Chi', decision_number="45/QĐ-UBND",
            decision_date=date(2025, 8, 15), managing_unit="Công an xã Tân Chi",
            members=[{"name": "Lê Văn Nam", "role": "Trưởng Công an xã", "phone": "0912000111"},
                     {"name": "Nguyễn Thị Hoa", "role": "Trưởng thôn Đông", "phone": "0988000222"}])
        add_review(session, model, review_date=date(2026, 2, 20), kind=ReviewKind.interim,
                   findings="12 camera hoạt động; 2 camera mất tín hiệu kéo dài ở thôn Chợ.", verdict=ReviewVerdict.maintain)
    for demo_user in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == demo_user.username)) is None:
            areas = [] if demo_user.role == Role.admin else [commune.id]
            create_user(session, username=demo_user.username, password=DEMO_PASSWORD, full_name=demo_user.full_name,
                        role=demo_user.role, area_ids=areas)
    session.flush()
    for i, cam in enumerate(sim_cameras):
        _register(session, settings, i, cam, hamlets[cam.group].id, donors[i % len(donors)].id, model.id)


def _register(session: Session, settings: Settings, i: int, cam: Any, hamlet_id: int, donor_id: int,
              model_id: int) -> None:
    code = cam.name.upper()
    if session.scalar(select(Camera.id).where(Camera.code == code)) is not None:
        return
    point, watches, bearing = INSTALL_POINTS[i % len(INSTALL_POINTS)]
    data = camera_service.CameraInput(
        code=code, name=f"{point} ({cam.name[-2:]})", area_id=hamlet_id, host=cam.host, onvif_port=cam.onvif_port,
        username=cam.username, password=cam.password, donor_id=donor_id, donated_on=date(2025, 9, 1),
        security_model_id=model_id, install_point=point, address=f"{point}, xã Tân Chi",
        latitude=BASE_LAT + (i % 4) * 0.0021 + (i // 4) * 0.0007, longitude=BASE_LON + (i // 4) * 0.0033,
        watches=watches, bearing_deg=bearing)
    if not cam.onvif:  # a camera with ONVIF off: registered by its RTSP streams
        data.kind, data.host = CameraKind.rtsp, ""
        data.stream_url, data.sub_stream_url = cam.rtsp_main_url, cam.rtsp_sub_url
    try:
        with session.begin_nested():
            outcome = camera_service.register_camera(session, settings, data, scope=None, save_if_unreachable=True)
    except CameraOpsError as exc:
        log.warning("demo camera %s not registered: %s", code, exc.message)
        return
    if outcome.error is not None:
        log.info("demo camera %s saved as pending: %s", code, outcome.error.message)
    if i in DEMO_WRONG_PASSWORD and outcome.camera is not None:
        camera_service.update_camera(session, settings, outcome.camera, {"password": "mat-khau-cu"}, scope=None)


DEMO_CASE_NUMBER = "12/2026/VA"
DEMO_CASE_CAMERA = "DEMO-CAM-02"  # a Profile G camera: the sample clip comes by ONVIF replay
DEMO_CLIP_AGO = timedelta(minutes=40)  # the sample window starts this long before the demo starts
DEMO_CLIP_LENGTH = timedelta(minutes=1)


def seed_case(session: Session, settings: Settings, *, now: datetime) -> None:
    """A sample theft case with a clip request the worker archives (once per database)."""
    from camera_ops.footage.access import actor_for
    from camera_ops.footage.cases import create_case
    from camera_ops.footage.requests import Window, create_request
    from storage.models_evidence import Case

    if session.scalar(select(Case.id).where(Case.number == DEMO_CASE_NUMBER)) is not None:
        return
    officer = session.scalar(select(User).where(User.username == "dieutra"))
    camera = session.scalar(select(Camera).where(Camera.code == DEMO_CASE_CAMERA))
    if officer is None or camera is None:
        return
    actor = actor_for(officer, None)
    case = create_case(session, actor, officer, number=DEMO_CASE_NUMBER, unit="Công an xã Tân Chi",
                       title="Trộm cắp xe máy tại ngã ba đình",
                       legal_basis="Quyết định khởi tố vụ án hình sự số 12/QĐ-CSĐT ngày 21/11/2026")
    start = (now - DEMO_CLIP_AGO).replace(microsecond=0)
    create_request(session, settings, actor, officer, case, camera_ids=[camera.id],
                   window=Window(start, start + DEMO_CLIP_LENGTH), purpose="Xác minh đối tượng lấy trộm xe máy")


class BackgroundServices:
    """The monitor (its own event loop) and the archive worker, as threads of the demo process."""

    def __init__(self, settings: Settings, engine: Any) -> None:
        from camera_ops.footage.worker import Worker
        from camera_ops.monitor.engine import Monitor
        from camera_ops.monitor.main import default_jobs

        self._loop = asyncio.new_event_loop()
        self._monitor = Monitor(settings, engine=engine, jobs=default_jobs(settings))
        self._worker = Worker(engine, settings)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop.run_until_complete, args=(self._monitor.run(),), name="monitor"),
            threading.Thread(target=self._worker.run_forever, args=(self._stop,), name="worker"),
        ]

    def __enter__(self) -> BackgroundServices:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._loop.call_soon_threadsafe(self._monitor.stop)
        for thread in self._threads:
            thread.join(timeout=30)
        self._loop.close()


def run_demo(settings: Settings, *, port: int, camera_count: int) -> None:
    import uvicorn

    from api.app import create_app
    from api.server import server_config
    from camera_ops.sim.testing import running_fleet
    from storage.db import engine_for, session_scope
    from storage.migrate import upgrade

    for noisy in ("alembic", "httpx"):  # one line per migration step / per snapshot otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    upgrade(settings.resolved_database_url)
    engine = engine_for(settings.resolved_database_url)
    specs = demo_fleet_specs(camera_count)
    with running_fleet(specs, base_address=DEMO_SIM_BASE_ADDRESS, http_port=DEMO_SIM_HTTP_PORT,
                       rtsp_port=DEMO_SIM_RTSP_PORT) as fleet:
        with session_scope(engine) as session:
            seed(session, settings, fleet.cameras)
            seed_case(session, settings, now=utcnow())
        url = f"http://{settings.host}:{port}"
        with BackgroundServices(settings, engine):
            print(f"\ncamera-ops demo is running at {url}  (API docs: {url}/api/v1/docs)")
            print(f"log in as one of: {', '.join(u.username for u in DEMO_USERS)} — password {DEMO_PASSWORD}")
            print(f"{len(fleet.cameras)} simulated cameras on {DEMO_SIM_BASE_ADDRESS} and up, watched by the monitor;"
                  f" case {DEMO_CASE_NUMBER} has a clip being archived. Ctrl-C stops everything\n")
            uvicorn.Server(server_config(create_app(settings, engine=engine), settings, port=port,
                                         log_level="warning")).run()
