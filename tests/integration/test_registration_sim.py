"""Registering cameras through the real ONVIF handshake against simulated cameras."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from camera_ops.errors import CameraAuthFailed, CameraTimeout, CameraUnreachable, Conflict, NotOnvif
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Camera, RecordingCapability, RegistrationState
from tests.factories import make_commune

pytestmark = pytest.mark.db

SPECS = [
    CameraSpec(name="reg-hik", vendor="hikvision"),
    CameraSpec(name="reg-dahua", vendor="dahua"),
    CameraSpec(name="reg-generic", vendor="generic"),
    CameraSpec(name="reg-rtsponly", vendor="rtsp_only"),
]


@pytest.fixture(scope="module")
def fleet():
    with running_fleet(SPECS) as f:
        yield f


@pytest.fixture
def fast_settings(settings):
    settings.onvif_timeout_s = 2.0
    return settings


def _input(cam, hamlet_id: int, code: str | None = None, **kw) -> camera_service.CameraInput:
    data = dict(code=code or cam.name.upper(), name=cam.name, area_id=hamlet_id, host=cam.host,
                onvif_port=cam.onvif_port, username=cam.username, password=cam.password)
    data.update(kw)
    return camera_service.CameraInput(**data)


def test_handshake_fills_identity_streams_and_recording_capability(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    for cam, expected_recording in ((fleet.camera("reg-hik"), RecordingCapability.vendor_playback),
                                    (fleet.camera("reg-generic"), RecordingCapability.onvif_replay)):
        outcome = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id), scope=None)
        assert outcome.error is None, outcome.error
        c = outcome.camera
        assert c.registration == RegistrationState.registered
        assert c.mac == cam.mac.lower() and c.serial == cam.serial
        assert c.manufacturer == cam.manufacturer and c.device_model == cam.model and c.firmware == cam.firmware
        assert c.main_stream_uri.startswith("rtsp://") and c.sub_stream_uri.startswith("rtsp://")
        assert c.main_stream_uri != c.sub_stream_uri
        assert c.snapshot_uri.startswith("http://")
        assert cam.password not in c.main_stream_uri
        assert c.recording == expected_recording
        assert abs(c.clock_offset_s) < 2.0
        assert outcome.handshake["mac"]


def test_same_device_twice_is_refused_by_mac(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-dahua")
    camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id), scope=None)
    with pytest.raises(Conflict) as err:
        camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id, code="OTHER-CODE"), scope=None)
    assert "same MAC address" in err.value.message and err.value.details["duplicate_of"] == "REG-DAHUA"


def test_wrong_password_names_the_password_field_and_saves_nothing(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-generic")
    outcome = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id, password="wrong-one"),
                                             scope=None, save_if_unreachable=True)
    assert outcome.camera is None and isinstance(outcome.error, CameraAuthFailed)
    assert outcome.error.field == "password" and "wrong-one" not in outcome.error.message
    assert session.scalar(select(func.count()).select_from(Camera)) == 0


def test_a_port_that_is_not_onvif_names_the_port(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-rtsponly")
    outcome = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id), scope=None)
    assert isinstance(outcome.error, NotOnvif) and outcome.error.field == "port"
    rtsp_port = fleet.camera("reg-generic")
    outcome = camera_service.register_camera(
        session, fast_settings, _input(rtsp_port, hamlet.id, onvif_port=rtsp_port.rtsp_port), scope=None)
    assert isinstance(outcome.error, NotOnvif), outcome.error


def test_offline_camera_can_be_saved_pending_and_retried(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-hik")
    fleet.set_faults(cam.name, offline=True)
    try:
        refused = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id, code="H1"), scope=None)
        assert refused.camera is None and isinstance(refused.error, CameraUnreachable)
        assert refused.error.field == "host"
        kept = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id, code="H1"), scope=None,
                                              save_if_unreachable=True)
        assert kept.camera.registration == RegistrationState.pending
        assert kept.camera.handshake_error["code"] == "camera_unreachable"
    finally:
        fleet.clear_faults(cam.name)
    retried = camera_service.retry_handshake(session, fast_settings, kept.camera)
    assert retried.error is None and kept.camera.registration == RegistrationState.registered
    assert kept.camera.mac == cam.mac.lower()


def test_a_camera_that_hangs_times_out_within_the_deadline(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-generic")
    fleet.set_faults(cam.name, black_hole=True)
    try:
        started = datetime.now(timezone.utc)
        outcome = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id), scope=None)
        elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    finally:
        fleet.clear_faults(cam.name)
    assert isinstance(outcome.error, CameraTimeout)
    assert elapsed < 60  # bounded by the per-call deadline, not the library's 90 s defaults


def test_wildly_wrong_camera_clock_warns_and_is_never_changed(session, fast_settings, fleet):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-dahua")
    fleet.set_faults(cam.name, clock_skew_s=3 * 3600)
    try:
        outcome = camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id, code="SKEW"), scope=None)
        assert outcome.error is None, outcome.error
        assert abs(outcome.camera.clock_offset_s - 3 * 3600) < 5
        assert any("clock" in w.lower() for w in outcome.warnings)
        skew = (fleet.camera_clock(cam.name) - datetime.now(timezone.utc)).total_seconds()
        assert abs(skew - 3 * 3600) < 5  # we never set the camera's clock
    finally:
        fleet.clear_faults(cam.name)


def test_passwords_never_reach_the_logs(session, fast_settings, fleet, caplog):
    hamlet = make_commune(session).hamlets[0]
    cam = fleet.camera("reg-generic")
    with caplog.at_level("DEBUG"):
        camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id, password="Wr0ng-Secret"),
                                       scope=None)
        camera_service.register_camera(session, fast_settings, _input(cam, hamlet.id), scope=None)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Wr0ng-Secret" not in text and cam.password not in text
