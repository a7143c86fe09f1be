"""Registration names the right field, fast: an RTSP port typed as the ONVIF port (answering or
silent) is named as such with the usual ONVIF ports, without waiting for the deadline; a port that
accepts and never answers is the port, not the host; a camera that checks WS-Security against its
own far-off clock is signed on its time, and says so; refusals say which mechanism refused."""

from __future__ import annotations

import pytest

from camera_ops.errors import CameraAuthFailed, CameraTimeout, NotOnvif
from camera_ops.registry import cameras as camera_service
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from tests.factories import make_commune

pytestmark = [pytest.mark.db, pytest.mark.timeout(120)]

LONG_DEADLINE_S = 60.0  # a wrong port must be named long before this (the test would time out first)


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec("dx-gen", vendor="generic"), CameraSpec("dx-silent", vendor="generic"),
             CameraSpec("dx-skew", vendor="hikvision")]
    with running_fleet(specs) as handle:
        yield handle


def register(session, settings, cam, *, port=None, password=None, code="DX"):
    hamlet = make_commune(session).hamlets[0]
    data = camera_service.CameraInput(code=code, name=code, area_id=hamlet.id, host=cam.host,
                                      onvif_port=port or cam.onvif_port, username=cam.username,
                                      password=password or cam.password)
    return camera_service.register_camera(session, settings, data, scope=None)


@pytest.mark.parametrize("name", ["dx-gen", "dx-silent"])
def test_the_rtsp_port_typed_as_onvif_port_is_named_with_the_ports_to_try(session, settings, fleet, name):
    settings.onvif_timeout_s = LONG_DEADLINE_S
    cam = fleet.camera(name)
    if name == "dx-silent":
        fleet.set_faults(name, silent_to_http=True)  # the RTSP server waits for more instead of answering
    try:
        outcome = register(session, settings, cam, port=cam.rtsp_port)
    finally:
        fleet.clear_faults(name)
    assert isinstance(outcome.error, NotOnvif) and outcome.error.field == "port", outcome.error
    assert outcome.error.details["speaks"] == "rtsp"
    assert "RTSP" in outcome.error.message and "80, 8000, 8080, 2020, 8899" in outcome.error.message


def test_a_port_that_accepts_and_never_answers_is_the_port_not_the_host(session, settings, fleet):
    settings.onvif_timeout_s = 2.0
    fleet.set_faults("dx-gen", black_hole=True)
    try:
        outcome = register(session, settings, fleet.camera("dx-gen"))
    finally:
        fleet.clear_faults("dx-gen")
    assert isinstance(outcome.error, CameraTimeout) and outcome.error.field == "port"
    assert "accepts connections" in outcome.error.message


def test_a_camera_that_checks_signatures_on_its_far_off_clock_is_signed_on_its_time_and_says_so(
        session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    fleet.set_faults("dx-skew", time_needs_auth=True, clock_skew_s=3600.0)
    try:
        outcome = register(session, settings, fleet.camera("dx-skew"))
        assert outcome.error is None, outcome.error
        assert abs(outcome.camera.clock_offset_s - 3600.0) < 3.0
        assert any("signed on the camera's time" in w for w in outcome.warnings), outcome.warnings
        refused = register(session, settings, fleet.camera("dx-skew"), password="wrong-pass", code="DX2")
    finally:
        fleet.clear_faults("dx-skew")
    assert isinstance(refused.error, CameraAuthFailed) and refused.error.field == "password"
    assert "WS-Security" in refused.error.message and "wrong-pass" not in refused.error.message


def test_a_refusal_over_http_digest_says_http_401(session, settings, fleet):
    settings.onvif_timeout_s = 5.0
    outcome = register(session, settings, fleet.camera("dx-gen"), password="wrong-pass")
    assert isinstance(outcome.error, CameraAuthFailed) and outcome.error.field == "password"
    assert "WS-Security" in outcome.error.message or "HTTP 401" in outcome.error.message
