"""Each camera kind, end to end over real sockets: registered through its own path, monitored until
online (with a picture), offline within two cycles of an outage, back on one good probe, and a
live clip archived from it. A pending camera is "not connected yet": never probed, never offline.

Time is counted in probe slots, never asserted in seconds (see test_monitor_engine)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.testing import running_monitor
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Camera, CameraKind, CameraStatus, RegistrationState
from storage.models_evidence import Clip, ClipStatus
from camera_ops.alerts.detector import AlertJob
from storage.db import session_factory
from storage.models_monitoring import Alert, AlertKind, CameraHealth, CameraStatusChange
from storage.types import utcnow
from tests.footage_fixtures import actor, make_case, make_world
from tests.integration.test_monitor_engine import WAIT_S, db_status, fast_settings, wait_cycles

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")]


def register(session, settings, hamlet_id, info, kind: CameraKind, code: str) -> Camera:
    if kind is CameraKind.rtsp:
        data = camera_service.CameraInput(code=code, name=code, area_id=hamlet_id, host="", kind=kind,
                                          stream_url=info.rtsp_main_url, sub_stream_url=info.rtsp_sub_url,
                                          username=info.username, password=info.password)
    else:
        data = camera_service.CameraInput(code=code, name=code, area_id=hamlet_id, host=info.host,
                                          onvif_port=info.onvif_port, username=info.username,
                                          password=info.password)
    outcome = camera_service.register_camera(session, settings, data, scope=None)
    assert outcome.error is None, outcome.error
    return outcome.camera


def live_clip(session, engine, settings, world, camera_id: int) -> Clip:
    start = utcnow() + timedelta(seconds=1)
    request = create_request(session, settings, actor(world.officer), world.officer, make_case(session, world,
                             number=f"{camera_id}/2026/VA"), camera_ids=[camera_id],
                             window=Window(start, start + timedelta(seconds=2)), purpose="xác minh vụ việc", live=True)
    clip_id = request.clips[0].id
    session.commit()
    Worker(engine, settings).run_until_idle()
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    return clip


async def until(session, settings, engine, camera_id, status: Status, pending_id=None) -> None:
    """Run the monitor until the camera has ``status`` in the database (two cycles at most after a change)."""
    async with running_monitor(settings, engine=engine) as monitor:
        await monitor.wait_for(lambda: camera_id in monitor.cameras, timeout_s=WAIT_S)
        if pending_id is not None:
            assert pending_id not in monitor.cameras  # not connected yet: never probed
        await monitor.wait_for(lambda: (rt := monitor.cameras[camera_id]).state.status is status and (
            status is not Status.ONLINE or rt.picture is not None), timeout_s=WAIT_S)
        await wait_cycles(monitor, [camera_id], 0)


def alerts_of(session, camera_id: int) -> list[AlertKind]:
    session.expire_all()
    rows = session.scalars(select(Alert).order_by(Alert.id)).all()
    kinds = [a.kind for a in rows]
    session.commit()
    return kinds


def outage_with_alerts(session, settings, engine, fleet, name, camera_id, pending_id) -> None:
    """Online → offline within two cycles → one alert once it lasted alert_after_s → back → recovery alert."""
    jobs = AlertJob(session_factory(engine), settings)
    asyncio.run(until(session, settings, engine, camera_id, Status.ONLINE, pending_id))
    fleet.set_faults(name, offline=True)

    async def two_cycles_to_offline() -> None:
        async with running_monitor(settings, engine=engine) as monitor:
            await monitor.wait_for(lambda: camera_id in monitor.cameras, timeout_s=WAIT_S)
            await wait_cycles(monitor, [camera_id], 2)
            assert db_status(session, camera_id)[0] is Status.OFFLINE
    asyncio.run(two_cycles_to_offline())
    jobs.run_once(utcnow() + timedelta(seconds=settings.alert_after_s))  # the job is told the time
    assert alerts_of(session, camera_id) == [AlertKind.camera_down]
    fleet.clear_faults(name)
    asyncio.run(until(session, settings, engine, camera_id, Status.ONLINE))
    jobs.run_once(utcnow() + timedelta(seconds=settings.alert_after_s))
    assert alerts_of(session, camera_id) == [AlertKind.camera_down, AlertKind.camera_recovered]


@pytest.mark.parametrize("kind", [CameraKind.rtsp, CameraKind.onvif])
def test_a_camera_of_each_kind_goes_online_survives_an_outage_and_gives_a_clip(
        session, engine, settings, kind):
    settings = fast_settings(settings, alert_after_s=600.0)
    settings.onvif_timeout_s = 3.0
    vendor = "rtsp_only" if kind is CameraKind.rtsp else "generic"
    with running_fleet([CameraSpec("k-1", vendor=vendor), CameraSpec("k-pending", vendor=vendor)]) as fleet:
        world = make_world(session)
        camera = register(session, settings, world.hamlet.id, fleet.camera("k-1"), kind, "K-1")
        fleet.set_faults("k-pending", offline=True)
        pending = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="K-P", name="K-P", area_id=world.hamlet.id, host=fleet.camera("k-pending").host,
            onvif_port=fleet.camera("k-pending").onvif_port, username="admin", password="x"),
            scope=None, pending=True).camera
        camera_id, pending_id = camera.id, pending.id
        session.commit()
        outage_with_alerts(session, settings, engine, fleet, "k-1", camera_id, pending_id)
        health = session.get(CameraHealth, camera_id)
        assert health.snapshot_at is not None and health.thumbnail  # picture health ran (keyframe for RTSP)
        rows = session.scalars(select(CameraStatusChange.status).where(CameraStatusChange.camera_id == camera_id)
                               .order_by(CameraStatusChange.at)).all()
        assert [str(getattr(r, "value", r)) for r in rows][-3:] == ["online", "offline", "online"]
        assert pending_id not in {a.camera_id for a in session.scalars(select(Alert)).all()}
        assert session.get(Camera, pending_id).status is CameraStatus.unknown
        assert session.get(Camera, pending_id).registration is RegistrationState.pending
        assert not session.scalars(select(CameraStatusChange).where(CameraStatusChange.camera_id == pending_id)).all()
        session.commit()
        clip = live_clip(session, engine, settings, world, camera_id)
        assert clip.status is ClipStatus.archived, clip.status_reason
        assert clip.frame_count > 0
