import pytest

from camera_ops.errors import CameraProtocolError
from camera_ops.rtsp.h26x import BitReader, parse_h264_sps, parse_h265_sps, split_annexb
from camera_ops.rtsp.sdp import parse_sdp, resolve_control, video_track
from camera_ops.video.testing import encode_clip

HIKVISION_LIKE_SDP = """v=0
o=- 1109162014219182 1109162014219192 IN IP4 x.y.z.w
s=Media Presentation
e=NONE
b=AS:5050
t=0 0
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast
m=video 0 RTP/AVP 96
b=AS:5000
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKp2oHgCJ+WbgICAoAAADAAgAAAMBlCA=,aO48gA==
a=Media_header:MEDIAINFO=494D4B48010100000400000100000000000000000000000000000000000000000000000000000000;
m=audio 0 RTP/AVP 8
a=rtpmap:8 PCMA/8000
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast
"""


def test_h264_track_with_absolute_control_and_sps_resolution():
    track = video_track(parse_sdp(HIKVISION_LIKE_SDP), "rtsp://192.168.1.64:554/Streaming/Channels/101")
    assert track.codec == "h264" and track.payload_type == 96 and track.clock_rate == 90000
    assert track.control_url.endswith("/101/trackID=1?transportmode=unicast")
    assert len(track.parameter_sets) == 2 and track.parameter_sets[0][0] & 0x1F == 7
    assert (track.width, track.height) == (1920, 1080)


def test_relative_control_resolves_against_content_base():
    sdp = "v=0\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 H265/90000\r\na=control:trackID=0\r\n"
    track = video_track(parse_sdp(sdp), "rtsp://cam/live/main/")
    assert track.codec == "hevc" and track.control_url == "rtsp://cam/live/main/trackID=0"
    assert resolve_control("rtsp://cam/a", "*") == "rtsp://cam/a"
    assert resolve_control("rtsp://cam/a", "trackID=1") == "rtsp://cam/a/trackID=1"
    # Dahua's base carries the channel in a query: appended as FFmpeg and live555 do, not joined
    assert resolve_control("rtsp://cam/cam/realmonitor?channel=1&subtype=0/", "trackID=0") == \
        "rtsp://cam/cam/realmonitor?channel=1&subtype=0/trackID=0"


def test_sdp_without_video_codec_we_know_is_protocol_error():
    sdp = "v=0\r\nm=video 0 RTP/AVP 26\r\na=rtpmap:26 JPEG/90000\r\n"
    with pytest.raises(CameraProtocolError):
        video_track(parse_sdp(sdp), "rtsp://cam/")


@pytest.mark.parametrize(("width", "height"), [(320, 240), (640, 360), (1280, 720)])
def test_sps_width_height_from_real_encoder_output(width, height):
    h264 = split_annexb(encode_clip("h264", frames=1, width=width, height=height))
    sps = next(n for n in h264 if n[0] & 0x1F == 7)
    assert (parse_h264_sps(sps).width, parse_h264_sps(sps).height) == (width, height)
    hevc = split_annexb(encode_clip("hevc", frames=1, width=width, height=height))
    sps = next(n for n in hevc if (n[0] >> 1) & 0x3F == 33)
    assert (parse_h265_sps(sps).width, parse_h265_sps(sps).height) == (width, height)


def test_exp_golomb_reader():
    bits = BitReader(bytes([0b1_010_011_0, 0b0100_0000]))  # ue: 0, 1, 2, then 3
    assert [bits.ue(), bits.ue(), bits.ue(), bits.ue()] == [0, 1, 2, 3]
