"""RTP payloads → access units: H.264 (RFC 6184, non-interleaved mode: single NAL, STAP-A, FU-A)
and H.265 (RFC 7798 without DONL: single NAL, AP, FU).

An access unit closes on the RTP marker bit, or when the timestamp changes (cameras that forget
the marker). Lost packets are detected from sequence numbers: a NAL unit with a missing fragment
is dropped, and the access unit is flagged, never silently passed as whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from camera_ops.errors import CameraProtocolError
from camera_ops.rtsp.h26x import H264, H265, START_CODE, is_keyframe_nal
from camera_ops.rtsp.rtp import RtpPacket

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
_SEQ_REORDER_WINDOW = _SEQ_MOD // 2  # a "gap" this large is an old or duplicate packet

H264_STAP_A, H264_FU_A = 24, 28
H264_UNSUPPORTED = {25, 26, 27, 29}  # STAP-B, MTAP16, MTAP24, FU-B: interleaved mode only
H265_AP, H265_FU, H265_PACI = 48, 49, 50


@dataclass(slots=True)
class AccessUnit:
    """One picture's NAL units plus what the transport said about it."""

    codec: str
    rtp_timestamp: int  # extended (wrap-free) RTP timestamp, 90 kHz units
    nal_units: list[bytes] = field(default_factory=list)
    ntp_time: datetime | None = None  # wall clock from the ONVIF replay extension, if sent
    keyframe: bool = False
    discontinuity: bool = False  # packets lost before/inside this unit, or replay D flag
    end_of_section: bool = False  # replay E flag: a gap in the recording follows
    terminal: bool = False  # replay T flag: last unit of the replay
    lost_packets: int = 0

    def annexb(self) -> bytes:
        return b"".join(START_CODE + nal for nal in self.nal_units)

    def length_prefixed(self, size_bytes: int = 4) -> bytes:
        return b"".join(len(nal).to_bytes(size_bytes, "big") + nal for nal in self.nal_units)

    @property
    def size(self) -> int:
        return sum(len(nal) for nal in self.nal_units)


class Depacketizer:
    """Feed RTP packets of one video track with :meth:`push`; get finished access units."""

    def __init__(self, codec: str, payload_type: int | None = None) -> None:
        if codec not in (H264, H265):
            raise ValueError(f"unsupported codec {codec}")
        self.codec = codec
        self.payload_type = payload_type
        self.packets_lost = 0
        self._last_seq: int | None = None
        self._ts_base = 0
        self._last_ts: int | None = None
        self._current: AccessUnit | None = None
        self._fragment: bytearray | None = None
        self._pending_loss = 0  # >0: packets lost between units; -1: flag the next unit

    # -- sequence and timestamp bookkeeping -----------------------------------------------------

    def _check_sequence(self, seq: int) -> bool:
        """False for an old/duplicate packet; records losses otherwise.

        Lost packets are charged to the unit in progress; the next unit is flagged as well
        unless the unit in progress still ends on its own marker (then the loss was inside it).
        """
        if self._last_seq is not None:
            gap = (seq - self._last_seq - 1) % _SEQ_MOD
            if gap >= _SEQ_REORDER_WINDOW:
                return False
            if gap:
                self.packets_lost += gap
                self._fragment = None  # the rest of a fragmented NAL is garbage now
                if self._current is not None:
                    self._current.discontinuity = True
                    self._current.lost_packets += gap
                    self._pending_loss = -1  # flag only
                else:
                    self._pending_loss = gap
        self._last_seq = seq
        return True

    def _extend_timestamp(self, ts: int) -> int:
        if self._last_ts is not None:
            delta = (ts - self._last_ts) % _TS_MOD
            if delta < _TS_MOD // 2 and ts < self._last_ts:
                self._ts_base += _TS_MOD  # forward across the 32-bit wrap
        self._last_ts = ts
        return self._ts_base + ts

    # -- public ---------------------------------------------------------------------------------

    def push(self, packet: RtpPacket) -> list[AccessUnit]:
        if self.payload_type is not None and packet.payload_type != self.payload_type:
            return []
        if not self._check_sequence(packet.sequence):
            return []
        done: list[AccessUnit] = []
        timestamp = self._extend_timestamp(packet.timestamp)
        if self._current is not None and self._current.rtp_timestamp != timestamp:
            done.append(self._finish())
        if self._current is None:
            self._current = AccessUnit(self.codec, timestamp)
            if self._pending_loss:
                self._current.discontinuity = True
                self._current.lost_packets = max(self._pending_loss, 0)
                self._pending_loss = 0
        self._apply_extension(packet)
        if self.codec == H264:
            self._payload_h264(packet.payload)
        else:
            self._payload_h265(packet.payload)
        if packet.marker:
            done.append(self._finish())
            self._pending_loss = 0  # the unit in progress ended normally: loss was inside it
        return done

    def flush(self) -> list[AccessUnit]:
        """Finish a pending access unit at end of stream (a last one without marker)."""
        return [self._finish()] if self._current is not None and self._current.nal_units else []

    # -- internals ------------------------------------------------------------------------------

    def _apply_extension(self, packet: RtpPacket) -> None:
        ext = packet.onvif_extension()
        if ext is None or self._current is None:
            return
        unit = self._current
        if unit.ntp_time is None:
            unit.ntp_time = ext.ntp_time
        unit.discontinuity |= ext.discontinuity
        unit.end_of_section |= ext.end_of_section
        unit.terminal |= ext.terminal

    def _finish(self) -> AccessUnit:
        unit = self._current
        assert unit is not None
        if self._fragment is not None:  # FU never ended: its NAL unit is incomplete
            unit.discontinuity = True
            self._fragment = None
        unit.keyframe = any(is_keyframe_nal(self.codec, nal) for nal in unit.nal_units)
        self._current = None
        return unit

    def _add_nal(self, nal: bytes) -> None:
        if nal and self._current is not None:
            self._current.nal_units.append(nal)

    def _aggregate(self, data: bytes) -> None:
        offset = 0
        while offset + 2 <= len(data):
            size = int.from_bytes(data[offset : offset + 2], "big")
            offset += 2
            if size == 0 or offset + size > len(data):
                raise CameraProtocolError("aggregation packet with a bad NAL unit size")
            self._add_nal(data[offset : offset + size])
            offset += size

    def _fragment_part(self, start: bool, end: bool, header: bytes, body: bytes) -> None:
        if start:
            self._fragment = bytearray(header)
        if self._fragment is None:  # middle/end of a NAL whose start was lost
            if self._current is not None:
                self._current.discontinuity = True
            return
        self._fragment += body
        if end:
            self._add_nal(bytes(self._fragment))
            self._fragment = None

    def _payload_h264(self, payload: bytes) -> None:
        if not payload:
            return
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self._add_nal(payload)
        elif kind == H264_STAP_A:
            self._aggregate(payload[1:])
        elif kind == H264_FU_A:
            if len(payload) < 2:
                raise CameraProtocolError("FU-A packet too short")
            fu = payload[1]
            header = bytes([(payload[0] & 0xE0) | (fu & 0x1F)])
            self._fragment_part(bool(fu & 0x80), bool(fu & 0x40), header, payload[2:])
        elif kind in H264_UNSUPPORTED:
            raise CameraProtocolError(f"H.264 packetization type {kind} (interleaved mode) unsupported")

    def _payload_h265(self, payload: bytes) -> None:
        if len(payload) < 2:
            return
        kind = (payload[0] >> 1) & 0x3F
        if kind < H265_AP:
            self._add_nal(payload)
        elif kind == H265_AP:
            self._aggregate(payload[2:])
        elif kind == H265_FU:
            if len(payload) < 3:
                raise CameraProtocolError("H.265 FU packet too short")
            fu = payload[2]
            header = bytes([(payload[0] & 0x81) | ((fu & 0x3F) << 1), payload[1]])
            self._fragment_part(bool(fu & 0x80), bool(fu & 0x40), header, payload[3:])
        elif kind == H265_PACI:
            raise CameraProtocolError("H.265 PACI packets unsupported")
