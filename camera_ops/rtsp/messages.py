"""RTSP/1.0 messages (RFC 2326): request serialization, response parsing, and the framing of a
TCP connection that carries both RTSP messages and interleaved RTP (``$`` + channel + length).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from camera_ops.errors import CameraProtocolError

RTSP_VERSION = "RTSP/1.0"
USER_AGENT = "camera-ops/0.1"
INTERLEAVED_MAGIC = 0x24  # b"$"
MAX_HEAD_BYTES = 64 * 1024  # a status line plus headers; cameras send < 2 KiB
MAX_BODY_BYTES = 1024 * 1024  # an SDP is a few KiB; refuse anything absurd


class Headers:
    """Case-insensitive, order-keeping, multi-valued header list."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        lname = name.lower()
        for key, value in self._items:
            if key.lower() == lname:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self._items if key.lower() == lname]

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(slots=True)
class RtspResponse:
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    @property
    def cseq(self) -> int | None:
        value = self.headers.get("CSeq")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None


@dataclass(slots=True)
class RtspServerRequest:
    """A request the server sends to us (ANNOUNCE, GET_PARAMETER, PLAY_NOTIFY...)."""

    method: str
    url: str
    headers: Headers
    body: bytes = b""


@dataclass(slots=True)
class InterleavedFrame:
    channel: int
    payload: bytes


RtspMessage = RtspResponse | RtspServerRequest | InterleavedFrame


def serialize_request(
    method: str, url: str, cseq: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    lines = [f"{method} {url} {RTSP_VERSION}", f"CSeq: {cseq}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def _parse_headers(lines: list[str]) -> Headers:
    items: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        if line[0] in " \t" and items:  # obsolete line folding
            name, value = items[-1]
            items[-1] = (name, value + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise CameraProtocolError(f"malformed RTSP header line {line[:80]!r}")
        items.append((name.strip(), value.strip()))
    return Headers(items)


def parse_head(head: bytes) -> RtspResponse | RtspServerRequest:
    """Parse a status/request line plus headers (without the blank line); body not included."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    first = lines[0].strip()
    headers = _parse_headers(lines[1:])
    if first.startswith("RTSP/"):
        parts = first.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise CameraProtocolError(f"malformed RTSP status line {first[:80]!r}")
        return RtspResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)
    parts = first.split(" ")
    if len(parts) == 3 and parts[2].startswith("RTSP/"):
        return RtspServerRequest(parts[0], parts[1], headers)
    raise CameraProtocolError(f"not an RTSP message: {first[:80]!r}")


def parse_response(data: bytes) -> RtspResponse:
    """Parse a complete response held in memory (head, blank line, body)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise CameraProtocolError("RTSP response without end of headers")
    message = parse_head(head)
    if not isinstance(message, RtspResponse):
        raise CameraProtocolError("expected an RTSP response, got a request")
    length = _content_length(message.headers)
    message.body = body[:length]
    return message


def _content_length(headers: Headers) -> int:
    value = headers.get("Content-Length")
    if value is None:
        return 0
    try:
        length = int(value)
    except ValueError as exc:
        raise CameraProtocolError(f"bad Content-Length {value!r}") from exc
    if not 0 <= length <= MAX_BODY_BYTES:
        raise CameraProtocolError(f"Content-Length out of range: {length}")
    return length


async def read_message(reader: asyncio.StreamReader) -> RtspMessage:
    """Read the next RTSP message or interleaved frame. Raises EOFError at end of stream."""
    first = await reader.read(1)
    if not first:
        raise EOFError("RTSP connection closed")
    if first[0] == INTERLEAVED_MAGIC:
        try:
            header = await reader.readexactly(3)
            payload = await reader.readexactly(int.from_bytes(header[1:3], "big"))
        except asyncio.IncompleteReadError as exc:
            raise EOFError("RTSP connection closed inside an interleaved frame") from exc
        return InterleavedFrame(header[0], payload)
    try:
        rest = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise EOFError("RTSP connection closed inside a message head") from exc
    except asyncio.LimitOverrunError as exc:
        raise CameraProtocolError("RTSP message head too long") from exc
    message = parse_head(first + rest[:-4])
    length = _content_length(message.headers)
    if length:
        try:
            message.body = await reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise EOFError("RTSP connection closed inside a message body") from exc
    return message


@dataclass(slots=True)
class TransportSpec:
    """The parts of a ``Transport`` response header we use."""

    interleaved: tuple[int, int] | None = None
    params: dict[str, str] = field(default_factory=dict)


def parse_transport(value: str) -> TransportSpec:
    spec = TransportSpec()
    for part in value.split(";")[1:]:
        key, _, val = part.strip().partition("=")
        spec.params[key.lower()] = val
    if "interleaved" in spec.params:
        channels = spec.params["interleaved"].split("-")
        try:
            low = int(channels[0])
            high = int(channels[1]) if len(channels) > 1 else low + 1
        except ValueError as exc:
            raise CameraProtocolError(f"bad interleaved channels in Transport {value!r}") from exc
        spec.interleaved = (low, high)
    return spec


def session_id(value: str) -> tuple[str, float | None]:
    """``Session: 12345678;timeout=60`` → ("12345678", 60.0)."""
    ident, _, rest = value.partition(";")
    timeout: float | None = None
    for part in rest.split(";"):
        key, _, val = part.strip().partition("=")
        if key.lower() == "timeout":
            try:
                timeout = float(val)
            except ValueError:
                timeout = None
    return ident.strip(), timeout
