"""Recording reach against simulated Profile G cameras: learnt at registration (true UTC, whatever the
camera's clock), refreshed by the daily job, shown on the camera page; clip requests outside it are
refused at once with the reach in the message; one near the oldest edge is warned and jumps the queue;
a camera that stopped recording gets the "not recording" reason from the monitor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from camera_ops.errors import ValidationFailed
from camera_ops.footage.jobs import claim_next
from camera_ops.footage.reach_job import RecordingReachJob
from camera_ops.footage.requests import Window, create_request
from camera_ops.health.status import ProbeOutcome, decide
from camera_ops.health.vocabulary import Reason, Status
from camera_ops.monitor.store import PasswordCache, load_cameras
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.db import session_factory
from storage.models import Camera
from storage.models_evidence import ArchiveJob, Clip
from storage.types import utcnow
from tests.factories import make_commune
from tests.footage_fixtures import actor, make_case, make_world, sim_camera_row

pytestmark = pytest.mark.db

CARD_HOURS = 2.0
SKEW_S = 900.0  # the camera's clock is 15 min fast: its recording times must be shifted back
H, M = timedelta(hours=1), timedelta(minutes=1)


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec(name="rr-g", vendor="generic", recording_hours=CARD_HOURS),
             CameraSpec(name="rr-dead", vendor="generic", recording_hours=CARD_HOURS)]
    with running_fleet(specs) as f:
        f.set_faults("rr-g", clock_skew_s=SKEW_S)
        f.set_faults("rr-dead", offline=True)  # donated, registered, then its power was cut
        yield f


def test_registration_learns_the_reach_in_true_utc(session, settings, fleet) -> None:
    settings.onvif_timeout_s = 3.0
    cam = fleet.camera("rr-g")
    hamlet = make_commune(session).hamlets[0]
    data = camera_service.CameraInput(code="RR-1", name="rr", area_id=hamlet.id, host=cam.host,
                                      onvif_port=cam.onvif_port, username=cam.username, password=cam.password)
    outcome = camera_service.register_camera(session, settings, data, scope=None)
    assert outcome.error is None, outcome.error
    camera, now = outcome.camera, utcnow()
    assert abs(camera.recording_until - now) < M  # recording now (not 15 min in the future)
    assert abs(camera.recording_from - (now - CARD_HOURS * H)) < M
    assert abs(camera.recording_checked_at - now) < M


def test_the_daily_job_refreshes_a_stale_reach(session, settings, engine, fleet) -> None:
    settings.onvif_timeout_s = 3.0
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("rr-g"), world.hamlet)
    camera.recording_from, camera.recording_until = utcnow() - 50 * H, utcnow() - 30 * H
    camera.recording_checked_at = utcnow() - 30 * H
    session.commit()
    assert RecordingReachJob(session_factory(engine), settings).run_once() == 1
    session.expire_all()
    camera = session.get(Camera, camera.id)
    assert abs(camera.recording_until - utcnow()) < M and abs(camera.recording_from - (utcnow() - CARD_HOURS * H)) < M
    session.commit()
    assert RecordingReachJob(session_factory(engine), settings).run_once() == 0  # fresh: not asked again today


def test_a_camera_that_does_not_answer_goes_to_the_back_of_the_queue_with_its_reason(session, settings, engine,
                                                                                      fleet) -> None:
    """Fifty dead cameras must not hold the head of the queue at every run, starving the others."""
    settings.onvif_timeout_s = 1.0
    world = make_world(session)
    dead = sim_camera_row(session, settings, fleet.camera("rr-dead"), world.hamlet)  # first in the queue
    alive = sim_camera_row(session, settings, fleet.camera("rr-g"), world.hamlet)
    session.commit()
    job = RecordingReachJob(session_factory(engine), settings, batch=1)
    assert job.run_once() == 0  # the dead camera was asked ...
    session.expire_all()
    failed = session.get(Camera, dead.id)
    assert failed.recording_problem["code"] in ("unreachable", "timeout")
    assert failed.recording_from is None and abs(failed.recording_checked_at - utcnow()) < M
    asked_at = failed.recording_checked_at
    session.commit()
    assert job.run_once() == 1  # ... and the next run reaches the live one
    assert job.run_once() == 0  # nothing is due any more
    session.expire_all()
    assert session.get(Camera, alive.id).recording_problem is None
    assert session.get(Camera, dead.id).recording_checked_at == asked_at
    session.commit()
    assert job.run_once(now=utcnow() + 3 * H) == 0  # a camera that did not answer is asked again hours later
    session.expire_all()
    assert session.get(Camera, dead.id).recording_checked_at > asked_at
    assert session.get(Camera, alive.id).recording_until is not None  # the live one keeps its day


def _camera_with_reach(session, settings, fleet, world, *, stopped_hours_ago: float = 0.0):
    camera = sim_camera_row(session, settings, fleet.camera("rr-g"), world.hamlet)
    now = utcnow()
    camera.recording_until = now - stopped_hours_ago * H
    camera.recording_from = camera.recording_until - CARD_HOURS * H
    camera.recording_checked_at = now
    session.flush()
    return camera


def test_a_request_older_than_the_reach_is_refused_at_once_with_the_reach(session, settings, fleet) -> None:
    world = make_world(session)
    camera = _camera_with_reach(session, settings, fleet, world)
    case = make_case(session, world)
    now = utcnow()
    with pytest.raises(ValidationFailed) as info:
        create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                       window=Window(now - 3 * H, now - 3 * H + 10 * M), purpose="xem lại vụ trộm xe")
    assert info.value.field == "start"
    assert f"Camera {camera.code} chỉ còn dữ liệu từ" in info.value.message
    assert session.scalars(select(Clip)).all() == []  # nothing half-saved


def test_a_request_near_the_oldest_edge_is_warned_and_jumps_the_queue(session, settings, fleet) -> None:
    world = make_world(session)
    camera = _camera_with_reach(session, settings, fleet, world)
    case = make_case(session, world)
    now = utcnow()
    calm = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                          window=Window(now - 30 * M, now - 20 * M), purpose="xem lại vụ trộm xe")
    urgent = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                            window=Window(now - 100 * M, now - 90 * M), purpose="xem lại vụ trộm xe")
    session.commit()
    (urgent_clip,) = urgent.clips
    assert urgent_clip.status_reason.startswith("Dữ liệu này sẽ bị ghi đè trong khoảng 19 phút") or \
        urgent_clip.status_reason.startswith("Dữ liệu này sẽ bị ghi đè trong khoảng 20 phút")
    assert calm.clips[0].status_reason is None
    claim = claim_next(session, owner="test", lease_s=60)
    session.commit()
    assert claim is not None and claim.clip_id == urgent_clip.id


def test_a_camera_that_stopped_recording_is_degraded_not_recording(session, settings, fleet) -> None:
    world = make_world(session)
    stopped = _camera_with_reach(session, settings, fleet, world, stopped_hours_ago=5)
    session.commit()
    rows = load_cameras(session, PasswordCache(settings))
    assert rows[stopped.id].target.not_recording
    outcome = ProbeOutcome(at=utcnow(), tcp_ok=True, onvif_ok=True, auth_ok=True, rtsp_ok=True, not_recording=True)
    decision = decide(None, outcome)
    assert decision.new_state.status is Status.DEGRADED and decision.new_state.reasons == (Reason.NOT_RECORDING,)
    case = make_case(session, world)
    now = utcnow()
    with pytest.raises(ValidationFailed) as info:
        create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[stopped.id],
                       window=Window(now - 2 * H, now - 2 * H + 5 * M), purpose="xem lại vụ trộm xe")
    assert info.value.field == "end" and "ngừng ghi hình" in info.value.message


def test_the_camera_page_shows_the_reach_in_vietnam_time(session, settings, fleet) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.models import Role
    from tests.factories import make_user, web_login

    world = make_world(session)
    camera = _camera_with_reach(session, settings, fleet, world)
    make_user(session, Role.admin, [], username="reach-admin")
    session.commit()
    client = TestClient(create_app(settings))
    web_login(client, "reach-admin")
    page = client.get(f"/cameras/{camera.id}")
    assert page.status_code == 200
    from camera_ops.i18n import fmt_datetime
    assert "Dữ liệu ghi trên camera" in page.text
    assert f"từ {fmt_datetime(camera.recording_from)} đến {fmt_datetime(camera.recording_until)}" in page.text
