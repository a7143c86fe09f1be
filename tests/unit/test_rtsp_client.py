"""The RTSP client against a tiny in-process camera over real 127.0.0.1 sockets."""

import asyncio
import socket
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from camera_ops.errors import CameraAuthFailed, CameraTimeout, CameraUnreachable, ClipUnavailable, ReplayUnsupported
from camera_ops.rtsp.client import AuthCache, ReplayRequest, RtspSession, clock_range, grab_keyframe, rtsp_probe, split_credentials
from camera_ops.rtsp.testing import FakeRtspCamera, serve_rtsp
from camera_ops.video.testing import encode_clip, split_access_units

pytestmark = pytest.mark.timeout(30)
TIMEOUT_S = 5.0
START = datetime(2026, 11, 21, 14, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def units():
    return split_access_units(encode_clip("h264", frames=20, width=320, height=240, gop=10))


def camera(units, **kwargs):
    return FakeRtspCamera(access_units=units, username="admin", password="s3cret!", **kwargs)


async def collect(session):
    return [unit async for unit in session.access_units()]


@pytest.mark.parametrize("scheme", ["digest", "basic"])
async def test_probe_authenticates_and_reads_codec_and_resolution(units, scheme):
    cam = camera(units, auth=scheme)
    async with serve_rtsp(cam) as url:
        result = await rtsp_probe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S)
    assert (result.codec, result.width, result.height) == ("h264", 320, 240)
    assert result.auth_method == scheme and result.server == "FakeCamera/1.0"
    assert result.rtt_s >= 0 and [m for m, _ in cam.requests] == ["OPTIONS", "DESCRIBE", "DESCRIBE"]


async def test_auth_cache_skips_the_401_round_trip_on_the_next_probe(units):
    cam = camera(units)
    cache = AuthCache()
    async with serve_rtsp(cam) as url:
        await rtsp_probe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, auth_cache=cache)
        cam.requests.clear()
        result = await rtsp_probe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, auth_cache=cache)
    assert [m for m, _ in cam.requests] == ["OPTIONS", "DESCRIBE"] and result.width == 320


async def test_stale_cached_nonce_costs_one_401_and_is_replaced(units):
    cam = camera(units)
    cache = AuthCache()
    async with serve_rtsp(cam) as url:
        await rtsp_probe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, auth_cache=cache)
        cam._nonce = "rotated"  # the camera restarted: old nonce no longer valid
        result = await rtsp_probe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, auth_cache=cache)
        cam.requests.clear()
        await rtsp_probe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, auth_cache=cache)
    assert result.codec == "h264" and [m for m, _ in cam.requests] == ["OPTIONS", "DESCRIBE"]


async def test_probe_takes_credentials_embedded_in_the_url_but_never_sends_them(units):
    cam = camera(units)
    async with serve_rtsp(cam) as url:
        result = await rtsp_probe(url.replace("rtsp://", "rtsp://admin:s3cret%21@"), None, None, timeout_s=TIMEOUT_S)
    assert result.codec == "h264"
    assert all("s3cret" not in str(headers) for _, headers in cam.requests)


async def test_wrong_password_is_auth_failure_without_the_password_in_the_message(units):
    async with serve_rtsp(camera(units)) as url:
        with pytest.raises(CameraAuthFailed) as info:
            await rtsp_probe(url, "admin", "wrong-pass", timeout_s=TIMEOUT_S)
    assert info.value.field == "password" and "wrong-pass" not in str(info.value)


async def test_refused_port_is_unreachable_host():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(CameraUnreachable) as info:
            await rtsp_probe(f"rtsp://127.0.0.1:{port}/x", "a", "b", timeout_s=TIMEOUT_S)
    assert info.value.field == "host" and not isinstance(info.value, CameraTimeout)


async def test_server_that_accepts_but_never_answers_times_out():
    async def black_hole(reader, writer):
        await reader.read()  # never answers
        writer.close()

    server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(CameraTimeout):
            await rtsp_probe(f"rtsp://127.0.0.1:{port}/x", "a", "b", timeout_s=0.3)
    finally:
        server.close()


async def test_live_session_yields_every_access_unit_and_tears_down(units):
    cam = camera(units)
    async with serve_rtsp(cam) as url:
        async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S) as session:
            got = await collect(session)
        assert session.end_reason == "bye"
    assert [u.nal_units for u in got] == units
    assert got[0].keyframe and sum(u.keyframe for u in got) == 2
    assert [m for m, _ in cam.requests][-3:] == ["SETUP", "PLAY", "TEARDOWN"]


async def test_replay_sends_onvif_headers_and_reads_wall_clock_times(units):
    cam = camera(units, ntp_start=START, end_with="close")
    async with serve_rtsp(cam) as url:
        replay = ReplayRequest(START, START + timedelta(minutes=30))
        async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, replay=replay) as session:
            got = await collect(session)
    setup = dict(cam.requests)["SETUP"]
    play = dict(cam.requests)["PLAY"]
    assert setup.get("Require") == "onvif-replay" and play.get("Require") == "onvif-replay"
    assert play.get("Range") == "clock=20261121T141000Z-20261121T144000Z"
    assert play.get("Rate-Control") == "no"
    assert got[0].ntp_time == START and got[-1].terminal and session.end_reason == "terminal"
    assert got[-1].ntp_time == START + timedelta(seconds=(len(units) - 1) / 25)


async def test_replay_cut_off_before_its_end_is_clip_unavailable(units):
    cam = camera(units, ntp_start=START, end_with="close", terminal_flag=False)
    async with serve_rtsp(cam) as url:
        with pytest.raises(ClipUnavailable):
            replay = ReplayRequest(START, START + timedelta(minutes=30))
            async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, replay=replay) as session:
                await collect(session)


async def test_replay_closing_at_the_requested_end_is_complete(units):
    cam = camera(units, ntp_start=START, end_with="close", terminal_flag=False)
    async with serve_rtsp(cam) as url:
        replay = ReplayRequest(START, START + timedelta(seconds=(len(units) - 1) / 25))
        async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, replay=replay) as session:
            got = await collect(session)
    assert len(got) == len(units) and session.end_reason == "eof"


async def test_camera_without_replay_answers_551_and_we_say_replay_unsupported(units):
    async with serve_rtsp(camera(units, replay_supported=False)) as url:
        with pytest.raises(ReplayUnsupported):
            async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, replay=ReplayRequest(START, None)):
                pass


async def test_camera_going_silent_mid_stream_is_clip_unavailable_not_complete(units):
    async with serve_rtsp(camera(units, silent_after=5)) as url:
        got = []
        with pytest.raises(ClipUnavailable):
            async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S, idle_timeout_s=0.3) as session:
                async for unit in session.access_units():
                    got.append(unit)
    assert len(got) == 5


@pytest.mark.parametrize(("end_with", "reason"), [("close", "eof"), ("teardown", "teardown")])
async def test_stream_end_by_socket_close_or_server_teardown(units, end_with, reason):
    async with serve_rtsp(camera(units, end_with=end_with)) as url:
        async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S) as session:
            got = await collect(session)
    assert len(got) == len(units) and session.end_reason == reason


async def test_lost_packets_are_flagged_on_the_access_unit(units):
    async with serve_rtsp(camera(units, drop_sequence_offsets={6})) as url:
        async with RtspSession(url, "admin", "s3cret!", timeout_s=TIMEOUT_S) as session:
            got = await collect(session)
    assert session.packets_lost == 1 and sum(u.discontinuity for u in got) >= 1


async def test_grab_keyframe_returns_a_decodable_jpeg(units):
    async with serve_rtsp(camera(units, sdp_parameter_sets=False)) as url:
        jpeg = await grab_keyframe(url, "admin", "s3cret!", timeout_s=TIMEOUT_S)
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert jpeg[:2] == b"\xff\xd8" and image.shape == (240, 320, 3)


def test_clock_range_and_credential_stripping():
    assert clock_range(START, None) == "clock=20261121T141000Z-"
    assert split_credentials("rtsp://u:p%40ss@cam:554/s", None, None) == ("rtsp://cam:554/s", "u", "p@ss")
    assert split_credentials("rtsp://u:p@cam/s", "admin", "x") == ("rtsp://cam/s", "admin", "x")
