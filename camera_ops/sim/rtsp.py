"""RTSP/1.0 server side of a simulated camera (RFC 2326 subset + ONVIF Streaming replay).

Methods: OPTIONS, DESCRIBE, SETUP (RTP/AVP/TCP interleaved only; UDP is answered 461), PLAY,
PAUSE, TEARDOWN, GET_PARAMETER / SET_PARAMETER (keep-alive). Digest auth on everything but
OPTIONS, as cheap cameras do. What a URL plays is decided by :func:`route`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from camera_ops.sim.camera import REPLAY_PATH, SimCamera
from camera_ops.sim.replay import Plan, live_plan, stream_plan, window_plan
from camera_ops.sim.rtp import Packetizer, rtp_time
from camera_ops.sim.video import parameter_sets
from camera_ops.sim.wire import BadRequest, Request, http_date, read_request, response_bytes, swallow

SESSION_TIMEOUT_S = 60  # announced in the Session header; clients keep alive with GET_PARAMETER
PUBLIC_METHODS = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 454: "Session Not Found",
    455: "Method Not Valid in This State", 457: "Invalid Range", 459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport", 501: "Not Implemented", 551: "Option not supported",
}
TRACK_SUFFIX = re.compile(r"/(trackID=\d+|track\d+)?/?$")
ONVIF_REPLAY = "onvif-replay"


@dataclass(frozen=True)
class Source:
    kind: Literal["live", "replay", "playback"]
    stream: Literal["main", "sub"]
    start: float | None = None  # camera epoch seconds (vendor playback URLs carry the window)
    end: float | None = None


@dataclass
class Session:
    id: str
    source: Source
    url: str
    channel: int
    replay_requested: bool
    packetizer: Packetizer = field(default_factory=Packetizer)
    task: asyncio.Task[None] | None = None
    pending: Plan | None = None  # decided by PLAY, started once the PLAY response is on the wire

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


def strip_track(url: str) -> str:
    """The presentation URL of a track or aggregate control URL (FFmpeg appends '/trackID=1')."""
    return TRACK_SUFFIX.sub("", url, count=1) if "trackID=" in url or url.endswith("/") else url


def route(camera: SimCamera, url: str) -> Source | None:
    """What ``url`` plays on this camera, or None (404)."""
    parts = urlsplit(strip_track(url))
    path, query = parts.path or "/", dict(parse_qsl(parts.query))
    p = camera.personality
    for stream, wanted in (("main", p.main_path), ("sub", p.sub_path)):
        want = urlsplit(wanted)
        if path == want.path and all(query.get(k) == v for k, v in parse_qsl(want.query)):
            return Source("live", stream)  # type: ignore[arg-type]
    if path == REPLAY_PATH and camera.spec.has_profile_g:
        return Source("replay", "main")
    vendor = camera.spec.vendor
    if vendor == "nvr":
        return _recorder_route(camera, path, query)
    try:
        if vendor == "hikvision" and path in ("/Streaming/tracks/101", "/Streaming/tracks/102"):
            start = _parse_vendor_time(query.get("starttime"), "%Y%m%dT%H%M%SZ", camera.spec.playback_zone)
            end = _parse_vendor_time(query.get("endtime"), "%Y%m%dT%H%M%SZ", camera.spec.playback_zone)
            return Source("playback", "main" if path.endswith("1") else "sub", start, end)
        if vendor == "dahua" and path == "/cam/playback" and query.get("channel", "1") == "1":
            start = _parse_vendor_time(query.get("starttime"), "%Y_%m_%d_%H_%M_%S", camera.spec.playback_zone)
            end = _parse_vendor_time(query.get("endtime"), "%Y_%m_%d_%H_%M_%S", camera.spec.playback_zone)
            return Source("playback", "sub" if query.get("subtype") == "1" else "main", start, end)
    except ValueError:
        return None
    return None


_RECORDER_PATH = re.compile(r"^/Streaming/(Channels|tracks)/(\d{1,2})0([12])$")


def _recorder_route(camera: SimCamera, path: str, query: dict[str, str]) -> Source | None:
    """A recorder's channels: /Streaming/Channels/{ch}01 (main), {ch}02 (sub), /Streaming/tracks/{ch}01
    (playback); a channel it does not have is 404."""
    match = _RECORDER_PATH.match(path)
    if match is None or not 1 <= int(match.group(2)) <= camera.spec.channel_count:
        return None
    stream = "main" if match.group(3) == "1" else "sub"
    if match.group(1) == "Channels":
        return Source("live", stream)  # type: ignore[arg-type]
    try:
        start = _parse_vendor_time(query.get("starttime"), "%Y%m%dT%H%M%SZ", camera.spec.playback_zone)
        end = _parse_vendor_time(query.get("endtime"), "%Y%m%dT%H%M%SZ", camera.spec.playback_zone)
    except ValueError:
        return None
    return Source("playback", stream, start, end)  # type: ignore[arg-type]


def _parse_vendor_time(value: str | None, fmt: str, local_tz: str | None = None) -> float | None:
    """Camera epoch seconds from a playback URL time (UTC, or the camera's local time)."""
    if not value:
        return None
    zone = ZoneInfo(local_tz) if local_tz else timezone.utc
    return datetime.strptime(value, fmt).replace(tzinfo=zone).timestamp()


def parse_clock_range(value: str) -> tuple[float | None, float | None] | None:
    """``clock=20261121T141000Z-20261121T144000.5Z`` -> (start, end) epoch seconds."""
    match = re.match(r"\s*clock\s*=\s*([0-9T.Z]*)\s*-\s*([0-9T.Z]*)", value)
    if not match:
        return None
    return tuple(_parse_clock(v) if v else None for v in match.groups())  # type: ignore[return-value]


def _parse_clock(value: str) -> float:
    whole, _, frac = value.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    return moment.timestamp() + (float("0." + frac) if frac else 0.0)


def _mjpeg_sdp(camera: SimCamera) -> bytes:
    """What a camera set to Motion JPEG describes (RTP payload type 26, RFC 2435)."""
    return "\r\n".join([
        "v=0", f"o=- 1 1 IN IP4 {camera.host}", "s=MJPEG", "c=IN IP4 0.0.0.0", "t=0 0",
        "m=video 0 RTP/AVP 26", "a=rtpmap:26 JPEG/90000", "a=control:trackID=1", "",
    ]).encode()


class RtspConnection:
    """One client TCP connection; sessions live and die with it (interleaved transport)."""

    def __init__(self, camera: SimCamera, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.camera = camera
        self.reader = reader
        self.writer = writer
        self.sessions: dict[str, Session] = {}

    async def run(self, first: Request) -> None:
        request: Request | None = first
        try:
            while request is not None:
                await self._answer(request)
                request = await read_request(self.reader, skip_interleaved=True)
        except BadRequest:
            return
        finally:
            for session in self.sessions.values():
                session.stop()

    async def _answer(self, request: Request) -> None:
        faults = self.camera.faults
        if faults.black_hole:
            await swallow(self.reader)
            return
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        status, headers, body = await self._dispatch(request)
        headers = [("CSeq", request.header("cseq", "0")), ("Server", self.camera.personality.server_header),
                   ("Date", http_date(self.camera.now())), *headers]
        self.writer.write(response_bytes("RTSP/1.0", status, REASONS.get(status, "Error"), headers, body))
        await self.writer.drain()
        if request.method == "PLAY" and status == 200:
            self._start(request)

    async def _dispatch(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        method = request.method
        if method == "OPTIONS":
            return 200, [("Public", PUBLIC_METHODS)], b""
        auth = self.camera.check_auth(request.header("authorization") or None, method)
        if not auth.ok:
            return 401, [("WWW-Authenticate", self.camera.challenge(qop=False, stale=auth.stale))], b""
        replay_required = ONVIF_REPLAY in request.header("require").lower()
        if replay_required and not self.camera.replay_supported:
            return 551, [("Unsupported", ONVIF_REPLAY)], b""
        handler = {
            "DESCRIBE": self._describe, "SETUP": self._setup, "PLAY": self._play, "PAUSE": self._pause,
            "TEARDOWN": self._teardown, "GET_PARAMETER": self._keepalive, "SET_PARAMETER": self._keepalive,
        }.get(method)
        if handler is None:
            return 501, [], b""
        return await handler(request)

    async def _describe(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        source = route(self.camera, request.target)
        if source is None:
            return 404, [], b""
        if source.kind == "playback" and self.camera.faults.replay_unsupported:
            return 404, [], b""  # a camera with no (readable) SD card has nothing at that URL
        spec = self.camera.spec
        size = spec.main_size if source.stream == "main" else spec.sub_size
        params = await asyncio.get_running_loop().run_in_executor(None, parameter_sets, size, spec.fps)
        if source.kind == "playback" and source.start is not None and source.end is not None:
            range_line = f"a=range:npt=0-{max(0.0, source.end - source.start):.3f}"
        else:
            range_line = "a=range:npt=0-"
        if self.camera.faults.mjpeg_only:
            return 200, [("Content-Type", "application/sdp")], _mjpeg_sdp(self.camera)
        sdp = "\r\n".join([
            "v=0",
            f"o=- {abs(hash(self.camera.name)) % 10**9} 1 IN IP4 {self.camera.host}",
            f"s={self.camera.personality.manufacturer} {source.kind}",
            "c=IN IP4 0.0.0.0",
            "t=0 0",
            "a=control:*",
            range_line,
            "m=video 0 RTP/AVP 96",
            "a=rtpmap:96 H264/90000",
            f"a=fmtp:96 packetization-mode=1;profile-level-id={params.profile_level_id};sprop-parameter-sets={params.sprop}",
            f"a=framerate:{spec.fps}",
            f"a=x-dimensions:{size[0]},{size[1]}",
            "a=control:trackID=1",
            "a=recvonly",
            "",
        ]).encode()
        base = strip_track(request.target) + "/"
        return 200, [("Content-Type", "application/sdp"), ("Content-Base", base)], sdp

    async def _setup(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        source = route(self.camera, request.target)
        if source is None:
            return 404, [], b""
        transport = request.header("transport")
        if "RTP/AVP/TCP" not in transport.upper():
            return 461, [], b""
        match = re.search(r"interleaved=(\d+)", transport)
        channel = int(match.group(1)) if match else 2 * len(self.sessions)
        session_id = request.header("session").split(";")[0] or secrets.token_hex(8)
        replay = ONVIF_REPLAY in request.header("require").lower()
        session = Session(session_id, source, strip_track(request.target), channel, replay)
        old = self.sessions.get(session_id)
        if old is not None:
            old.stop()
        self.sessions[session_id] = session
        reply_transport = f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1};ssrc={session.packetizer.ssrc:08X}"
        return 200, [("Transport", reply_transport), ("Session", f"{session_id};timeout={SESSION_TIMEOUT_S}")], b""

    def _session(self, request: Request) -> Session | None:
        return self.sessions.get(request.header("session").split(";")[0])

    async def _play(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        session = self._session(request)
        if session is None:
            return 454, [], b""
        plan = self._plan(session, request)
        if plan is None:
            return 457, [], b""
        session.stop()
        session.pending = plan
        seq = session.packetizer.sequence
        info = f"url={session.url}/trackID=1;seq={seq};rtptime={rtp_time(plan.first_capture)}"
        headers = [("Session", session.id), ("RTP-Info", info), ("Range", plan.range_header)]
        if plan.replay:
            headers.append(("Rate-Control", "yes" if plan.paced else "no"))
        return 200, headers, b""

    def _plan(self, session: Session, request: Request) -> Plan | None:
        source, camera = session.source, self.camera
        replay = source.kind == "replay" and session.replay_requested and ONVIF_REPLAY in request.header("require").lower()
        if replay:
            window = parse_clock_range(request.header("range"))
            first, _ = camera.recording_window()
            start, end = window if window else (None, None)
            paced = request.header("rate-control", "yes").strip().lower() != "no"
            return window_plan(camera, source.stream, start if start is not None else first, end, paced=paced, replay=True)
        if source.kind == "playback":
            first, _ = camera.recording_window()
            start = source.start if source.start is not None else first
            # Vendor playback is read by FFmpeg-style clients: send as fast as TCP allows, then BYE.
            return window_plan(camera, source.stream, start, source.end, paced=False, replay=False)
        return live_plan(camera, source.stream)  # live, or a replay URL without Require (cheap cameras)

    def _start(self, request: Request) -> None:
        session = self._session(request)
        if session is None or session.pending is None:
            return
        plan, session.pending = session.pending, None
        session.task = asyncio.ensure_future(stream_plan(self.camera, self.writer, session.packetizer, session.channel, plan))

    async def _pause(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        session = self._session(request)
        if session is None:
            return 454, [], b""
        session.stop()
        return 200, [("Session", session.id)], b""

    async def _teardown(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        session = self.sessions.pop(request.header("session").split(";")[0], None)
        if session is None:
            return 454, [], b""
        session.stop()
        return 200, [("Session", session.id)], b""

    async def _keepalive(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        session = self._session(request)
        return 200, [("Session", session.id)] if session else [], b""
