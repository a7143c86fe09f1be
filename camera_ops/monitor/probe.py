"""One probe of one camera. Network only; judging is done by :mod:`camera_ops.health.status` and
``picture``.

- :func:`probe_camera`, the full check: raw SOAP time (clock offset), RTSP OPTIONS + DESCRIBE
  (credentials, a video track). Every ``monitor_full_check_s`` and whenever anything is amiss.
- :func:`liveness_probe`, every other cycle: one RTSP OPTIONS. It can say "down" (a failure the
  status decision confirms with a full check) or "answers as before"; anything unusual asks for
  the full check at once.

Every call runs under its own hard deadline (the clients enforce it), and nothing here raises for
a camera fault: every expected failure becomes a field of :class:`ProbeOutcome`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from camera_ops.errors import (
    CameraAuthFailed,
    CameraError,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
)
from camera_ops.health.status import ProbeOutcome, reason_for_error
from camera_ops.monitor.store import ProbeTarget
from camera_ops.netpolicy import pinned_url, resolve_camera_address
from camera_ops.onvif.rawsoap import WallClock, get_system_date_and_time
from camera_ops.rtsp.client import grab_keyframe
from camera_ops.rtsp.quickprobe import KeepBudget, RtspProbeLink, quick_rtsp_probe, rtsp_liveness

log = logging.getLogger(__name__)

MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024  # a 4K JPEG is ~2 MB; anything larger is not a snapshot
HTTP_OK = 200
HTTP_UNAUTHORIZED = 401

# A camera whose ONVIF port does not answer at all is down: trying RTSP too would only double the
# wait on a black hole. A camera that answers ONVIF wrongly may still stream: try RTSP.
_DOWN_ERRORS = (CameraUnreachable,)  # includes CameraTimeout


@dataclass(frozen=True, slots=True)
class ProbeFacts:
    """A probe's outcome plus what the UI shows about it."""

    outcome: ProbeOutcome
    error: str | None  # short text of the first failure, for the UI (never a secret)


def rtsp_link_for(target: ProbeTarget, known: RtspProbeLink | None) -> RtspProbeLink | None:
    """The camera's RTSP probe link: the known one while URL and credentials are unchanged (it
    carries the last digest challenge), else a new one. Raises CameraProtocolError for a bad URL."""
    if not target.rtsp_url:
        return None
    if known is not None and known.same_camera(target.rtsp_url, target.username, target.password):
        return known
    return RtspProbeLink.for_url(target.rtsp_url, target.username, target.password)


async def probe_camera(
    target: ProbeTarget, *, timeout_s: float, clock_offset_s: float | None, rtsp_link: RtspProbeLink | None = None,
    wall: WallClock = time.time,
) -> ProbeFacts:
    """``rtsp_link``: the camera's link from the last probe (:func:`rtsp_link_for`), so this
    cycle's DESCRIBE authenticates up front instead of taking a 401 round trip first.

    ``wall``: "now" in seconds since the epoch, for the outcome's time and the camera's clock
    offset. The monitor passes its own (the database's clock carried forward monotonically), so a
    jump of this machine's wall clock moves neither."""
    at = _utc(wall)
    if not target.onvif:
        return await _probe_rtsp_only(target, at, timeout_s=timeout_s, rtsp_link=rtsp_link)
    onvif_ok: bool | None = None
    clock: float | None = None
    rtt_ms: float | None = None
    first_error: CameraError | None = None
    try:
        answer = await get_system_date_and_time(
            target.host, target.onvif_port, username=target.username, password=target.password,
            clock_offset_s=clock_offset_s or 0.0, timeout_s=timeout_s, wall=wall,
        )
        onvif_ok, clock, rtt_ms = True, answer.clock_offset_s, answer.rtt_s * 1000.0
    except CameraAuthFailed as exc:
        return _failed(at, exc, tcp_ok=True, auth_ok=False)
    except _DOWN_ERRORS as exc:
        return _failed(at, exc, tcp_ok=isinstance(exc, CameraTimeout), onvif_ok=False)
    except CameraError as exc:  # NotOnvif, protocol errors: the camera answers, maybe streams
        onvif_ok, first_error = False, exc
    rtsp_ok: bool | None = None
    if target.rtsp_url:
        try:
            link = rtsp_link or rtsp_link_for(target, None)
            assert link is not None
            await quick_rtsp_probe(link, timeout_s=timeout_s)
            rtsp_ok = True
        except CameraAuthFailed as exc:
            return _failed(at, exc, tcp_ok=True, onvif_ok=onvif_ok, auth_ok=False, clock=clock, rtt_ms=rtt_ms)
        except CameraError as exc:
            rtsp_ok, first_error = False, first_error or exc
    outcome = ProbeOutcome(
        at=at, tcp_ok=True, onvif_ok=onvif_ok, auth_ok=True if rtsp_ok else None, rtsp_ok=rtsp_ok,
        error=reason_for_error(first_error) if first_error else None, clock_offset_s=clock, rtt_ms=rtt_ms,
    )
    return ProbeFacts(outcome, _describe(first_error))


async def _probe_rtsp_only(
    target: ProbeTarget, at: datetime, *, timeout_s: float, rtsp_link: RtspProbeLink | None
) -> ProbeFacts:
    """A camera without ONVIF: RTSP OPTIONS + DESCRIBE is the whole liveness check. Nothing
    answering is offline (as for an ONVIF camera); a stream that answers wrongly is degraded."""
    try:
        link = rtsp_link or rtsp_link_for(target, None)
        if link is None:
            raise CameraProtocolError("the camera has no stream address", field="stream_url")
        started = asyncio.get_running_loop().time()
        await quick_rtsp_probe(link, timeout_s=timeout_s)
    except CameraAuthFailed as exc:
        return _failed(at, exc, tcp_ok=True, auth_ok=False)
    except _DOWN_ERRORS as exc:
        return _failed(at, exc, tcp_ok=False, rtsp_ok=False)
    except CameraError as exc:
        return _failed(at, exc, tcp_ok=True, rtsp_ok=False)
    rtt_ms = (asyncio.get_running_loop().time() - started) * 1000.0
    return ProbeFacts(ProbeOutcome(at=at, tcp_ok=True, auth_ok=True, rtsp_ok=True, rtt_ms=rtt_ms), None)


RTSP_LIVE_CODES = frozenset({200, 401})  # OPTIONS answered as a healthy camera does (401: wants credentials)


class Alive:
    """A liveness exchange answered as a healthy camera does (nothing else was looked at). Most
    probes end here: a plain slotted object (ProbeFacts + ProbeOutcome, frozen dataclasses, cost
    ~15 µs to build per probe)."""

    __slots__ = ("at", "rtt_ms")

    def __init__(self, at: datetime, rtt_ms: float) -> None:
        self.at = at
        self.rtt_ms = rtt_ms


async def liveness_probe(
    link: RtspProbeLink, *, timeout_s: float, wall: WallClock = time.time, keep: KeepBudget | None = None,
) -> Alive | ProbeFacts | None:
    """One RTSP OPTIONS (on the connection kept from the last cycle with ``keep``). Alive when it
    answered as a healthy camera does; facts when it is down (no TCP, no answer); None when the
    camera answered unusually (not RTSP, another status): do the full check now."""
    at = _utc(wall)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        status = await rtsp_liveness(link, timeout_s=timeout_s, keep=keep)
    except CameraUnreachable as exc:  # includes CameraTimeout: as the full check's ONVIF call would say
        return _failed(at, exc, tcp_ok=isinstance(exc, CameraTimeout), onvif_ok=False)
    except CameraError:
        return None
    if status not in RTSP_LIVE_CODES:
        return None
    return Alive(at, (loop.time() - started) * 1000.0)


def _utc(wall: WallClock) -> datetime:
    return datetime.fromtimestamp(wall(), timezone.utc)


def _failed(
    at: datetime, exc: CameraError, *, tcp_ok: bool, onvif_ok: bool | None = None, auth_ok: bool | None = None,
    clock: float | None = None, rtt_ms: float | None = None, rtsp_ok: bool | None = None,
) -> ProbeFacts:
    outcome = ProbeOutcome(
        at=at, tcp_ok=tcp_ok, onvif_ok=onvif_ok, auth_ok=auth_ok, rtsp_ok=rtsp_ok, error=reason_for_error(exc),
        clock_offset_s=clock, rtt_ms=rtt_ms,
    )
    return ProbeFacts(outcome, _describe(exc))


def _describe(exc: CameraError | None) -> str | None:
    return None if exc is None else f"{exc.code}: {exc.message}"[:300]


async def fetch_snapshot(
    client: httpx.AsyncClient, target: ProbeTarget, *, timeout_s: float, auth: httpx.DigestAuth | None = None
) -> bytes:
    """A JPEG from the snapshot URI (HTTP digest, or basic if that is all the camera offers), else
    one keyframe from the RTSP sub stream. Raises CameraError subclasses.

    ``auth``: the camera's own DigestAuth kept between snapshots (it reuses the last challenge, so
    a snapshot is one request instead of two)."""
    if target.snapshot_url:
        try:
            async with asyncio.timeout(timeout_s):  # httpx times each phase; this bounds the whole
                return await _http_snapshot(client, target, timeout_s, auth)
        except TimeoutError as exc:
            raise CameraTimeout(f"snapshot did not arrive within {timeout_s:g} s", field="host") from exc
    if target.keyframe_url:
        return await grab_keyframe(target.keyframe_url, target.username, target.password, timeout_s=timeout_s)
    raise CameraProtocolError("the camera has neither a snapshot URI nor a stream to take a picture from")


async def _http_snapshot(
    client: httpx.AsyncClient, target: ProbeTarget, timeout_s: float, auth: httpx.DigestAuth | None
) -> bytes:
    url = target.snapshot_url
    assert url is not None
    parts = urlsplit(url)
    address = await resolve_camera_address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    url, headers, extensions = pinned_url(url, address)  # camera networks only: to the address checked
    auth = auth or httpx.DigestAuth(target.username, target.password)

    async def get(with_auth: httpx.Auth) -> tuple[httpx.Response, bytes]:
        """The answer read up to MAX_SNAPSHOT_BYTES (whatever is at the address may send without end)."""
        request = client.build_request("GET", url, headers=headers, extensions=extensions, timeout=timeout_s)
        response = await client.send(request, auth=with_auth, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_SNAPSHOT_BYTES:
                    raise CameraProtocolError("snapshot too large")
        finally:
            await response.aclose()
        return response, bytes(body)

    try:
        response, content = await get(auth)
        if response.status_code == HTTP_UNAUTHORIZED and "basic" in response.headers.get("www-authenticate", "").lower():
            response, content = await get(httpx.BasicAuth(target.username, target.password))
    except httpx.TimeoutException as exc:
        raise CameraTimeout(f"snapshot did not arrive within {timeout_s:g} s", field="host") from exc
    except httpx.HTTPError as exc:
        raise CameraUnreachable(f"snapshot request failed: {exc.__class__.__name__}", field="host") from exc
    if response.status_code == HTTP_UNAUTHORIZED:
        raise CameraAuthFailed("camera refused the snapshot username/password", field="password")
    if response.status_code != HTTP_OK:
        raise CameraProtocolError(f"snapshot answered HTTP {response.status_code}")
    return content


def snapshot_client(*, timeout_s: float, max_connections: int) -> httpx.AsyncClient:
    """The one HTTP client for all snapshots: bounded pool, hard timeouts, no redirects to elsewhere."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=0),
        follow_redirects=False,
        trust_env=False,
    )
