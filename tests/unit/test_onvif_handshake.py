"""Pure parts of the registration handshake: error mapping, profile choice, MAC and URI cleanup."""

import aiohttp
import pytest
import zeep.exceptions
from lxml import etree
from onvif.exceptions import ONVIFError

from camera_ops.errors import (
    CameraAuthFailed,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    NoUsableProfile,
    NotOnvif,
)
from camera_ops.onvif.handshake import (
    HandshakeResult,
    MediaProfile,
    _camera_error,
    clean_uri,
    normalize_mac,
    pick_main_and_sub,
)


def profile(token, encoding, width, height, fps=25.0):
    return MediaProfile(token, token, encoding, width, height, fps)


@pytest.mark.parametrize(("raw", "expected"), [
    ("AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff"),
    ("aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),
    ("3C:EF:8C:12:F2:07", "3c:ef:8c:12:f2:07"),
    ("00:00:00:00:00:00", None),
    ("not a mac", None),
    (None, None),
])
def test_mac_is_normalized_or_rejected(raw, expected):
    assert normalize_mac(raw) == expected


@pytest.mark.parametrize(("answer", "expected"), [
    ("rtsp://admin:12345@10.0.0.5:554/Streaming/Channels/101", "rtsp://10.0.0.5:554/Streaming/Channels/101"),
    ("http://10.0.0.5/snap.jpg?user=admin&password=12345&ch=1", "http://10.0.0.5/snap.jpg?ch=1"),
    ("rtsp://10.0.0.5/stream1", "rtsp://10.0.0.5/stream1"),
    (None, None),
])
def test_uris_lose_embedded_credentials(answer, expected):
    assert clean_uri(answer) == expected


def test_uri_answer_object_or_bare_string():
    class Answer:
        Uri = "rtsp://u:p@h/x"

    assert clean_uri(Answer()) == clean_uri("rtsp://u:p@h/x") == "rtsp://h/x"


def test_main_is_largest_and_sub_smallest_usable_profile():
    profiles = [profile("jpeg", "jpeg", 3840, 2160), profile("sub", "h264", 640, 360),
                profile("main", "hevc", 2560, 1440), profile("third", "h264", 1280, 720)]
    main, sub = pick_main_and_sub(profiles)
    assert (main.token, sub.token) == ("main", "sub")


def test_single_profile_is_both_main_and_sub():
    only = profile("p", "h264", 1920, 1080)
    assert pick_main_and_sub([only]) == (only, only)


def test_no_h264_or_h265_profile_names_the_profile_field():
    with pytest.raises(NoUsableProfile) as info:
        pick_main_and_sub([profile("j", "jpeg", 640, 480), profile("m", "mpeg4", 640, 480)])
    assert info.value.field == "profile" and "jpeg" in info.value.message


AUTH_FAULT = zeep.exceptions.Fault("Sender not Authorized", code="env:Sender", subcodes=[etree.QName("http://www.onvif.org/ver10/error", "NotAuthorized")])


@pytest.mark.parametrize(("exc", "device_service", "kind", "field"), [
    (TimeoutError(), True, CameraTimeout, "port"),
    (AUTH_FAULT, True, CameraAuthFailed, "password"),
    (zeep.exceptions.Fault("Action not supported", code="env:Receiver"), False, CameraProtocolError, None),
    (zeep.exceptions.TransportError("x", status_code=401), False, CameraAuthFailed, "password"),
    (zeep.exceptions.TransportError("x", status_code=404), True, NotOnvif, "port"),
    (zeep.exceptions.TransportError("x", status_code=404), False, CameraProtocolError, None),
    (zeep.exceptions.XMLSyntaxError("bad"), True, CameraProtocolError, None),
    (etree.XMLSyntaxError("bad", 1, 1, 1), False, CameraProtocolError, None),
    (aiohttp.ServerDisconnectedError(), False, CameraUnreachable, "host"),
    (ONVIFError("Device doesn`t support service: search"), False, CameraProtocolError, None),
])
def test_library_errors_map_to_the_field_to_fix(exc, device_service, kind, field):
    error = _camera_error(exc, "GetDeviceInformation", device_service=device_service)
    assert type(error) is kind and error.field == field


def test_result_is_json_able():
    result = HandshakeResult(
        clock_offset_s=0.2, manufacturer="M", model="X", firmware="1", serial="S", hardware_id=None,
        mac="aa:bb:cc:dd:ee:ff", profiles=[profile("p", "h264", 640, 360)], main_profile_token="p",
        sub_profile_token="p", main_stream_uri="rtsp://h/1", sub_stream_uri=None, snapshot_uri=None,
        profile_g=False, replay_uri=None, recording_token=None, recording_earliest=None,
        recording_latest=None, search_xaddr=None, replay_xaddr=None, auth_method="digest",
    )
    import json

    data = json.loads(json.dumps(result.to_dict()))
    assert data["profiles"][0]["width"] == 640 and data["warnings"] == []
