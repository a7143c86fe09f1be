"""RTP for H.264 (RFC 3550 / RFC 6184) and the ONVIF replay header extension.

Single NAL unit packets when a NAL fits, FU-A fragments otherwise; the marker bit is set on the last
packet of an access unit; timestamps are the 90 kHz capture clock. For ONVIF replay the first packet
of each access unit carries header extension 0xABAC (ONVIF Streaming Spec, "RTP header extension"):
a 64-bit NTP time of capture and the C (clean point), E (end of contiguous section), D
(discontinuity) and T (terminal) flags.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
PAYLOAD_TYPE_H264 = 96  # dynamic payload type announced in the SDP
CLOCK_RATE = 90_000  # Hz, fixed for video by RFC 6184
MAX_PAYLOAD = 1400  # bytes: fits a 1500-byte Ethernet MTU with IP/TCP/RTP headers to spare
FU_A = 28
ONVIF_EXTENSION_ID = 0xABAC
NTP_UNIX_OFFSET_S = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
RTCP_SR = 200
RTCP_BYE = 203


def ntp_timestamp(unix_seconds: float) -> int:
    """64-bit NTP time (32.32 fixed point) of a Unix time."""
    whole = int(unix_seconds // 1)
    frac = int((unix_seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole + NTP_UNIX_OFFSET_S) & 0xFFFFFFFF) << 32 | frac


def rtp_time(unix_seconds: float) -> int:
    """90 kHz RTP timestamp of a capture time: continuous across segments, GOPs and sessions."""
    return int(round(unix_seconds * CLOCK_RATE)) & 0xFFFFFFFF


@dataclass(frozen=True)
class ReplayFlags:
    clean_point: bool = False
    end_of_section: bool = False  # E: a gap follows this access unit
    discontinuity: bool = False  # D: a gap precedes this access unit
    terminal: bool = False

    def byte(self) -> int:
        return (
            (self.clean_point << 7)
            | (self.end_of_section << 6)
            | (self.discontinuity << 5)
            | (self.terminal << 4)
        )


def onvif_extension(capture_time: float, flags: ReplayFlags, cseq: int = 0) -> bytes:
    """Header extension 0xABAC: profile id, length 3 words, NTP time, flags, CSeq, padding."""
    return struct.pack(
        "!HHQBBH", ONVIF_EXTENSION_ID, 3, ntp_timestamp(capture_time), flags.byte(), cseq & 0xFF, 0
    )


@dataclass
class Packetizer:
    ssrc: int = field(default_factory=lambda: random.getrandbits(32))
    sequence: int = field(default_factory=lambda: random.getrandbits(16))
    packets_sent: int = 0
    octets_sent: int = 0

    def packetize(self, nals: tuple[bytes, ...], timestamp: int, extension: bytes | None = None) -> list[bytes]:
        """RTP packets for one access unit."""
        payloads: list[bytes] = []
        for nal in nals:
            payloads.extend(_fragments(nal))
        packets = []
        for index, payload in enumerate(payloads):
            last = index == len(payloads) - 1
            ext = extension if index == 0 else None
            packets.append(self._packet(payload, timestamp, marker=last, extension=ext))
        return packets

    def _packet(self, payload: bytes, timestamp: int, *, marker: bool, extension: bytes | None) -> bytes:
        first = RTP_VERSION << 6 | (0x10 if extension else 0)
        second = (0x80 if marker else 0) | PAYLOAD_TYPE_H264
        header = struct.pack("!BBHII", first, second, self.sequence, timestamp, self.ssrc)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return header + (extension or b"") + payload

    def sender_report(self, unix_seconds: float, timestamp: int) -> bytes:
        return struct.pack(
            "!BBHIQIII", RTP_VERSION << 6, RTCP_SR, 6, self.ssrc, ntp_timestamp(unix_seconds),
            timestamp, self.packets_sent & 0xFFFFFFFF, self.octets_sent & 0xFFFFFFFF,
        )

    def goodbye(self, unix_seconds: float, timestamp: int) -> bytes:
        """Compound RTCP SR + BYE: tells the client (FFmpeg too) the stream has ended."""
        bye = struct.pack("!BBHI", RTP_VERSION << 6 | 1, RTCP_BYE, 1, self.ssrc)
        return self.sender_report(unix_seconds, timestamp) + bye


def _fragments(nal: bytes) -> list[bytes]:
    if len(nal) <= MAX_PAYLOAD:
        return [nal]
    indicator = (nal[0] & 0xE0) | FU_A
    nal_type = nal[0] & 0x1F
    body = nal[1:]
    chunk = MAX_PAYLOAD - 2
    parts = []
    for offset in range(0, len(body), chunk):
        start = offset == 0
        end = offset + chunk >= len(body)
        header = (0x80 if start else 0) | (0x40 if end else 0) | nal_type
        parts.append(bytes((indicator, header)) + body[offset : offset + chunk])
    return parts


def interleave(channel: int, packet: bytes) -> bytes:
    """RTP/RTCP over the RTSP TCP connection (RFC 2326 §10.12): '$', channel, 16-bit length."""
    return struct.pack("!cBH", b"$", channel, len(packet)) + packet
