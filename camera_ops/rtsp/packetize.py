"""Access units → RTP payloads (RFC 6184 / RFC 7798, non-interleaved): the inverse of
:mod:`camera_ops.rtsp.depacketize`. Used by test servers, benches and the camera simulator's
peers; cameras do this for real.
"""

from __future__ import annotations

from collections.abc import Iterator

from camera_ops.rtsp.h26x import H264

DEFAULT_MTU_PAYLOAD_BYTES = 1400  # keeps RTP-over-UDP below a 1500-byte Ethernet MTU


def packetize_nal(codec: str, nal: bytes, max_payload: int = DEFAULT_MTU_PAYLOAD_BYTES) -> Iterator[bytes]:
    """One NAL unit → one single-NAL payload, or FU-A/FU fragments if it is too large."""
    if len(nal) <= max_payload:
        yield nal
        return
    if codec == H264:
        indicator = bytes([(nal[0] & 0xE0) | 28])
        kind, body, head_len = nal[0] & 0x1F, nal[1:], 2
    else:
        indicator = bytes([(nal[0] & 0x81) | (49 << 1), nal[1]])
        kind, body, head_len = (nal[0] >> 1) & 0x3F, nal[2:], 3
    chunk = max_payload - head_len
    for offset in range(0, len(body), chunk):
        start = 0x80 if offset == 0 else 0
        end = 0x40 if offset + chunk >= len(body) else 0
        yield indicator + bytes([start | end | kind]) + body[offset : offset + chunk]


def aggregate(codec: str, nals: list[bytes]) -> bytes:
    """Several small NAL units → one STAP-A (H.264) or AP (H.265) payload."""
    if codec == H264:
        nri = max(nal[0] & 0x60 for nal in nals)
        head = bytes([nri | 24])
    else:
        layer_tid = min((nal[0] & 0x01, nal[1]) for nal in nals)
        head = bytes([(48 << 1) | layer_tid[0], layer_tid[1]])
    return head + b"".join(len(nal).to_bytes(2, "big") + nal for nal in nals)


def packetize_access_unit(
    codec: str, nals: list[bytes], max_payload: int = DEFAULT_MTU_PAYLOAD_BYTES, use_aggregation: bool = True
) -> list[bytes]:
    """All RTP payloads of one access unit, in order (the last one gets the marker bit)."""
    payloads: list[bytes] = []
    small: list[bytes] = []

    def flush_small() -> None:
        if len(small) == 1 or (small and not use_aggregation):
            payloads.extend(small)
        elif small:
            payloads.append(aggregate(codec, small))
        small.clear()

    for nal in nals:
        fits = sum(len(n) + 2 for n in small) + len(nal) + 4 <= max_payload
        if len(nal) + 4 <= max_payload // 4 and fits:
            small.append(nal)
            continue
        flush_small()
        payloads.extend(packetize_nal(codec, nal, max_payload))
    flush_small()
    return payloads
