"""RTSP probe, live and replay sessions, keyframe grabs and stream copy against the simulator."""

import asyncio
import json
import subprocess
from datetime import timedelta

import cv2
import numpy as np
import pytest

from camera_ops.errors import CameraAuthFailed, CameraTimeout, CameraUnreachable, ClipUnavailable, ReplayUnsupported
from camera_ops.rtsp.client import ReplayRequest, RtspSession, grab_keyframe, rtsp_probe
from camera_ops.sim import CameraSpec
from camera_ops.sim.testing import running_fleet
from camera_ops.video.hashing import HashingSink
from camera_ops.video.remux import AccessUnitMuxer, remux_url

pytestmark = pytest.mark.timeout(90)
TIMEOUT_S = 5.0
CLIP_S = 6


@pytest.fixture(scope="module")
def fleet():
    specs = [CameraSpec(name=v, vendor=v) for v in ("hikvision", "dahua", "generic")]
    specs.append(CameraSpec(name="victim", vendor="generic"))
    with running_fleet(specs) as handle:
        yield handle


@pytest.fixture
def victim(fleet):
    yield fleet.camera("victim")
    fleet.clear_faults("victim")


def ffprobe_frames(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(path)],
        check=True, capture_output=True, timeout=60,
    )
    return json.loads(out.stdout)["streams"][0]


async def pull_replay(cam, window_start, seconds, sink, **session_kwargs):
    replay = ReplayRequest(window_start, window_start + timedelta(seconds=seconds))
    async with RtspSession(cam.replay_url, cam.username, cam.password, timeout_s=TIMEOUT_S, replay=replay, **session_kwargs) as session:
        muxer = AccessUnitMuxer(sink, session.track.codec, parameter_sets=session.track.parameter_sets)
        with muxer:
            async for unit in session.access_units():
                muxer.write(unit)
            facts = muxer.close()
    return facts, session


@pytest.mark.parametrize("vendor", ["hikvision", "dahua", "generic"])
@pytest.mark.parametrize("which", ["main", "sub"])
async def test_probe_reads_codec_and_resolution(fleet, vendor, which):
    cam = fleet.camera(vendor)
    url = cam.rtsp_main_url if which == "main" else cam.rtsp_sub_url
    result = await rtsp_probe(url, cam.username, cam.password, timeout_s=TIMEOUT_S)
    assert result.codec == "h264" and result.auth_method in ("digest", "basic")
    assert (result.width, result.height) == ((640, 360) if which == "main" else (320, 180))


async def test_probe_faults_map_to_named_errors(fleet, victim):
    fleet.set_faults("victim", password="other")
    with pytest.raises(CameraAuthFailed):
        await rtsp_probe(victim.rtsp_main_url, victim.username, victim.password, timeout_s=TIMEOUT_S)
    fleet.set_faults("victim", password=None, offline=True)
    with pytest.raises(CameraUnreachable):
        await rtsp_probe(victim.rtsp_main_url, victim.username, victim.password, timeout_s=TIMEOUT_S)
    fleet.set_faults("victim", offline=False, black_hole=True)
    with pytest.raises(CameraTimeout):
        await rtsp_probe(victim.rtsp_main_url, victim.username, victim.password, timeout_s=0.3)


async def test_grab_keyframe_from_the_sub_stream(fleet):
    cam = fleet.camera("generic")
    jpeg = await grab_keyframe(cam.rtsp_sub_url, cam.username, cam.password, timeout_s=TIMEOUT_S)
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).shape == (180, 320)


async def test_live_session_starts_on_a_keyframe_and_tears_down(fleet):
    cam = fleet.camera("hikvision")
    async with RtspSession(cam.rtsp_sub_url, cam.username, cam.password, timeout_s=TIMEOUT_S) as session:
        units = []
        async for unit in session.access_units():
            units.append(unit)
            if len(units) == 5:
                break
    assert any(u.keyframe for u in units) and not any(u.discontinuity for u in units)


@pytest.mark.parametrize("vendor", ["dahua", "generic"])
async def test_replay_pull_archives_a_playable_clip_in_the_requested_window(fleet, vendor, tmp_path):
    cam = fleet.camera(vendor)
    start = fleet.camera_clock(vendor) - timedelta(minutes=20)
    target = tmp_path / "clip.mp4"
    with target.open("wb") as file:
        sink = HashingSink(file)
        facts, session = await pull_replay(cam, start, CLIP_S, sink)
    assert session.end_reason in ("terminal", "bye", "range_end") and facts.time_source == "onvif_ntp"
    assert start - timedelta(seconds=5) <= facts.first_frame_time <= start + timedelta(seconds=1)
    assert facts.last_frame_time >= start + timedelta(seconds=CLIP_S - 1)
    assert facts.gaps == [] and facts.damaged_frames == 0
    info = ffprobe_frames(target)
    assert info["codec_name"] == "h264" and int(info["nb_read_frames"]) == facts.frame_count
    assert (info["width"], info["height"]) == (640, 360)
    assert sink.bytes_written == target.stat().st_size


async def test_recording_gap_inside_the_window_is_reported(fleet, victim):
    now = fleet.camera_clock("victim")
    gap = (now - timedelta(minutes=30, seconds=-3), now - timedelta(minutes=30, seconds=-5))
    fleet.set_faults("victim", recording_gap=gap)
    facts, _ = await pull_replay(victim, now - timedelta(minutes=30), 8, HashingSink())
    assert len(facts.gaps) == 1
    found = facts.gaps[0]
    assert found.start <= gap[0] + timedelta(seconds=0.5) and found.end >= gap[1] - timedelta(seconds=0.5)


async def test_replay_unsupported_camera_fails_loudly(fleet, victim):
    fleet.set_faults("victim", replay_unsupported=True)
    with pytest.raises(ReplayUnsupported):
        await pull_replay(victim, fleet.camera_clock("victim") - timedelta(minutes=5), CLIP_S, HashingSink())


async def test_camera_dropping_the_stream_mid_transfer_is_never_a_complete_clip(fleet, victim):
    fleet.set_faults("victim", stream_drop_after_units=20)
    start = fleet.camera_clock("victim") - timedelta(hours=2)
    with pytest.raises(ClipUnavailable):
        await pull_replay(victim, start, 600, HashingSink(), idle_timeout_s=2.0)


@pytest.mark.parametrize("vendor", ["hikvision", "dahua"])
async def test_vendor_playback_url_is_copied_with_pyav(fleet, vendor, tmp_path):
    cam = fleet.camera(vendor)
    start = fleet.camera_clock(vendor) - timedelta(minutes=15)
    end = start + timedelta(seconds=CLIP_S)
    url = cam.playback_url_template.format(start=start, end=end)
    url = url.replace("rtsp://", f"rtsp://{cam.username}:{cam.password}@", 1)
    target = tmp_path / "playback.mp4"
    with target.open("wb") as file:
        facts = await asyncio.to_thread(remux_url, url, HashingSink(file), start=start, end=end, timeout_s=TIMEOUT_S)
    assert int(ffprobe_frames(target)["nb_read_frames"]) == facts.frame_count
    assert facts.skipped_before_keyframe == 0  # the undated opening keyframe is kept
    assert facts.frame_count >= (CLIP_S - 1) * 12  # the simulator records 12 fps
    assert facts.first_frame_time == start and facts.duration_s <= CLIP_S + 1
