"""Reachability as entered: a camera behind a port-forward (it reports its LAN address, which the
station cannot reach) is registered, monitored and pulled from through TCP forwarders on another
127.x address and other ports. A forward that accepts and drops gives a clear, field-level error."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from camera_ops.errors import CameraUnreachable, NotOnvif
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.testing import running_monitor
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.forwarder import running_forwarders
from camera_ops.sim.testing import running_fleet
from storage.models import CameraKind, RecordingCapability
from storage.models_evidence import Clip, ClipStatus
from tests.footage_fixtures import actor, make_case, make_world, recent_window
from tests.integration.test_monitor_engine import WAIT_S, fast_settings

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(240)]

LAN = "192.0.2.64"  # TEST-NET-1: what the camera reports; never routed, so nothing may go there


def forward_address() -> str:
    return f"127.{random.randrange(32, 64)}.{random.randrange(256)}.{random.randrange(2, 250)}"


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec("nat-gen", vendor="generic", lan_address=LAN),
             CameraSpec("nat-hik", vendor="hikvision", lan_address=LAN),
             CameraSpec("nat-rtsp", vendor="rtsp_only")]
    with running_fleet(specs) as handle:
        yield handle


def test_a_camera_behind_a_port_forward_registers_is_monitored_and_gives_a_clip_through_it(
        session, engine, settings, fleet):
    settings = fast_settings(settings)
    settings.onvif_timeout_s = 3.0
    cam = fleet.camera("nat-gen")
    outside = forward_address()
    with running_forwarders(outside, [(cam.host, cam.onvif_port), (cam.host, cam.rtsp_port)]) as (web, rtsp):
        world = make_world(session)
        data = camera_service.CameraInput(code="NAT-1", name="Nhà ông Ba", area_id=world.hamlet.id, host=outside,
                                          onvif_port=web.port, rtsp_port=rtsp.port, username=cam.username,
                                          password=cam.password)
        outcome = camera_service.register_camera(session, settings, data, scope=None)
        assert outcome.error is None, outcome.error
        camera = outcome.camera
        for uri, port in ((camera.main_stream_uri, rtsp.port), (camera.sub_stream_uri, rtsp.port),
                          (camera.replay_uri, rtsp.port), (camera.snapshot_uri, web.port)):
            parts = urlsplit(uri)
            assert (parts.hostname, parts.port) == (outside, port), uri
        assert LAN in outcome.handshake["main_stream_uri"]  # what the camera said, kept for the record
        assert camera.recording is RecordingCapability.onvif_replay
        camera_id = camera.id
        session.commit()
        before = web.connections + rtsp.connections

        async def monitor_it() -> None:
            async with running_monitor(settings, engine=engine) as monitor:
                await monitor.wait_for(lambda: camera_id in monitor.cameras and (
                    rt := monitor.cameras[camera_id]).state.status is Status.ONLINE and rt.picture is not None,
                    timeout_s=WAIT_S)
        asyncio.run(monitor_it())
        assert web.connections + rtsp.connections > before  # the monitor went through the forward
        request = create_request(session, settings, actor(world.officer), world.officer, make_case(session, world),
                                 camera_ids=[camera_id], window=Window(*recent_window(fleet.camera_clock(cam.name), 3)),
                                 purpose="xác minh vụ trộm xe")
        clip_id = request.clips[0].id
        session.commit()
        replays_before = rtsp.connections
        Worker(engine, settings).run_until_idle()
        clip = session.get(Clip, clip_id)
        session.refresh(clip)
        assert clip.status is ClipStatus.archived, clip.status_reason
        assert clip.method.value == "onvif_replay" and rtsp.connections > replays_before


def test_vendor_playback_and_rtsp_only_streams_follow_the_entered_ports(session, settings, fleet):
    settings.onvif_timeout_s = 3.0
    hik, plain = fleet.camera("nat-hik"), fleet.camera("nat-rtsp")
    outside = forward_address()
    targets = [(hik.host, hik.onvif_port), (hik.host, hik.rtsp_port), (plain.host, plain.rtsp_port)]
    with running_forwarders(outside, targets) as (web, rtsp, plain_rtsp):
        world = make_world(session)
        outcome = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="NAT-HIK", name="Hik", area_id=world.hamlet.id, host=outside, onvif_port=web.port,
            rtsp_port=rtsp.port, username=hik.username, password=hik.password), scope=None)
        assert outcome.error is None, outcome.error
        template = outcome.camera.playback_url_template
        assert template.startswith(f"rtsp://{outside}:{rtsp.port}/Streaming/tracks/101?")
        # RTSP-only: the URL as the camera's LAN shows it, the outside address and port entered
        lan_url = plain.rtsp_main_url.replace(f"{plain.host}:{plain.rtsp_port}", f"{LAN}:554")
        outcome = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="NAT-RTSP", name="Plain", area_id=world.hamlet.id, host=outside, kind=CameraKind.rtsp,
            stream_url=lan_url, rtsp_port=plain_rtsp.port, username=plain.username, password=plain.password),
            scope=None)
        assert outcome.error is None, outcome.error
        assert outcome.camera.main_stream_uri == f"rtsp://{outside}:{plain_rtsp.port}/live/main"
        # every URI can be set by hand (kept across handshakes), never towards another host
        camera = camera_service.update_camera(session, settings, outcome.camera, {
            "sub_stream_uri": f"rtsp://{outside}:{plain_rtsp.port}/live/sub", "password": plain.password}, scope=None)
        assert camera.sub_stream_uri.endswith("/live/sub")
        with pytest.raises(Exception) as err:
            camera_service.update_camera(session, settings, camera, {"snapshot_uri": "http://203.0.113.9/x.jpg",
                                                                     "password": plain.password}, scope=None)
        assert getattr(err.value, "field", None) == "snapshot_uri"


def test_a_forward_that_accepts_and_drops_is_a_clear_field_level_error(session, settings, fleet):
    settings.onvif_timeout_s = 3.0
    cam, plain = fleet.camera("nat-gen"), fleet.camera("nat-rtsp")
    outside = forward_address()
    with running_forwarders(outside, [(cam.host, cam.onvif_port), (plain.host, plain.rtsp_port)],
                            drop=True) as (web, rtsp):
        world = make_world(session)
        outcome = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="DROP-1", name="Drop", area_id=world.hamlet.id, host=outside, onvif_port=web.port,
            username=cam.username, password=cam.password), scope=None)
        assert isinstance(outcome.error, NotOnvif) and outcome.error.field == "port"
        assert "accepted the connection and closed it" in outcome.error.message
        outcome = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="DROP-2", name="Drop", area_id=world.hamlet.id, host=outside, kind=CameraKind.rtsp,
            stream_url=f"rtsp://{outside}:{rtsp.port}/live/main", username=plain.username,
            password=plain.password), scope=None)
        assert isinstance(outcome.error, CameraUnreachable) and outcome.error.field == "rtsp_port"
        assert "accepted the RTSP connection and closed it" in outcome.error.message
        assert outcome.camera is None
