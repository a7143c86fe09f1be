"""A tiny in-process RTSP camera for tests and benches (127.0.0.1 only).

Serves a fixed list of access units over RTP/AVP/TCP interleaved, with Digest/Basic auth, ONVIF
replay (0xABAC extension, 551 when replay is off), and faults: go silent, drop packets, end with
RTCP BYE / socket close / server TEARDOWN. Not a camera simulator: the simulator lives in
``camera_ops.sim``; this is the smallest thing that lets the client be tested on its own.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from camera_ops.rtsp.auth import compute_digest_response, parse_challenge
from camera_ops.rtsp.h26x import H264, is_parameter_set, nal_type
from camera_ops.rtsp.messages import Headers, RtspServerRequest, read_message
from camera_ops.rtsp.packetize import packetize_access_unit
from camera_ops.rtsp.rtp import ONVIF_REPLAY_EXTENSION_ID, build_onvif_extension, build_rtp

PAYLOAD_TYPE = 96
FRAME_TICKS = 3600  # 90 kHz / 25 fps
BYE_PACKET = bytes([0x81, 203, 0x00, 0x01]) + (0x1234ABCD).to_bytes(4, "big")


@dataclass
class FakeRtspCamera:
    access_units: list[list[bytes]]
    codec: str = H264
    width: int = 320
    height: int = 240
    username: str | None = None
    password: str | None = None
    auth: str = "digest"  # "digest" | "basic"
    realm: str = "FakeCamera"
    replay_supported: bool = True
    ntp_start: datetime | None = None  # send the ONVIF replay extension from this time
    frame_ticks: int = FRAME_TICKS
    first_timestamp: int = 0xFFFF_0000  # near the 32-bit wrap on purpose
    first_sequence: int = 0xFFF0
    silent_after: int | None = None  # stop sending after N units, keep the socket open
    drop_sequence_offsets: set[int] = field(default_factory=set)  # packet indexes never sent
    end_with: str = "bye"  # "bye" | "close" | "teardown"
    terminal_flag: bool = True  # replay: set T on the last unit
    sdp_parameter_sets: bool = True
    gaps_after: dict[int, int] = field(default_factory=dict)  # unit index → extra ticks before next
    requests: list[tuple[str, Headers]] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # -- RTSP -----------------------------------------------------------------------------------

    def _authorized(self, request: RtspServerRequest) -> bool:
        if self.username is None:
            return True
        value = request.headers.get("Authorization") or ""
        if self.auth == "basic":
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return value == f"Basic {token}"
        challenge = parse_challenge(value)
        params = challenge.params
        if challenge.scheme != "digest" or params.get("username") != self.username:
            return False
        expected = compute_digest_response(
            username=self.username, password=self.password or "", realm=self.realm,
            nonce=params.get("nonce", ""), method=request.method, uri=params.get("uri", ""),
            qop=params.get("qop"), nc=params.get("nc", ""), cnonce=params.get("cnonce", ""),
        )
        return params.get("response") == expected and params.get("nonce") == self._nonce

    _nonce = "c0ffee" + os.urandom(4).hex()

    def _challenge(self) -> str:
        if self.auth == "basic":
            return f'Basic realm="{self.realm}"'
        return f'Digest realm="{self.realm}", nonce="{self._nonce}", qop="auth"'

    def _sdp(self) -> str:
        fmtp = ""
        sets = [nal for nal in self.access_units[0] if is_parameter_set(self.codec, nal)]
        if self.sdp_parameter_sets and sets:
            encoded = [base64.b64encode(nal).decode() for nal in sets]
            if self.codec == H264:
                fmtp = f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;sprop-parameter-sets={','.join(encoded)}\r\n"
            else:
                names = {32: "sprop-vps", 33: "sprop-sps", 34: "sprop-pps"}
                pairs = [f"{names[nal_type(self.codec, n)]}={e}" for n, e in zip(sets, encoded)]
                fmtp = f"a=fmtp:{PAYLOAD_TYPE} {';'.join(pairs)}\r\n"
        encoding = "H264" if self.codec == H264 else "H265"
        return (
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=fake\r\nt=0 0\r\na=control:*\r\n"
            f"m=video 0 RTP/AVP {PAYLOAD_TYPE}\r\na=rtpmap:{PAYLOAD_TYPE} {encoding}/90000\r\n"
            f"{fmtp}a=control:trackID=1\r\n"
        )

    def _packets(self, play_cseq: int) -> list[bytes]:
        packets: list[bytes] = []
        timestamp = self.first_timestamp
        index = 0
        for number, nals in enumerate(self.access_units):
            payloads = packetize_access_unit(self.codec, nals)
            for part, payload in enumerate(payloads):
                ext: dict[str, object] = {}
                if part == 0 and self.ntp_start is not None:
                    ticks = (timestamp - self.first_timestamp) % (1 << 32)
                    when = self.ntp_start + timedelta(seconds=ticks / 90_000)
                    body = build_onvif_extension(
                        when, clean_point=any(nal_type(self.codec, n) in (5, 19, 20) for n in nals),
                        end_of_section=number in self.gaps_after,
                        terminal=self.terminal_flag and number == len(self.access_units) - 1, cseq=play_cseq,
                    )
                    ext = {"extension_profile": ONVIF_REPLAY_EXTENSION_ID, "extension": body}
                if index not in self.drop_sequence_offsets:
                    packets.append(build_rtp(
                        payload, sequence=self.first_sequence + index, timestamp=timestamp,
                        marker=part == len(payloads) - 1, payload_type=PAYLOAD_TYPE, **ext,  # type: ignore[arg-type]
                    ))
                index += 1
            packets.append(b"")  # end-of-unit marker for silent_after counting
            timestamp = (timestamp + self.frame_ticks + self.gaps_after.get(number, 0)) % (1 << 32)
        return packets

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (EOFError, ConnectionError, asyncio.CancelledError):
            pass  # client gone, or the test is over
        finally:
            writer.close()
            self.tasks.discard(task)  # type: ignore[arg-type]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await read_message(reader)
            if not isinstance(request, RtspServerRequest):
                continue
            self.requests.append((request.method, request.headers))
            cseq = request.headers.get("CSeq", "0")
            if request.method != "OPTIONS" and not self._authorized(request):
                self._reply(writer, cseq, 401, "Unauthorized", [("WWW-Authenticate", self._challenge())])
                continue
            wants_replay = "onvif-replay" in (request.headers.get("Require") or "")
            if wants_replay and not self.replay_supported:
                self._reply(writer, cseq, 551, "Option not supported", [("Unsupported", "onvif-replay")])
                continue
            if request.method == "OPTIONS":
                methods = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
                self._reply(writer, cseq, 200, "OK", [("Public", methods), ("Server", "FakeCamera/1.0")])
            elif request.method == "DESCRIBE":
                body = self._sdp().encode()
                self._reply(writer, cseq, 200, "OK", [("Content-Type", "application/sdp"), ("Content-Base", request.url + "/")], body)
            elif request.method == "SETUP":
                self._reply(writer, cseq, 200, "OK", [("Session", "47112344;timeout=60"), ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")])
            elif request.method == "PLAY":
                self._reply(writer, cseq, 200, "OK", [("Session", "47112344"), ("Range", request.headers.get("Range") or "npt=0-")])
                await writer.drain()
                if await self._stream(writer, int(cseq)):
                    return
            elif request.method == "TEARDOWN":
                self._reply(writer, cseq, 200, "OK", [("Session", "47112344")])
                await writer.drain()
                return
            else:
                self._reply(writer, cseq, 200, "OK", [("Session", "47112344")])
            await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, play_cseq: int) -> bool:
        """Send the units; True when the connection should end."""
        units_sent = 0
        for packet in self._packets(play_cseq):
            if not packet:
                units_sent += 1
                if self.silent_after is not None and units_sent >= self.silent_after:
                    await writer.drain()
                    await asyncio.sleep(3600)  # silent: the client's idle timeout must fire
                continue
            writer.write(b"$\x00" + len(packet).to_bytes(2, "big") + packet)
            await writer.drain()
        if self.end_with == "bye":
            writer.write(b"$\x01" + len(BYE_PACKET).to_bytes(2, "big") + BYE_PACKET)
            await writer.drain()
            return False
        if self.end_with == "teardown":
            writer.write(b"TEARDOWN rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: 1\r\nSession: 47112344\r\n\r\n")
            await writer.drain()
        return True

    @staticmethod
    def _reply(writer: asyncio.StreamWriter, cseq: str, status: int, reason: str,
               headers: list[tuple[str, str]], body: bytes = b"") -> None:
        lines = [f"RTSP/1.0 {status} {reason}", f"CSeq: {cseq}", *[f"{k}: {v}" for k, v in headers]]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


@asynccontextmanager
async def serve_rtsp(camera: FakeRtspCamera, path: str = "/stream1") -> AsyncIterator[str]:
    """Run the fake camera on 127.0.0.1 (random port); yields its credential-free URL."""
    server = await asyncio.start_server(camera.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"rtsp://127.0.0.1:{port}{path}"
    finally:
        server.close()
        for task in list(camera.tasks):  # e.g. a "silent" camera still sleeping
            task.cancel()
        await asyncio.gather(*camera.tasks, return_exceptions=True)
        await server.wait_closed()
