"""DVR/NVR: a 4-channel simulated recorder registers once and each channel becomes a camera sharing
the recorder's credentials and identity (MAC + channel); each channel is monitored (online, offline
within two cycles of an outage, back) and gives clips; a channel the recorder lacks is a clear error."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from camera_ops.errors import ValidationFailed
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.testing import running_monitor
from camera_ops.registry import cameras as camera_service
from camera_ops.registry.recorders import RecorderInput, register_recorder
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Camera, CameraKind, RecordingCapability, Role
from storage.models_evidence import Clip, ClipStatus
from storage.types import utcnow
from tests.factories import api_login, make_user
from tests.footage_fixtures import actor, make_case, make_world, recent_window
from tests.integration.test_monitor_engine import WAIT_S, db_status, fast_settings, wait_cycles

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")]


@pytest.fixture(scope="module")
def fleet():
    with running_fleet([CameraSpec("nvr-1", vendor="nvr"), CameraSpec("nvr-2", vendor="nvr", channels=2)]) as f:
        yield f


def recorder_input(world, rec, **extra) -> RecorderInput:
    data = dict(code="DVR-A", name="Đầu ghi nhà văn hóa", area_id=world.hamlet.id, host=rec.host,
                onvif_port=rec.onvif_port, username=rec.username, password=rec.password)
    data.update(extra)
    return RecorderInput(**data)


def test_a_recorder_registers_once_and_each_channel_is_a_camera_that_is_monitored_and_gives_clips(
        session, engine, settings, fleet):
    settings = fast_settings(settings)
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    rec = fleet.camera("nvr-1")
    outcome = register_recorder(session, settings, recorder_input(world, rec), scope=None)
    assert outcome.error is None, outcome.error
    cameras = outcome.cameras
    assert [c.channel for c in cameras] == [1, 2, 3, 4] and [c.code for c in cameras][-1] == "DVR-A-K4"
    assert {c.mac for c in cameras} == {rec.mac.lower()} and all(c.kind is CameraKind.recorder_channel for c in cameras)
    assert {c.username for c in cameras} == {rec.username}
    assert cameras[2].main_stream_uri.endswith("/Streaming/Channels/301")
    assert cameras[2].sub_stream_uri.endswith("/Streaming/Channels/302")
    assert cameras[2].recording is RecordingCapability.vendor_playback
    assert "/Streaming/tracks/301?" in cameras[2].playback_url_template
    ids = [c.id for c in cameras]
    session.commit()

    async def monitor_through_an_outage() -> None:
        async with running_monitor(settings, engine=engine) as monitor:
            await monitor.wait_for(lambda: all(i in monitor.cameras and monitor.cameras[i].state.status
                                               is Status.ONLINE for i in ids), timeout_s=WAIT_S)
            fleet.set_faults(rec.name, offline=True)  # the recorder loses power: all its channels go
            await wait_cycles(monitor, ids, 2)
            assert {db_status(session, i)[0] for i in ids} == {Status.OFFLINE}
            fleet.clear_faults(rec.name)
            await wait_cycles(monitor, ids, 2)
            assert {db_status(session, i)[0] for i in ids} == {Status.ONLINE}
    asyncio.run(monitor_through_an_outage())

    channel_3 = session.get(Camera, ids[2])
    request = create_request(session, settings, actor(world.officer), world.officer, make_case(session, world),
                             camera_ids=[channel_3.id], window=Window(*recent_window(fleet.camera_clock(rec.name), 3)),
                             purpose="xác minh vụ trộm xe")
    start = utcnow() + timedelta(seconds=1)
    live = create_request(session, settings, actor(world.officer), world.officer,
                          make_case(session, world, number="13/2026/VA"), camera_ids=[ids[1]],
                          window=Window(start, start + timedelta(seconds=2)), purpose="xác minh vụ việc", live=True)
    clip_ids = [request.clips[0].id, live.clips[0].id]
    session.commit()
    Worker(engine, settings).run_until_idle()
    for clip_id, method in zip(clip_ids, ("vendor_playback", "live")):
        clip = session.get(Clip, clip_id)
        session.refresh(clip)
        assert clip.status is ClipStatus.archived and clip.method.value == method, clip.status_reason


def test_a_channel_the_recorder_lacks_is_refused_with_the_channels_it_has_and_nothing_is_saved(
        session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    rec = fleet.camera("nvr-2")
    with pytest.raises(ValidationFailed) as err:
        register_recorder(session, settings, recorder_input(world, rec, channels=[1, 3]), scope=None)
    assert err.value.field == "channels" and "no channel 3" in err.value.message and "1, 2" in err.value.message
    assert session.scalar(select(func.count()).select_from(Camera)) == 0
    outcome = register_recorder(session, settings, recorder_input(world, rec, channels=[2]), scope=None)
    assert [c.code for c in outcome.cameras] == ["DVR-A-K2"]
    with pytest.raises(Exception) as again:  # the same channel of the same recorder twice
        register_recorder(session, settings, recorder_input(world, rec, code="DVR-B", channels=[2]), scope=None)
    assert "MAC" in str(getattr(again.value, "message", again.value))


def test_an_rtsp_recorder_registers_its_channel_urls_and_a_missing_channel_is_named(session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    rec = fleet.camera("nvr-2")
    base = f"rtsp://{rec.host}:{rec.rtsp_port}/Streaming/Channels/"
    data = recorder_input(world, rec, kind=CameraKind.rtsp, host="", stream_url_template=base + "{channel}01",
                          sub_stream_url_template=base + "{channel}02", channels=[1, 2, 3])
    with pytest.raises(ValidationFailed) as err:
        register_recorder(session, settings, data, scope=None)
    assert err.value.field == "channels" and "no channel 3" in err.value.message
    data.channels = [1, 2]
    outcome = register_recorder(session, settings, data, scope=None)
    assert outcome.error is None, outcome.error
    assert [(c.kind, c.channel) for c in outcome.cameras] == [(CameraKind.rtsp, 1), (CameraKind.rtsp, 2)]


def test_api_registers_a_recorder(engine, session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    make_user(session, Role.admin, username="boss")
    session.commit()
    rec = fleet.camera("nvr-2")
    body = {"code": "NVR-API", "name": "Đầu ghi", "area_id": world.hamlet.id, "host": rec.host,
            "onvif_port": rec.onvif_port, "username": rec.username, "password": rec.password}
    with TestClient(create_app(settings, engine=engine)) as client:
        headers = api_login(client, "boss")
        response = client.post("/api/v1/cameras/recorders", json=body, headers=headers)
        assert response.status_code == 201, response.text
        assert [c["channel"] for c in response.json()["cameras"]] == [1, 2]
        bad = client.post("/api/v1/cameras/recorders", json={**body, "code": "NVR-X", "channels": [7]},
                          headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "channels"
    assert camera_service  # the module registers single cameras; recorders go through register_recorder


def test_web_form_adds_a_recorder_and_names_a_missing_channel(engine, session, settings, fleet):
    import re

    from tests.factories import web_login
    from tests.integration.test_web_pages import csrf

    settings.onvif_timeout_s = 5.0
    world = make_world(session)
    make_user(session, Role.commune_police, [world.hamlet], username="congan2")
    session.commit()
    rec = fleet.camera("nvr-2")
    form = {"code": "WEB-NVR", "name": "Đầu ghi chợ", "area_id": str(world.hamlet.id), "kind": "onvif",
            "host": rec.host, "onvif_port": str(rec.onvif_port), "username": rec.username, "password": rec.password}
    with TestClient(create_app(settings, engine=engine)) as client:
        web_login(client, "congan2")
        for lang in ("en", "vi"):  # the page in both languages; Vietnamese stays chosen
            assert client.get("/cameras/recorders/new", params={"lang": lang}).status_code == 200
        r = client.post("/cameras/recorders/new", data={**form, "channels": "1, 5",
                                                         "csrf_token": csrf(client, "/cameras/recorders/new")})
        assert r.status_code == 422 and "kênh 5" in r.text and 'class="field-error"' in r.text
        r = client.post("/cameras/recorders/new", data={**form, "csrf_token": csrf(client, "/cameras/recorders/new")})
        assert r.status_code == 201, r.text[-1500:]
        assert re.findall(r'data-channel="(\d+)"', r.text) == ["1", "2"]
    session.expire_all()
    assert sorted(session.scalars(select(Camera.code).where(Camera.code.like("WEB-NVR%"))).all()) == [
        "WEB-NVR-K1", "WEB-NVR-K2"]
