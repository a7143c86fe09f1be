"""Reading requests off a camera socket: HTTP/1.1 and RTSP/1.0 share the same head format.

One port may carry both (see ``Fleet(shared_port=...)``): the request line's version token tells
which protocol a connection speaks.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qsl, urlsplit

MAX_HEAD_BYTES = 16 * 1024  # a request head longer than this is not from a camera client
MAX_BODY_BYTES = 1024 * 1024  # SOAP requests are a few KB


class BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""

    @property
    def is_rtsp(self) -> bool:
        return self.version.startswith("RTSP/")

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query))

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


async def read_request(reader: asyncio.StreamReader, *, skip_interleaved: bool = False) -> Request | None:
    """The next request on the connection, or None at a clean end of stream.

    With ``skip_interleaved`` (RTSP), '$'-framed RTP/RTCP packets from the client (FFmpeg sends
    RTCP receiver reports) are read and dropped.
    """
    while True:
        first = await reader.read(1)
        if not first:
            return None
        if first == b"$" and skip_interleaved:
            _, length = struct.unpack("!BH", await reader.readexactly(3))
            await reader.readexactly(length)
            continue
        if first in b"\r\n":
            continue
        break
    try:
        head = first + await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request head too long") from exc
    if len(head) > MAX_HEAD_BYTES:
        raise BadRequest("request head too long")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest(f"bad request line {lines[0]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if length < 0 or length > MAX_BODY_BYTES:
        raise BadRequest("body too large")
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, version, headers, body)


async def swallow(reader: asyncio.StreamReader) -> None:
    """Black hole: read whatever comes, answer nothing, until the client gives up."""
    while await reader.read(65536):
        pass


def http_date(at: float | None = None) -> str:
    """An HTTP/RTSP ``Date`` value; cameras send their own clock (``at``, epoch seconds)."""
    return formatdate(at, usegmt=True)


def response_bytes(version: str, status: int, reason: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [f"{version} {status} {reason}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body or version.startswith("HTTP/"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
