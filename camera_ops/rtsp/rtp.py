"""RTP (RFC 3550) packets, the ONVIF replay header extension 0xABAC, and RTCP BYE detection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from camera_ops.errors import CameraProtocolError

RTP_VERSION = 2
RTP_FIXED_HEADER_BYTES = 12
ONVIF_REPLAY_EXTENSION_ID = 0xABAC  # ONVIF Streaming spec 6.3
RTCP_BYE = 203
NTP_EPOCH = datetime(1900, 1, 1, tzinfo=timezone.utc)
_NTP_FRACTION = 1 << 32


@dataclass(frozen=True, slots=True)
class OnvifReplayExtension:
    """Replay header extension: wall-clock time of the access unit and four flags."""

    ntp_time: datetime
    clean_point: bool  # C: this access unit is a random access point
    end_of_section: bool  # E: last access unit of a contiguous section (a gap follows)
    discontinuity: bool  # D: a gap precedes this access unit
    terminal: bool  # T: last access unit of the replay
    cseq: int  # low byte of the PLAY request's CSeq


@dataclass(slots=True)
class RtpPacket:
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    extension_profile: int | None = None
    extension: bytes = b""

    def onvif_extension(self) -> OnvifReplayExtension | None:
        if self.extension_profile != ONVIF_REPLAY_EXTENSION_ID or len(self.extension) < 10:
            return None
        return parse_onvif_extension(self.extension)


def ntp_to_datetime(ntp: int) -> datetime:
    seconds, fraction = divmod(ntp, _NTP_FRACTION)
    return NTP_EPOCH + timedelta(seconds=seconds, microseconds=(fraction * 1_000_000 + _NTP_FRACTION // 2) >> 32)


def datetime_to_ntp(when: datetime) -> int:
    delta = when - NTP_EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    seconds, rest = divmod(micros, 1_000_000)
    return (seconds << 32) | (rest * _NTP_FRACTION // 1_000_000)


def parse_onvif_extension(data: bytes) -> OnvifReplayExtension:
    flags = data[8]
    return OnvifReplayExtension(
        ntp_time=ntp_to_datetime(int.from_bytes(data[0:8], "big")),
        clean_point=bool(flags & 0x80),
        end_of_section=bool(flags & 0x40),
        discontinuity=bool(flags & 0x20),
        terminal=bool(flags & 0x10),
        cseq=data[9],
    )


def build_onvif_extension(
    ntp_time: datetime, *, clean_point: bool = False, end_of_section: bool = False,
    discontinuity: bool = False, terminal: bool = False, cseq: int = 0,
) -> bytes:
    """The 12-byte extension body (3 words), for servers and tests."""
    flags = (0x80 * clean_point) | (0x40 * end_of_section) | (0x20 * discontinuity) | (0x10 * terminal)
    return datetime_to_ntp(ntp_time).to_bytes(8, "big") + bytes([flags, cseq & 0xFF, 0, 0])


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < RTP_FIXED_HEADER_BYTES:
        raise CameraProtocolError("RTP packet shorter than its header")
    first, second = data[0], data[1]
    if first >> 6 != RTP_VERSION:
        raise CameraProtocolError(f"RTP version {first >> 6} is not 2")
    offset = RTP_FIXED_HEADER_BYTES + 4 * (first & 0x0F)  # skip CSRC list
    end = len(data)
    if first & 0x20:  # padding: last byte says how many bytes to drop
        end -= data[-1]
    profile: int | None = None
    extension = b""
    if first & 0x10:
        if offset + 4 > end:
            raise CameraProtocolError("RTP header extension truncated")
        profile = int.from_bytes(data[offset : offset + 2], "big")
        words = int.from_bytes(data[offset + 2 : offset + 4], "big")
        extension = data[offset + 4 : offset + 4 + 4 * words]
        offset += 4 + 4 * words
    if offset > end:
        raise CameraProtocolError("RTP packet truncated")
    return RtpPacket(
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=int.from_bytes(data[2:4], "big"),
        timestamp=int.from_bytes(data[4:8], "big"),
        ssrc=int.from_bytes(data[8:12], "big"),
        payload=data[offset:end],
        extension_profile=profile,
        extension=extension,
    )


def build_rtp(
    payload: bytes, *, sequence: int, timestamp: int, marker: bool, payload_type: int = 96,
    ssrc: int = 0x1234ABCD, extension_profile: int | None = None, extension: bytes = b"",
) -> bytes:
    """Serialize one RTP packet (for servers and tests)."""
    first = (RTP_VERSION << 6) | (0x10 if extension_profile is not None else 0)
    head = bytes([first, (0x80 if marker else 0) | payload_type])
    head += (sequence & 0xFFFF).to_bytes(2, "big") + (timestamp & 0xFFFFFFFF).to_bytes(4, "big")
    head += ssrc.to_bytes(4, "big")
    if extension_profile is not None:
        padded = extension + b"\x00" * (-len(extension) % 4)
        head += extension_profile.to_bytes(2, "big") + (len(padded) // 4).to_bytes(2, "big") + padded
    return head + payload


def rtcp_has_bye(data: bytes) -> bool:
    """True if a (compound) RTCP packet contains a BYE."""
    offset = 0
    while offset + 4 <= len(data):
        if data[offset + 1] == RTCP_BYE:
            return True
        offset += 4 * (int.from_bytes(data[offset + 2 : offset + 4], "big") + 1)
    return False
