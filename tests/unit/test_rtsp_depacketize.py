from datetime import datetime, timezone

import pytest

from camera_ops.errors import CameraProtocolError
from camera_ops.rtsp.depacketize import Depacketizer
from camera_ops.rtsp.packetize import packetize_access_unit
from camera_ops.rtsp.rtp import ONVIF_REPLAY_EXTENSION_ID, build_onvif_extension, build_rtp, parse_rtp
from camera_ops.video.testing import encode_clip, split_access_units

FRAME_TICKS = 3600


def rtp_stream(codec, units, *, first_seq=65530, first_ts=0xFFFFF000, max_payload=1400, drop=(), markers=True, ext_at=None):
    """Packetize units into parsed RtpPackets (sequence and timestamp wrap on purpose)."""
    packets, index = [], 0
    for number, nals in enumerate(units):
        payloads = packetize_access_unit(codec, nals, max_payload)
        for part, payload in enumerate(payloads):
            kwargs = {}
            if ext_at is not None and part == 0:
                kwargs = {"extension_profile": ONVIF_REPLAY_EXTENSION_ID, "extension": ext_at(number)}
            raw = build_rtp(payload, sequence=first_seq + index, timestamp=first_ts + number * FRAME_TICKS,
                            marker=markers and part == len(payloads) - 1, **kwargs)
            if index not in drop:
                packets.append(parse_rtp(raw))
            index += 1
    return packets


def depacketize(codec, packets):
    depacketizer = Depacketizer(codec, payload_type=96)
    units = [unit for packet in packets for unit in depacketizer.push(packet)]
    return units + depacketizer.flush(), depacketizer


@pytest.fixture(scope="module", params=["h264", "hevc"])
def clip(request):
    codec = request.param
    return codec, split_access_units(encode_clip(codec, frames=30, width=640, height=360), codec)


@pytest.mark.parametrize("max_payload", [1400, 200])  # 200 forces FU-A/FU fragmentation
def test_roundtrip_restores_every_nal_unit_with_wrapping_counters(clip, max_payload):
    codec, units = clip
    out, dep = depacketize(codec, rtp_stream(codec, units, max_payload=max_payload))
    assert [u.nal_units for u in out] == units
    assert [u.rtp_timestamp - out[0].rtp_timestamp for u in out] == [i * FRAME_TICKS for i in range(len(units))]
    assert out[0].keyframe and not any(u.discontinuity for u in out) and dep.packets_lost == 0


def test_aggregation_packets_split_into_nal_units(clip):
    codec, units = clip
    first = units[0]  # parameter sets are small: they travel in one STAP-A / AP
    payloads = packetize_access_unit(codec, first)
    aggregate_type = 24 if codec == "h264" else 48
    kind = payloads[0][0] & 0x1F if codec == "h264" else (payloads[0][0] >> 1) & 0x3F
    assert kind == aggregate_type
    out, _ = depacketize(codec, rtp_stream(codec, [first]))
    assert out[0].nal_units == first


def test_missing_marker_bits_split_on_timestamp_change(clip):
    codec, units = clip
    out, _ = depacketize(codec, rtp_stream(codec, units, markers=False))
    assert [u.nal_units for u in out] == units


def test_lost_fragment_drops_that_nal_and_flags_the_unit(clip):
    codec, units = clip
    packets = rtp_stream(codec, units, max_payload=200)
    out, dep = depacketize(codec, packets[:3] + packets[4:])  # lose one fragment of unit 0
    assert dep.packets_lost == 1
    assert out[0].discontinuity and out[0].lost_packets == 1
    assert out[0].nal_units != units[0]
    assert [u.nal_units for u in out[1:]] == units[1:]
    assert not any(u.discontinuity for u in out[2:])


def test_duplicate_packets_are_ignored(clip):
    codec, units = clip
    packets = rtp_stream(codec, units[:3])
    out, dep = depacketize(codec, packets[:2] + [packets[1]] + packets[2:])
    assert [u.nal_units for u in out] == units[:3] and dep.packets_lost == 0


def test_replay_extension_time_and_flags_reach_the_access_unit(clip):
    codec, units = clip
    start = datetime(2026, 11, 21, 14, 10, tzinfo=timezone.utc)

    def ext(number):
        return build_onvif_extension(start, end_of_section=number == 1, discontinuity=number == 2, terminal=number == 2)

    out, _ = depacketize(codec, rtp_stream(codec, units[:3], ext_at=ext))
    assert out[0].ntp_time == start
    assert [u.end_of_section for u in out] == [False, True, False]
    assert [u.discontinuity for u in out] == [False, False, True]
    assert out[2].terminal


def test_interleaved_mode_packets_are_refused():
    depacketizer = Depacketizer("h264")
    with pytest.raises(CameraProtocolError):
        depacketizer.push(parse_rtp(build_rtp(bytes([0x19, 0, 0]), sequence=1, timestamp=0, marker=True)))


def test_annexb_and_length_prefixed_forms():
    out, _ = depacketize("h264", rtp_stream("h264", [[b"\x67\x42", b"\x68\xce", b"\x65\x88\x84"]]))
    unit = out[0]
    assert unit.annexb() == b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x68\xce\x00\x00\x00\x01\x65\x88\x84"
    assert unit.length_prefixed()[:6] == b"\x00\x00\x00\x02\x67\x42"
    assert unit.keyframe
