"""Recorded footage: ONVIF replay (raw RTSP with Require/Range/Rate-Control) and vendor playback URLs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import av
import pytest

from camera_ops.sim.scene import read_marker
from camera_ops.sim.spec import SIM_LOCAL_TZ
from camera_ops.sim.testing import FleetHandle
from tests.sim.conftest import needs_ffmpeg, with_credentials
from tests.sim.rtsp_probe import RtspProbe, Unit

REPLAY = {"Require": "onvif-replay"}
FLAG_C, FLAG_E, FLAG_D, FLAG_T = 0x80, 0x40, 0x20, 0x10
WINDOW_S = 6


def clock(moment: datetime, millis: int = 0) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") + f".{millis:03d}Z"


def replay(fleet: FleetHandle, name: str, start: datetime, end: datetime, *, rate_control: str = "no",
           start_millis: int = 0) -> tuple[int, list[Unit]]:
    cam = fleet.camera(name)
    assert cam.replay_url
    with RtspProbe(cam.replay_url, cam.username, cam.password) as probe:
        headers = {**REPLAY, "Range": f"clock={clock(start, start_millis)}-{clock(end)}", "Rate-Control": rate_control}
        reply = probe.play(headers, setup_headers=REPLAY)
        if reply.status != 200:
            return reply.status, []
        return 200, probe.units()


def markers(units: list[Unit]) -> list[tuple[int, int]]:
    decoder = av.CodecContext.create("h264", "r")
    found = []
    for unit in units:
        for frame in decoder.decode(av.Packet(unit.annexb())):
            found.append(read_marker(frame.to_ndarray(format="bgr24")))
    return found


def past_window(fleet: FleetHandle, name: str, minutes_ago: float = 30) -> tuple[datetime, datetime]:
    start = (fleet.camera_clock(name) - timedelta(minutes=minutes_ago)).replace(microsecond=0)
    return start, start + timedelta(seconds=WINDOW_S)


def test_onvif_replay_frames_show_the_requested_window(fleet: FleetHandle) -> None:
    start, end = past_window(fleet, "generic")
    status, units = replay(fleet, "generic", start, end, start_millis=400)
    assert status == 200
    seen = markers(units)
    assert len(seen) == WINDOW_S * 12
    seconds = [s for s, _ in seen]
    assert seconds[0] == int(start.timestamp())  # keyframe at or before the requested start
    assert all(start.timestamp() <= s < end.timestamp() for s in seconds)
    ntp = [u.ntp_time for u in units]
    assert ntp[0] == pytest.approx(start.timestamp()) and ntp == sorted(ntp)
    assert units[0].flags & FLAG_C and units[-1].flags & FLAG_T
    steps = {(b.timestamp - a.timestamp) % 2**32 for a, b in zip(units, units[1:])}
    assert steps == {7500}  # continuous 90 kHz capture time


def test_replay_with_rate_control_is_paced_and_without_is_fast(fleet: FleetHandle) -> None:
    cam = fleet.camera("dahua")
    start, end = past_window(fleet, "dahua", minutes_ago=40)
    with RtspProbe(cam.replay_url or "", cam.username, cam.password) as probe:
        reply = probe.play({**REPLAY, "Range": f"clock={clock(start)}-{clock(end)}"}, setup_headers=REPLAY)
        assert reply.status == 200 and reply.headers["rate-control"] == "yes"
    status, units = replay(fleet, "dahua", start, end, rate_control="no")
    assert status == 200 and len(units) == WINDOW_S * 12


def test_replay_skips_a_recording_gap_and_flags_its_edges(fleet: FleetHandle) -> None:
    start, end = past_window(fleet, "spare2", minutes_ago=50)
    gap = (start + timedelta(seconds=2), start + timedelta(seconds=4))
    fleet.set_faults("spare2", recording_gap=gap)
    try:
        status, units = replay(fleet, "spare2", start, end)
    finally:
        fleet.clear_faults("spare2")
    assert status == 200
    seconds = sorted({s for s, _ in markers(units)})
    gap_start = int(gap[0].timestamp())
    assert seconds == [int(start.timestamp()) + i for i in (0, 1, 4, 5)]
    before = max(i for i, u in enumerate(units) if (u.ntp_time or 0) < gap_start)
    assert units[before].flags & FLAG_E and units[before + 1].flags & FLAG_D


def test_replay_refused_with_551_when_unsupported(fleet: FleetHandle) -> None:
    start, end = past_window(fleet, "spare2")
    fleet.set_faults("spare2", replay_unsupported=True)
    try:
        status, _ = replay(fleet, "spare2", start, end)
    finally:
        fleet.clear_faults("spare2")
    assert status == 551
    hik = fleet.camera("hik")  # no Profile G at all
    with RtspProbe(hik.rtsp_main_url, hik.username, hik.password) as probe:
        assert probe.request("DESCRIBE", headers=REPLAY).status == 551


def test_replay_url_without_require_header_sends_live_like_a_cheap_camera(fleet: FleetHandle) -> None:
    cam = fleet.camera("generic")
    start, end = past_window(fleet, "generic", minutes_ago=90)
    with RtspProbe(cam.replay_url or "", cam.username, cam.password) as probe:
        assert probe.play({"Range": f"clock={clock(start)}-{clock(end)}"}).status == 200
        units = probe.units(max_units=3)
    live_second = int(fleet.camera_clock("generic").timestamp())
    assert abs(markers(units)[0][0] - live_second) <= 2
    assert units[0].ntp_time is None  # no replay extension on live


def test_replay_outside_the_sd_card_is_an_invalid_range(fleet: FleetHandle) -> None:
    start = fleet.camera_clock("generic") - timedelta(hours=30)
    status, _ = replay(fleet, "generic", start, start + timedelta(seconds=5))
    assert status == 457


@needs_ffmpeg
@pytest.mark.parametrize("name", ["hik", "dahua"])
def test_vendor_playback_url_plays_the_window_to_eof_in_pyav(fleet: FleetHandle, name: str) -> None:
    cam = fleet.camera(name)
    start, end = past_window(fleet, name, minutes_ago=20)
    assert cam.playback_url_template
    zone = ZoneInfo(SIM_LOCAL_TZ) if name == "dahua" else timezone.utc  # Dahua firmware: local time
    url = with_credentials(cam.playback_url_template.format(start=start.astimezone(zone), end=end.astimezone(zone)),
                           cam)
    with av.open(url, options={"rtsp_transport": "tcp", "timeout": "5000000"}, timeout=10) as container:
        stream = container.streams.video[0]
        seen = [read_marker(f.to_ndarray(format="bgr24")) for f in container.decode(stream)]
    seconds = [s for s, _ in seen]
    assert len(seen) == WINDOW_S * 12
    assert min(seconds) == int(start.timestamp()) and max(seconds) == int(end.timestamp()) - 1
