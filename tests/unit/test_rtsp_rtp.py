from datetime import datetime, timezone

import pytest

from camera_ops.errors import CameraProtocolError
from camera_ops.rtsp.rtp import (
    ONVIF_REPLAY_EXTENSION_ID,
    build_onvif_extension,
    build_rtp,
    ntp_to_datetime,
    parse_rtp,
    rtcp_has_bye,
)


def test_header_fields_roundtrip():
    packet = parse_rtp(build_rtp(b"payload", sequence=65535, timestamp=0xFFFFFFFF, marker=True, payload_type=97))
    assert (packet.sequence, packet.timestamp, packet.marker, packet.payload_type) == (65535, 0xFFFFFFFF, True, 97)
    assert packet.payload == b"payload" and packet.onvif_extension() is None


def test_onvif_replay_extension_time_and_flags():
    when = datetime(2026, 11, 21, 14, 10, 0, 250000, tzinfo=timezone.utc)
    ext = build_onvif_extension(when, clean_point=True, end_of_section=True, terminal=True, cseq=7)
    packet = parse_rtp(build_rtp(b"x", sequence=1, timestamp=2, marker=False, extension_profile=ONVIF_REPLAY_EXTENSION_ID, extension=ext))
    info = packet.onvif_extension()
    assert info is not None and abs((info.ntp_time - when).total_seconds()) < 1e-5
    assert (info.clean_point, info.end_of_section, info.discontinuity, info.terminal, info.cseq) == (True, True, False, True, 7)
    assert packet.payload == b"x"


def test_csrc_and_padding_are_skipped():
    raw = bytearray(build_rtp(b"abc" + b"\x00\x00\x03", sequence=1, timestamp=1, marker=False))
    raw[0] |= 0x20 | 0x01  # padding + one CSRC
    raw[12:12] = b"\x00\x00\x00\x09"
    assert parse_rtp(bytes(raw)).payload == b"abc"


def test_ntp_epoch_conversion():
    assert ntp_to_datetime(2208988800 << 32) == datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw", [b"\x80\x60", bytes([0x40]) + bytes(11), bytes([0x90]) + bytes(11)])
def test_truncated_or_wrong_version_packets_are_protocol_errors(raw):
    with pytest.raises(CameraProtocolError):
        parse_rtp(raw)


def test_rtcp_bye_found_in_compound_packet():
    sender_report = bytes([0x80, 200, 0x00, 0x06]) + bytes(24)
    bye = bytes([0x81, 203, 0x00, 0x01]) + bytes(4)
    assert rtcp_has_bye(sender_report + bye) and not rtcp_has_bye(sender_report)
