"""Asyncio RTSP client: the per-cycle probe (OPTIONS + DESCRIBE), RTP-over-TCP sessions with
optional ONVIF replay, and one-keyframe grabs for picture health.

Every network step runs under a deadline; every connection is closed; credentials never appear
in URLs we send or in error messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import TracebackType
from urllib.parse import unquote, urlsplit, urlunsplit

from camera_ops.errors import (
    UNREACHABLE_OS_ERRORS,
    CameraAuthFailed,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    ClipUnavailable,
    ReplayUnsupported,
)
from camera_ops.netpolicy import resolve_camera_address
from camera_ops.rtsp.auth import Authorizer, BasicAuth, choose_authorizer
from camera_ops.rtsp.depacketize import AccessUnit, Depacketizer
from camera_ops.rtsp.messages import (
    InterleavedFrame,
    RtspResponse,
    RtspServerRequest,
    parse_transport,
    read_message,
    serialize_request,
    session_id,
)
from camera_ops.rtsp.rtp import parse_rtp, rtcp_has_bye
from camera_ops.rtsp.sdp import VideoTrack, parse_sdp, video_track

DEFAULT_RTSP_PORT = 554
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_IDLE_TIMEOUT_S = 10.0  # camera silent this long mid-stream → ClipUnavailable
DEFAULT_SESSION_TIMEOUT_S = 60.0  # RFC 2326 12.37 default when the server names none
KEEPALIVE_FRACTION = 0.5  # send GET_PARAMETER at half the server's session timeout
REPLAY_END_TOLERANCE_S = 1.0  # a replay that closes this near the requested end is complete
TEARDOWN_TIMEOUT_S = 2.0  # best effort; never let a dead camera hold us up on the way out
STREAM_READER_LIMIT_BYTES = 1 << 20
RTSP_OK = 200
RTSP_UNAUTHORIZED = 401
RTSP_SESSION_NOT_FOUND = 454
RTSP_OPTION_NOT_SUPPORTED = 551
RTSP_HEADER_FIELD_NOT_VALID = 456  # some servers answer this to Require: onvif-replay
RTSP_ONVIF_REPLAY = "onvif-replay"



def split_credentials(url: str, username: str | None, password: str | None) -> tuple[str, str | None, str | None]:
    """Remove ``user:pass@`` from a URL; explicit arguments win over embedded credentials."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("rtsp", "rtsps"):
        raise CameraProtocolError("not an rtsp:// URL", field="stream_uri")
    if "@" not in parts.netloc:
        return url, username, password
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, pw = userinfo.partition(":")
    clean = urlunsplit(parts._replace(netloc=hostport))
    return clean, username or unquote(user) or None, password or unquote(pw) or None


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise CameraProtocolError("RTSP URL has no host", field="stream_uri")
    return parts.hostname, parts.port or DEFAULT_RTSP_PORT


def clock_range(start: datetime, end: datetime | None) -> str:
    """``Range: clock=20261121T141000Z-20261121T144000Z`` (UTC, ONVIF Streaming 6.4)."""

    def fmt(when: datetime) -> str:
        when = when.astimezone(timezone.utc)
        text = when.strftime("%Y%m%dT%H%M%S")
        if when.microsecond:
            text += f".{when.microsecond // 1000:03d}"
        return text + "Z"

    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise ValueError("replay range needs timezone-aware datetimes")
    return f"clock={fmt(start)}-{fmt(end) if end else ''}"


class AuthCache:
    """The last ``WWW-Authenticate`` challenges per camera (host, port), so the next probe of the
    same camera authenticates up front: one round trip fewer per cycle. A stale nonce costs one
    401 and is replaced. One cache per event loop; holds no passwords."""

    def __init__(self) -> None:
        self._challenges: dict[tuple[str, int], list[str]] = {}

    def get(self, key: tuple[str, int]) -> list[str] | None:
        return self._challenges.get(key)

    def put(self, key: tuple[str, int], challenges: list[str]) -> None:
        self._challenges[key] = challenges

    def forget(self, key: tuple[str, int]) -> None:
        self._challenges.pop(key, None)


class RtspConnection:
    """One TCP connection to an RTSP server; sends requests, answers 401 with Digest/Basic."""

    def __init__(
        self, url: str, username: str | None, password: str | None, *, timeout_s: float,
        auth_cache: AuthCache | None = None,
    ) -> None:
        self.url, self._username, self._password = split_credentials(url, username, password)
        self.timeout_s = timeout_s
        self._auth_cache = auth_cache
        self._key = host_port(self.url)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._cseq = 0
        self._auth: Authorizer | None = None
        self.session: str | None = None
        self.session_timeout_s = DEFAULT_SESSION_TIMEOUT_S
        self._answered = False  # any answer on this connection yet

    @property
    def auth_method(self) -> str | None:
        if self._auth is None:
            return None
        return "basic" if isinstance(self._auth, BasicAuth) else "digest"

    async def open(self) -> None:
        host, port = self._key
        cached = self._auth_cache.get(self._key) if self._auth_cache and self._username else None
        if cached:
            self._auth = choose_authorizer(cached, self._username or "", self._password or "")
        try:
            async with asyncio.timeout(self.timeout_s):
                address = await resolve_camera_address(host, port)  # camera networks only
                self._reader, self._writer = await asyncio.open_connection(
                    address, port, limit=STREAM_READER_LIMIT_BYTES
                )
        except TimeoutError as exc:
            raise CameraTimeout(f"no answer from {host}:{port} (RTSP connect)", field="host") from exc
        except UNREACHABLE_OS_ERRORS as exc:
            raise CameraUnreachable(f"cannot connect to {host}:{port} (RTSP): {exc.strerror or exc}", field="host") from exc

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        try:
            async with asyncio.timeout(TEARDOWN_TIMEOUT_S):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            pass

    def send(self, method: str, url: str, headers: Iterable[tuple[str, str]] = ()) -> int:
        """Write one request (with auth and session headers); returns its CSeq."""
        if self._writer is None:
            raise CameraProtocolError("RTSP connection is not open")
        self._cseq += 1
        extra = list(headers)
        if self._auth is not None:
            extra.append(("Authorization", self._auth.authorization(method, url)))
        if self.session is not None and method not in ("OPTIONS", "DESCRIBE"):
            extra.append(("Session", self.session))
        self._writer.write(serialize_request(method, url, self._cseq, extra))
        return self._cseq

    async def read(self) -> InterleavedFrame | RtspResponse | RtspServerRequest:
        assert self._reader is not None
        return await read_message(self._reader)

    async def _await_response(self, cseq: int) -> RtspResponse:
        while True:
            message = await self.read()
            if isinstance(message, RtspResponse) and message.cseq in (cseq, None):
                return message
            # interleaved data or stale answers before ours: not ours, skip

    async def request(self, method: str, url: str, headers: Iterable[tuple[str, str]] = ()) -> RtspResponse:
        """Send and wait for the answer, authenticating once on 401. Non-2xx raise."""
        headers = list(headers)
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._await_response(self.send(method, url, headers))
                if response.status == RTSP_UNAUTHORIZED:
                    response = await self._retry_with_auth(method, url, headers, response)
        except TimeoutError as exc:
            raise CameraTimeout(f"RTSP {method} got no answer within {self.timeout_s:g} s", field="host") from exc
        except (EOFError, ConnectionError) as exc:
            if not self._answered:  # accepted, then closed (or reset) before any answer: a dead port-forward
                raise CameraUnreachable(
                    f"{self._key[0]}:{self._key[1]} accepted the RTSP connection and closed it without answering "
                    "(a port-forward to a camera that is off or elsewhere?)", field="rtsp_port",
                    details={"dropped": True}, key="err.rtsp.dropped",
                    params={"address": f"{self._key[0]}:{self._key[1]}"}) from exc
            if isinstance(exc, EOFError):
                raise CameraProtocolError(f"camera closed the RTSP connection during {method}") from exc
            raise CameraUnreachable(f"RTSP connection lost during {method}: {exc}", field="host") from exc
        self._answered = True
        self._check_status(method, response, headers)
        return response

    async def _retry_with_auth(
        self, method: str, url: str, headers: list[tuple[str, str]], response: RtspResponse
    ) -> RtspResponse:
        had_auth = self._auth is not None
        challenges = response.headers.get_all("WWW-Authenticate")
        authorizer = choose_authorizer(challenges, self._username or "", self._password or "")
        if authorizer is None or self._username is None:
            raise CameraAuthFailed("camera requires RTSP credentials we cannot use", field="password")
        self._auth = authorizer
        retried = await self._await_response(self.send(method, url, headers))
        if retried.status == RTSP_UNAUTHORIZED and had_auth:  # stale nonce: one fresh try
            challenges = retried.headers.get_all("WWW-Authenticate")
            self._auth = choose_authorizer(challenges, self._username, self._password or "")
            retried = await self._await_response(self.send(method, url, headers))
        if self._auth_cache is not None:
            if retried.status == RTSP_UNAUTHORIZED:
                self._auth_cache.forget(self._key)
            else:
                self._auth_cache.put(self._key, challenges)
        return retried

    @staticmethod
    def _check_status(method: str, response: RtspResponse, headers: list[tuple[str, str]]) -> None:
        if 200 <= response.status < 300:
            return
        if response.status == RTSP_UNAUTHORIZED:
            raise CameraAuthFailed("camera refused the RTSP username/password", field="password")
        wants_replay = any(k.lower() == "require" and RTSP_ONVIF_REPLAY in v for k, v in headers)
        if wants_replay and response.status in (RTSP_OPTION_NOT_SUPPORTED, RTSP_HEADER_FIELD_NOT_VALID):
            raise ReplayUnsupported(f"camera cannot replay over RTSP ({response.status} {response.reason})")
        raise CameraProtocolError(
            f"RTSP {method} answered {response.status} {response.reason}".strip(),
            field="stream_uri" if response.status == 404 else None,
            details={"status": response.status},
        )


@dataclass(frozen=True)
class RtspProbeResult:
    codec: str
    width: int | None
    height: int | None
    framerate: float | None
    rtt_s: float  # OPTIONS round trip (connection already open)
    describe_s: float  # DESCRIBE including any 401 → retry
    server: str | None
    auth_method: str | None  # "digest" | "basic" | None (no auth asked)


async def _describe(conn: RtspConnection) -> tuple[VideoTrack, RtspResponse]:
    response = await conn.request("DESCRIBE", conn.url, [("Accept", "application/sdp")])
    base = response.headers.get("Content-Base") or response.headers.get("Content-Location") or conn.url
    try:
        sdp = parse_sdp(response.body.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise CameraProtocolError("malformed SDP in DESCRIBE answer") from exc
    return video_track(sdp, base), response


async def rtsp_probe(
    url: str, username: str | None, password: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S,
    auth_cache: AuthCache | None = None,
) -> RtspProbeResult:
    """OPTIONS + DESCRIBE under one hard deadline; codec and resolution from the SDP.

    Pass one ``auth_cache`` for all probes of a loop to skip the 401 round trip next time.
    """
    conn = RtspConnection(url, username, password, timeout_s=timeout_s, auth_cache=auth_cache)
    try:
        async with asyncio.timeout(timeout_s):
            await conn.open()
            started = time.perf_counter()
            options = await conn.request("OPTIONS", conn.url)
            rtt = time.perf_counter() - started
            started = time.perf_counter()
            track, _ = await _describe(conn)
            describe_s = time.perf_counter() - started
    except TimeoutError as exc:
        raise CameraTimeout(f"RTSP probe got no answer within {timeout_s:g} s", field="host") from exc
    finally:
        await conn.close()
    return RtspProbeResult(
        codec=track.codec,
        width=track.width,
        height=track.height,
        framerate=track.framerate,
        rtt_s=rtt,
        describe_s=describe_s,
        server=options.headers.get("Server"),
        auth_method=conn.auth_method,
    )


@dataclass(frozen=True)
class ReplayRequest:
    """ONVIF replay of recorded footage (ONVIF Streaming spec 6)."""

    start: datetime  # camera-clock UTC
    end: datetime | None
    rate_control: bool = False  # False = "Rate-Control: no": as fast as the transport allows


class RtspSession:
    """DESCRIBE → SETUP (RTP/AVP/TCP interleaved) → PLAY; TEARDOWN on exit.

    ``async for unit in session.access_units()`` yields :class:`AccessUnit` until the server
    ends the stream (TEARDOWN, RTCP BYE, replay T flag, socket close, end of the replay range).
    ``end_reason`` says which. A camera silent for ``idle_timeout_s`` raises ClipUnavailable, and
    so does a replay whose socket closes (no T flag, no BYE) more than 1 s before the requested
    end: a cut-off transfer is never passed off as a complete clip. Units after the requested end
    are not yielded.
    """

    def __init__(
        self, url: str, username: str | None, password: str | None, *,
        timeout_s: float = DEFAULT_TIMEOUT_S, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        replay: ReplayRequest | None = None,
    ) -> None:
        self._conn = RtspConnection(url, username, password, timeout_s=timeout_s)
        self.idle_timeout_s = idle_timeout_s
        self.replay = replay
        self.track: VideoTrack | None = None
        self.play_range: str | None = None
        self.end_reason: str | None = None
        self.packets_lost = 0
        self._channels = (0, 1)
        self._session_url: str | None = None

    def _replay_headers(self) -> list[tuple[str, str]]:
        return [("Require", RTSP_ONVIF_REPLAY)] if self.replay else []

    async def __aenter__(self) -> RtspSession:
        await self._conn.open()
        try:
            await self._start()
        except BaseException:
            await self._conn.close()
            raise
        return self

    async def _start(self) -> None:
        conn = self._conn
        self.track, describe = await _describe(conn)
        self._session_url = describe.headers.get("Content-Base") or conn.url
        transport = f"RTP/AVP/TCP;unicast;interleaved={self._channels[0]}-{self._channels[1]}"
        setup = await conn.request("SETUP", self.track.control_url, [("Transport", transport), *self._replay_headers()])
        if (raw_session := setup.headers.get("Session")) is None:
            raise CameraProtocolError("SETUP answer has no Session header")
        conn.session, timeout = session_id(raw_session)
        conn.session_timeout_s = timeout or DEFAULT_SESSION_TIMEOUT_S
        spec = parse_transport(setup.headers.get("Transport", ""))
        if spec.interleaved:
            self._channels = spec.interleaved
        play_headers = self._replay_headers()
        if self.replay:
            play_headers.append(("Range", clock_range(self.replay.start, self.replay.end)))
            if not self.replay.rate_control:
                play_headers.append(("Rate-Control", "no"))
        else:
            play_headers.append(("Range", "npt=0.000-"))
        play = await conn.request("PLAY", self._session_url, play_headers)
        self.play_range = play.headers.get("Range")

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self._conn.session is not None and self.end_reason not in ("teardown", "eof"):
                async with asyncio.timeout(TEARDOWN_TIMEOUT_S):
                    await self._teardown(wait_for_answer=exc_type is None)
        except (TimeoutError, OSError, EOFError, CameraProtocolError):
            pass  # best effort: the camera may already be gone
        finally:
            await self._conn.close()

    async def _teardown(self, *, wait_for_answer: bool) -> None:
        """TEARDOWN so the camera frees the session slot now; after a failure (a silent or
        broken camera) we do not wait for its answer."""
        cseq = self._conn.send("TEARDOWN", self._session_url or self._conn.url)
        if not wait_for_answer:
            return
        while True:
            message = await self._conn.read()
            if isinstance(message, RtspResponse) and message.cseq == cseq:
                return

    async def _next_message(self) -> InterleavedFrame | RtspResponse | RtspServerRequest:
        try:
            async with asyncio.timeout(self.idle_timeout_s):
                return await self._conn.read()
        except TimeoutError as exc:
            raise ClipUnavailable(f"camera went silent for {self.idle_timeout_s:g} s mid-stream") from exc
        except ConnectionError as exc:
            raise ClipUnavailable(f"RTSP connection broke mid-stream: {exc}") from exc

    def _keepalive_due(self, last_sent: float) -> bool:
        return time.monotonic() - last_sent >= self._conn.session_timeout_s * KEEPALIVE_FRACTION

    async def access_units(self) -> AsyncIterator[AccessUnit]:
        if self.track is None:
            raise RuntimeError("use RtspSession as an async context manager first")
        depacketizer = Depacketizer(self.track.codec, self.track.payload_type)
        last_time: datetime | None = None
        last_keepalive = time.monotonic()
        rtp_channel, rtcp_channel = self._channels
        while True:
            if self._keepalive_due(last_keepalive):
                self._conn.send("GET_PARAMETER", self._session_url or self._conn.url)
                last_keepalive = time.monotonic()
            try:
                message = await self._next_message()
            except EOFError:
                self._check_replay_complete(last_time)
                self.end_reason = "eof"
                break
            if isinstance(message, RtspServerRequest):
                if message.method.upper() == "TEARDOWN":
                    self.end_reason = "teardown"
                    break
                continue
            if isinstance(message, RtspResponse):
                if message.status == RTSP_SESSION_NOT_FOUND:  # keep-alive answers: only this one matters
                    raise ClipUnavailable("camera dropped the RTSP session mid-stream")
                continue
            if message.channel == rtcp_channel and rtcp_has_bye(message.payload):
                self.end_reason = "bye"
                break
            if message.channel != rtp_channel:
                continue
            for unit in depacketizer.push(parse_rtp(message.payload)):
                self.packets_lost = depacketizer.packets_lost
                if self._past_range_end(unit):  # the server did not stop at the end of the range
                    self.end_reason = "range_end"
                    return
                last_time = unit.ntp_time or last_time
                yield unit
                if unit.terminal:
                    self.end_reason = "terminal"
                    return
        for unit in depacketizer.flush():
            yield unit
        self.packets_lost = depacketizer.packets_lost

    def _check_replay_complete(self, last_time: datetime | None) -> None:
        """A replay cut off by a closed socket (no T flag, no BYE) before its end is not a clip."""
        if self.replay is None or self.replay.end is None:
            return
        if last_time is None or last_time < self.replay.end - timedelta(seconds=REPLAY_END_TOLERANCE_S):
            reached = last_time.isoformat() if last_time else "no footage"
            raise ClipUnavailable(f"camera closed the replay early (reached {reached})")

    def _past_range_end(self, unit: AccessUnit) -> bool:
        return bool(self.replay and self.replay.end and unit.ntp_time and unit.ntp_time > self.replay.end)


async def grab_keyframe(url: str, username: str | None, password: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> bytes:
    """Play the stream until the first keyframe; return it decoded and encoded as JPEG."""
    from camera_ops.video.decode import keyframe_to_jpeg  # PyAV/OpenCV only when needed

    try:
        async with asyncio.timeout(timeout_s):
            async with RtspSession(url, username, password, timeout_s=timeout_s, idle_timeout_s=timeout_s) as session:
                assert session.track is not None
                async for unit in session.access_units():
                    if unit.keyframe:
                        return await asyncio.to_thread(keyframe_to_jpeg, session.track, unit)
    except TimeoutError as exc:
        raise CameraTimeout(f"no keyframe within {timeout_s:g} s", field="host") from exc
    raise ClipUnavailable("stream ended before a keyframe arrived")
