"""A deliberately small, independent RTSP/RTP client used only by the simulator's tests.

It speaks just enough RTSP (digest auth, TCP interleaved) to fetch access units with their RTP
timestamps and ONVIF 0xABAC extensions, so replay can be checked without FFmpeg (which cannot send
``Require: onvif-replay``).
"""

from __future__ import annotations

import hashlib
import re
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

NTP_UNIX_OFFSET_S = 2_208_988_800


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Unit:
    timestamp: int
    nals: list[bytes] = field(default_factory=list)
    ntp_time: float | None = None
    flags: int | None = None

    def annexb(self) -> bytes:
        return b"".join(b"\x00\x00\x00\x01" + n for n in self.nals)


class RtspProbe:
    def __init__(self, url: str, username: str, password: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.url = url
        self.username, self.password = username, password
        self.sock = socket.create_connection((parts.hostname, parts.port or 554), timeout=timeout)
        self.buffer = b""
        self.cseq = 0
        self.auth_params: dict[str, str] | None = None
        self.session: str | None = None
        self.rtcp_bye = False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RtspProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recv(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buffer += data
        return True

    def _authorization(self, method: str, uri: str) -> str | None:
        if not self.auth_params:
            return None
        p = self.auth_params
        ha1 = hashlib.md5(f"{self.username}:{p['realm']}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{ha1}:{p['nonce']}:{ha2}".encode()).hexdigest()
        return (f'Digest username="{self.username}", realm="{p["realm"]}", nonce="{p["nonce"]}", '
                f'uri="{uri}", response="{response}"')

    def request(self, method: str, url: str | None = None, headers: dict[str, str] | None = None) -> Response:
        url = url or self.url
        for _ in range(2):
            self.cseq += 1
            lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"]
            auth = self._authorization(method, url)
            if auth:
                lines.append(f"Authorization: {auth}")
            if self.session:
                lines.append(f"Session: {self.session}")
            lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            response = self.read_response()
            if response.status == 401 and self.auth_params is None:
                challenge = response.headers["www-authenticate"]
                self.auth_params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
                continue
            return response
        return response

    def read_response(self) -> Response:
        while True:
            while self.buffer.startswith(b"$"):  # data ahead of the response: skip it
                if len(self.buffer) < 4 or len(self.buffer) < 4 + struct.unpack("!H", self.buffer[2:4])[0]:
                    break
                self.buffer = self.buffer[4 + struct.unpack("!H", self.buffer[2:4])[0]:]
            end = self.buffer.find(b"\r\n\r\n")
            if end != -1 and not self.buffer.startswith(b"$"):
                break
            if not self._recv():
                raise ConnectionError("connection closed")
        head, self.buffer = self.buffer[:end].decode(), self.buffer[end + 4:]
        lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._recv():
                raise ConnectionError("connection closed")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if "session" in headers:
            self.session = headers["session"].split(";")[0]
        return Response(int(lines[0].split()[1]), headers, body)

    def play(self, headers: dict[str, str] | None = None, setup_headers: dict[str, str] | None = None) -> Response:
        describe = self.request("DESCRIBE", headers={"Accept": "application/sdp"})
        if describe.status != 200:
            return describe
        setup = self.request("SETUP", self.url.rstrip("/") + "/trackID=1",
                             {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1", **(setup_headers or {})})
        if setup.status != 200:
            return setup
        return self.request("PLAY", headers=headers)

    def units(self, max_units: int = 10_000) -> list[Unit]:
        """Access units until RTCP BYE, connection close, or ``max_units``."""
        units: list[Unit] = []
        current: Unit | None = None
        fu: bytearray | None = None
        while len(units) < max_units:
            if len(self.buffer) < 4 or len(self.buffer) < 4 + struct.unpack("!H", self.buffer[2:4])[0]:
                try:
                    if not self._recv():
                        break
                except (ConnectionError, socket.timeout):
                    break
                continue
            channel, length = self.buffer[1], struct.unpack("!H", self.buffer[2:4])[0]
            packet, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
            if channel % 2 == 1:
                if _has_bye(packet):
                    self.rtcp_bye = True
                    break
                continue
            marker, timestamp = packet[1] & 0x80, struct.unpack("!I", packet[4:8])[0]
            offset = 12 + 4 * (packet[0] & 0x0F)
            if current is None:
                current = Unit(timestamp)
            if packet[0] & 0x10:
                profile, words = struct.unpack("!HH", packet[offset:offset + 4])
                ext = packet[offset + 4: offset + 4 + 4 * words]
                if profile == 0xABAC:
                    ntp = struct.unpack("!Q", ext[:8])[0]
                    current.ntp_time = (ntp >> 32) - NTP_UNIX_OFFSET_S + (ntp & 0xFFFFFFFF) / 2**32
                    current.flags = ext[8]
                offset += 4 + 4 * words
            payload = packet[offset:]
            kind = payload[0] & 0x1F
            if kind == 28:
                if payload[1] & 0x80:
                    fu = bytearray([(payload[0] & 0xE0) | (payload[1] & 0x1F)])
                assert fu is not None
                fu += payload[2:]
                if payload[1] & 0x40:
                    current.nals.append(bytes(fu))
                    fu = None
            else:
                current.nals.append(payload)
            if marker:
                units.append(current)
                current = None
        return units


def _has_bye(packet: bytes) -> bool:
    offset = 0
    while offset + 4 <= len(packet):
        if packet[offset + 1] == 203:
            return True
        offset += 4 * (struct.unpack("!H", packet[offset + 2:offset + 4])[0] + 1)
    return False
