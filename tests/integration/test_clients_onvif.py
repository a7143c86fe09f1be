"""ONVIF handshake and raw SOAP probe against the camera simulator over real sockets."""

import json
from datetime import timezone

import pytest

from camera_ops.errors import CameraAuthFailed, CameraTimeout, CameraUnreachable, NotOnvif
from camera_ops.onvif.handshake import handshake
from camera_ops.onvif.rawsoap import get_system_date_and_time
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet

pytestmark = pytest.mark.timeout(60)
TIMEOUT_S = 5.0
VENDORS = ["hikvision", "dahua", "generic"]


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec(name=v, vendor=v) for v in VENDORS]
    specs += [CameraSpec(name="plain-rtsp", vendor="rtsp_only"), CameraSpec(name="victim", vendor="generic")]
    with running_fleet(specs) as handle:
        yield handle


@pytest.fixture
def victim(fleet):
    cam = fleet.camera("victim")
    yield cam
    fleet.clear_faults("victim")


@pytest.mark.parametrize("vendor", VENDORS)
async def test_handshake_learns_identity_streams_and_recording_capability(fleet, vendor):
    cam = fleet.camera(vendor)
    result = await handshake(cam.host, cam.onvif_port, cam.username, cam.password, timeout_s=TIMEOUT_S)
    assert (result.manufacturer, result.model, result.firmware) == (cam.manufacturer, cam.model, cam.firmware)
    assert result.serial == cam.serial and result.mac == cam.mac.lower()
    assert result.main_stream_uri == cam.rtsp_main_url and result.sub_stream_uri == cam.rtsp_sub_url
    assert result.snapshot_uri is not None and result.auth_method == "digest"
    assert result.profile_g == cam.profile_g
    if cam.profile_g:
        assert result.replay_uri == cam.replay_url and result.recording_token
        assert result.recording_earliest < result.recording_latest
    assert abs(result.clock_offset_s) < 5 and result.warnings == []
    main = next(p for p in result.profiles if p.token == result.main_profile_token)
    assert main.encoding == "h264" and main.pixels > 0
    assert cam.password not in json.dumps(result.to_dict())  # JSON-able, and no secret in it


async def test_wrong_password_is_reported_as_the_password_field(fleet, victim):
    fleet.set_faults("victim", password="changed-by-installer")
    with pytest.raises(CameraAuthFailed) as info:
        await handshake(victim.host, victim.onvif_port, victim.username, victim.password, timeout_s=TIMEOUT_S)
    assert info.value.field == "password" and victim.password not in str(info.value)


async def test_offline_camera_is_reported_as_the_host_field(fleet, victim):
    fleet.set_faults("victim", offline=True)
    with pytest.raises(CameraUnreachable) as info:
        await handshake(victim.host, victim.onvif_port, victim.username, victim.password, timeout_s=TIMEOUT_S)
    assert info.value.field == "host"


async def test_black_hole_camera_times_out_within_our_deadline(fleet, victim):
    fleet.set_faults("victim", black_hole=True)
    with pytest.raises(CameraTimeout):
        await handshake(victim.host, victim.onvif_port, victim.username, victim.password, timeout_s=0.5)


async def test_port_that_answers_http_but_not_onvif_is_reported_as_the_port_field(fleet):
    cam = fleet.camera("plain-rtsp")
    with pytest.raises(NotOnvif) as info:
        await handshake(cam.host, cam.onvif_port, cam.username, cam.password, timeout_s=TIMEOUT_S)
    assert info.value.field == "port"


async def test_clock_far_off_is_a_warning_and_authentication_still_works(fleet, victim):
    fleet.set_faults("victim", clock_skew_s=3 * 3600)
    result = await handshake(victim.host, victim.onvif_port, victim.username, victim.password, timeout_s=TIMEOUT_S)
    assert result.clock_offset_s == pytest.approx(3 * 3600, abs=5)
    assert any("clock" in w for w in result.warnings) and result.serial == victim.serial


@pytest.mark.parametrize("skew_s", [0.0, -600.0])
async def test_raw_probe_reads_the_camera_clock(fleet, victim, skew_s):
    fleet.set_faults("victim", clock_skew_s=skew_s)
    result = await get_system_date_and_time(victim.host, victim.onvif_port, timeout_s=TIMEOUT_S)
    assert result.clock_offset_s == pytest.approx(skew_s, abs=2)
    camera_now = fleet.camera_clock("victim")
    assert abs((camera_now - result.camera_utc).total_seconds()) < 3
    assert result.camera_utc.tzinfo == timezone.utc and result.rtt_s < TIMEOUT_S


async def test_raw_probe_maps_offline_and_black_hole(fleet, victim):
    fleet.set_faults("victim", offline=True)
    with pytest.raises(CameraUnreachable):
        await get_system_date_and_time(victim.host, victim.onvif_port, timeout_s=TIMEOUT_S)
    fleet.set_faults("victim", offline=False, black_hole=True)
    with pytest.raises(CameraTimeout):
        await get_system_date_and_time(victim.host, victim.onvif_port, timeout_s=0.3)
