"""Live RTSP as seen by Debian's ffprobe/ffmpeg and by a raw RTSP exchange."""

from __future__ import annotations

import json
from pathlib import Path

from camera_ops.sim.testing import FleetHandle
from tests.sim.conftest import needs_ffmpeg, run, with_credentials
from tests.sim.rtsp_probe import RtspProbe


@needs_ffmpeg
def test_ffprobe_reports_h264_at_the_configured_sizes(fleet: FleetHandle) -> None:
    for name, url_attr, size in (("hik", "rtsp_main_url", (640, 360)), ("dahua", "rtsp_sub_url", (320, 180)),
                                 ("cheap", "rtsp_main_url", (640, 360))):
        cam = fleet.camera(name)
        result = run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-of", "json",
                      with_credentials(getattr(cam, url_attr), cam)])
        stream = json.loads(result.stdout)["streams"][0]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", *size), result.stderr


@needs_ffmpeg
def test_ffmpeg_stream_copy_gives_a_playable_file(fleet: FleetHandle, tmp_path: Path) -> None:
    cam, out = fleet.camera("generic"), tmp_path / "live.mp4"
    pulled = run(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", with_credentials(cam.rtsp_main_url, cam),
                  "-t", "3", "-c", "copy", str(out)])
    assert pulled.returncode == 0, pulled.stderr
    probe = run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames",
                 "-of", "json", str(out)])
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "h264" and int(stream["nb_read_frames"]) >= 30  # 3 s at 12 fps


def test_describe_requires_digest_and_sdp_carries_parameter_sets(fleet: FleetHandle) -> None:
    cam = fleet.camera("hik")
    with RtspProbe(cam.rtsp_main_url, cam.username, cam.password) as probe:
        assert probe.request("OPTIONS").status == 200  # open, as on real cameras
        first = probe.request("DESCRIBE")  # challenged with 401 first, then answered
        assert first.status == 200 and probe.auth_params is not None
        sdp = first.body.decode()
        assert "a=fmtp:96 packetization-mode=1;profile-level-id=" in sdp and "sprop-parameter-sets=" in sdp
        assert "a=control:trackID=1" in sdp and "a=rtpmap:96 H264/90000" in sdp
    with RtspProbe(cam.rtsp_main_url, cam.username, "wrong") as probe:
        assert probe.request("DESCRIBE").status == 401


def test_unknown_path_is_404_and_udp_transport_is_refused(fleet: FleetHandle) -> None:
    cam = fleet.camera("generic")
    with RtspProbe(cam.rtsp_main_url, cam.username, cam.password) as probe:
        assert probe.request("DESCRIBE", cam.rtsp_main_url + "-nope").status == 404
        assert probe.request("SETUP", cam.rtsp_main_url + "/trackID=1",
                             {"Transport": "RTP/AVP;unicast;client_port=5000-5001"}).status == 461


def test_several_clients_get_consecutive_paced_frames_with_90khz_timestamps(fleet: FleetHandle) -> None:
    cam = fleet.camera("dahua")
    probes = [RtspProbe(cam.rtsp_sub_url, cam.username, cam.password) for _ in range(3)]
    try:
        for probe in probes:
            assert probe.play().status == 200
        for probe in probes:
            units = probe.units(max_units=14)
            steps = {(b.timestamp - a.timestamp) % 2**32 for a, b in zip(units, units[1:])}
            assert steps == {7500}  # 90 kHz / 12 fps
            assert units[0].nals[0][0] & 0x1F == 7  # starts at a keyframe with SPS
            probe.request("TEARDOWN")
    finally:
        for probe in probes:
            probe.close()
