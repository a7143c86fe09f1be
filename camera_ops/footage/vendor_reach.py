"""Recording reach through the vendor's own search, for cameras fetched by Hikvision- or Dahua-style
playback (no ONVIF recording search): asked at registration and by the daily refresh.

The answer is one of
- a reach (earliest and latest recording, on the camera's clock), perhaps with a card problem;
- "not recording": the card is missing, unformatted or failed, or the card holds no recording;
- "unknown" with a reason (wrong password, search not supported, an answer we cannot read, no
  answer in time, a custom playback template): never a crash and never a false "not recording".

What is stored on the camera row (``recording_problem``: ``{"code": ..., "detail": ...}``) and read
by the monitor, the clip requests and the camera page: see :func:`apply_vendor_reach`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import uuid
from contextlib import aclosing
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from camera_ops.errors import CameraError
from camera_ops.footage.reach import NOT_RECORDING_CODES, UNKNOWN_CODES, from_camera_clock
from camera_ops.footage.vendor_search import (
    DAHUA_STORAGE_PATH,
    TRACK_LISTS,
    BadSearchBody,
    HIK_SEARCH_PATH,
    HIK_STORAGE_PATH,
    Card,
    MalformedAnswer,
    SearchPage,
    SearchUnsupported,
    Span,
    dahua_find_file_params,
    dahua_find_query,
    hik_search_body,
    hik_track,
    parse_dahua_find_file,
    parse_dahua_next,
    parse_dahua_object,
    parse_dahua_storage,
    parse_hik_search,
    parse_hik_storage,
)
from camera_ops.netpolicy import resolve_camera_address
from storage.models import Camera, CameraKind, PlaybackClock, PlaybackStyle, RecordingCapability
from storage.types import utcnow

log = logging.getLogger(__name__)

Style = Literal["hikvision", "dahua"]
LOOKBACK = timedelta(days=62)  # the oldest footage looked for: a big card on a quiet camera
AHEAD = timedelta(days=1)  # the search ends this far after "now" (a camera clock a little fast)
LATEST_WINDOWS = (timedelta(hours=3), timedelta(days=2), LOOKBACK)  # newest footage: the small window first
HIK_PAGE = 50  # Hikvision caps maxResults at 40–100 by model; 50 is accepted everywhere seen
DAHUA_PAGE = 100
MAX_PAGES = 40  # 2,000+ recordings in one window: the camera is not answering sensibly
MAX_ANSWER_BYTES = 2 * 1024 * 1024  # a page of 100 recordings is ~50 kB; past this the answer is not read on

_CARD_CODES = {Card.missing: "card_missing", Card.unformatted: "card_unformatted", Card.failed: "card_failed"}


@dataclass(frozen=True, slots=True)
class VendorReach:
    earliest: datetime | None = None  # camera clock
    latest: datetime | None = None
    problem: str | None = None  # see NOT_RECORDING_CODES / UNKNOWN_CODES
    detail: str | None = None

    @property
    def known(self) -> bool:
        return self.earliest is not None and self.latest is not None


class _Failed(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


# --- which cameras, and where ------------------------------------------------------------------------


def search_style(camera: Camera) -> Style | Literal["custom"] | None:
    """The vendor search that fits the camera's playback: its chosen style, else its brand (as the
    playback template was chosen); ``custom`` for a typed template; None when not vendor playback."""
    from camera_ops.registry.cameras import brand_style

    if camera.effective_recording is not RecordingCapability.vendor_playback:
        return None
    style = camera.playback_style
    if style is None:
        style = brand_style(camera.manufacturer) or PlaybackStyle.custom
    if style is PlaybackStyle.hikvision:
        return "hikvision"
    if style is PlaybackStyle.dahua:
        return "dahua"
    if style is PlaybackStyle.custom:
        return "custom"
    return None


def http_base(camera: Camera) -> str:
    """The camera's web server as entered: the HTTP port override, else the ONVIF port (the same web
    server on these cameras), for an RTSP-only camera its snapshot URL's port or 80."""
    port = camera.http_port
    if port is None and camera.kind is CameraKind.rtsp:
        from urllib.parse import urlsplit

        snap = urlsplit(camera.snapshot_uri or "")
        port = snap.port if snap.scheme == "http" and snap.port else 80
    host = camera.host.strip("[]")
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port or camera.onvif_port or 80}"


def playback_zone(camera: Camera, timezone_name: str, *, other: bool = False) -> tzinfo:
    """The zone the camera's playback (and search) times are read in; ``other``: the one it is not."""
    local = camera.playback_clock is PlaybackClock.local
    return ZoneInfo(timezone_name) if local != other else timezone.utc


# --- asking ------------------------------------------------------------------------------------------


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client (the searches speak plain HTTP; httpx would otherwise load
    the CA bundle for each camera: ~35 ms of CPU, most of a search's cost)."""
    return ssl.create_default_context()


class _Http:
    """Digest (falling back to basic on a camera that asks for it) over one connection."""

    def __init__(self, base: str, username: str, password: str, timeout_s: float, *, host: str | None = None) -> None:
        """``base``: the checked address to connect to; ``host``: the camera's name as entered (the
        Host header), so the client never looks the name up again."""
        self._client = httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(timeout_s), follow_redirects=False,
                                         trust_env=False, auth=httpx.DigestAuth(username, password), verify=_tls(),
                                         headers={"Host": host} if host else None)
        self._basic = httpx.BasicAuth(username, password)

    async def __aenter__(self) -> _Http:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def request(self, method: str, url: str, *, body: bytes | None = None,
                      lenient: bool = False) -> bytes:
        """The answer's body. 401/403 → auth, 404/405/501 → unsupported; other errors fail unless
        ``lenient`` (Dahua answers some refusals as 400 "Error", which the parsers read)."""
        try:
            response, content = await self._send(method, url, body)
            if response.status_code == 401 and response.headers.get("www-authenticate", "").lower().startswith("basic"):
                response, content = await self._send(method, url, body, auth=self._basic)
        except httpx.TimeoutException:
            raise _Failed("timeout", f"no answer in time from {url.split('?')[0]}") from None
        except httpx.HTTPError as exc:
            raise _Failed("unreachable", f"{type(exc).__name__}: {exc}"[:200]) from None
        status = response.status_code
        if status in (401, 403):
            raise _Failed("auth", f"HTTP {status} at {url.split('?')[0]}")
        if status in (404, 405, 501):
            raise _Failed("unsupported", f"HTTP {status} at {url.split('?')[0]}")
        if status != 200 and not (lenient and status in (400, 500)):
            raise _Failed("malformed", f"HTTP {status} at {url.split('?')[0]}")
        return content

    async def _send(self, method: str, url: str, body: bytes | None,
                    auth: httpx.Auth | None = None) -> tuple[httpx.Response, bytes]:
        """One request; its answer read up to MAX_ANSWER_BYTES (decoded), else ``malformed``: whatever
        answers at the camera's address may send without end."""
        request = self._client.build_request(method, url, content=body,
                                             headers={"Content-Type": "application/xml"} if body else None)
        response = await (self._client.send(request, stream=True) if auth is None else
                          self._client.send(request, stream=True, auth=auth))
        try:
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > MAX_ANSWER_BYTES:
                    raise _Failed("malformed", f"answer larger than {MAX_ANSWER_BYTES} bytes at {url.split('?')[0]}")
        finally:
            await response.aclose()
        return response, bytes(content)


PageSource = Callable[[datetime, datetime], AsyncIterator[SearchPage]]


def _hik_pages(http: _Http, track: int, zone: tzinfo) -> PageSource:
    track_lists = list(TRACK_LISTS)  # the first that the camera takes is kept for its later searches

    async def ask(search_id: str, start: datetime, end: datetime, position: int) -> SearchPage:
        while True:
            body = hik_search_body(search_id=search_id, track=track, start=start, end=end, zone=zone,
                                   max_results=HIK_PAGE, position=position, track_list=track_lists[0])
            try:
                return parse_hik_search(await http.request("POST", HIK_SEARCH_PATH, body=body, lenient=True), zone)
            except BadSearchBody:
                if len(track_lists) == 1:
                    raise
                track_lists.pop(0)

    async def pages(start: datetime, end: datetime) -> AsyncIterator[SearchPage]:
        search_id = str(uuid.uuid4()).upper()
        position = 0
        for _ in range(MAX_PAGES):
            page = await ask(search_id, start, end, position)
            yield page
            if not page.more:
                return
            position += len(page.spans)
        raise MalformedAnswer(f"more than {MAX_PAGES} pages of recordings")

    return pages


def _dahua_pages(http: _Http, channel: int, zone: tzinfo) -> PageSource:
    async def pages(start: datetime, end: datetime) -> AsyncIterator[SearchPage]:
        obj = parse_dahua_object(_text(await http.request("GET", dahua_find_query("factory.create"), lenient=True)))
        try:
            query = dahua_find_query("findFile", **dahua_find_file_params(obj=obj, channel=channel, start=start,
                                                                           end=end, zone=zone))
            if not parse_dahua_find_file(_text(await http.request("GET", query, lenient=True))):
                yield SearchPage((), more=False)
                return
            for _ in range(MAX_PAGES):
                answer = await http.request("GET", dahua_find_query("findNextFile", object=obj, count=DAHUA_PAGE),
                                            lenient=True)
                page = parse_dahua_next(_text(answer), zone, asked=DAHUA_PAGE)
                yield page
                if not page.more:
                    return
            raise MalformedAnswer(f"more than {MAX_PAGES} pages of recordings")
        finally:
            for action in ("close", "destroy"):  # free the camera's finder (it has few)
                try:
                    await http.request("GET", dahua_find_query(action, object=obj), lenient=True)
                except _Failed:
                    pass

    return pages


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


async def _spans(pages: PageSource, start: datetime, end: datetime, *, first_page_only: bool = False) -> list[Span]:
    out: list[Span] = []
    async with aclosing(pages(start, end)) as found:  # a Dahua finder is closed even when we stop early
        async for page in found:
            out.extend(page.spans)
            if first_page_only and page.spans and page.spans[0].start <= page.spans[-1].start:
                break  # ascending order: the first page holds the oldest recording
    return out


ZONE_SLACK = timedelta(minutes=10)  # a recording camera's newest file ends within minutes of its clock


async def find_reach(pages: PageSource, card: Card | None, *, camera_now: datetime, card_needed_for_empty: bool,
                     zone_shift: timedelta = timedelta(0)) -> VendorReach:
    """The strategy, over any vendor's pages: the oldest recording from the first page of a search
    over the whole lookback; the newest from the smallest recent window that has recordings.

    ``zone_shift``: how far apart the camera's two possible playback clocks are (local time − UTC).
    Newest footage in the future, or exactly that far in the past, means the times were read in the
    wrong one (the camera's playback clock setting): the reach is unknown, not "stopped 7 h ago"."""
    upper = camera_now + AHEAD
    oldest = await _spans(pages, camera_now - LOOKBACK, upper, first_page_only=True)
    card_problem = _CARD_CODES.get(card) if card is not None else None
    if not oldest:
        if card_problem:
            return VendorReach(problem=card_problem, detail=f"card: {card.value}")  # type: ignore[union-attr]
        if card_needed_for_empty and card is None:
            return VendorReach(problem="unsupported", detail="the search found nothing and the card state is unknown")
        return VendorReach(problem="no_recordings", detail=f"no recording in the last {LOOKBACK.days} days")
    earliest = min(s.start for s in oldest)
    latest = None
    for window in LATEST_WINDOWS:
        recent = await _spans(pages, camera_now - window, upper)
        if recent:
            latest = max(s.end for s in recent)
            break
    if latest is None:  # the camera found footage once and not again: do not guess
        raise MalformedAnswer("recordings found over the lookback but not in it")
    shift = abs(zone_shift)
    if latest > camera_now + ZONE_SLACK or (shift > ZONE_SLACK and abs(camera_now - latest - shift) < ZONE_SLACK):
        return VendorReach(problem="clock_zone", detail=f"newest recording at {latest:%Y-%m-%d %H:%M:%S} read "
                                                         f"on a camera clock at {camera_now:%Y-%m-%d %H:%M:%S}")
    detail = f"card: {card.value}" if card_problem and card is not None else None
    return VendorReach(earliest, max(latest, earliest), card_problem, detail)


async def vendor_recordings(style: Style, base_url: str, username: str, password: str, *, channel: int,
                            zone: tzinfo, clock_offset_s: float | None, timeout_s: float,
                            other_zone: tzinfo | None = None, now: datetime | None = None) -> VendorReach:
    """Ask the camera; every failure is a VendorReach with a problem code, never an exception."""
    camera_now = (now or utcnow()) + timedelta(seconds=clock_offset_s or 0.0)
    shift = timedelta(0)
    if other_zone is not None:
        shift = (camera_now.astimezone(zone).utcoffset() or timedelta(0)) - (
            camera_now.astimezone(other_zone).utcoffset() or timedelta(0))
    card: Card | None = None
    parts = urlsplit(base_url)
    try:  # camera networks only: outside them nothing is sent, the password least of all
        address = await resolve_camera_address(parts.hostname or "", parts.port or 80)
    except CameraError as exc:
        return VendorReach(problem="unreachable", detail=f"{exc.code}: {exc}"[:300])
    # connect to the address just checked: the client looking the name up again could get another
    # answer (DNS rebinding, a taken-over DDNS name) and send the password outside the camera networks
    pinned = f"{parts.scheme}://{f'[{address}]' if ':' in address else address}:{parts.port or 80}"
    try:
        async with asyncio.timeout(timeout_s * 6):  # a dozen small requests at most on a healthy camera
            async with _Http(pinned, username, password, timeout_s, host=parts.netloc) as http:
                card = await _card(http, style)
                pages = _hik_pages(http, hik_track(channel), zone) if style == "hikvision" else \
                    _dahua_pages(http, channel or 1, zone)
                return await find_reach(pages, card, camera_now=camera_now, card_needed_for_empty=style == "dahua",
                                        zone_shift=shift)
    except _Failed as exc:
        failed = VendorReach(problem=exc.code, detail=exc.detail)
    except SearchUnsupported as exc:
        failed = VendorReach(problem="unsupported", detail=str(exc))
    except MalformedAnswer as exc:
        failed = VendorReach(problem="malformed", detail=str(exc)[:300])
    except TimeoutError:
        failed = VendorReach(problem="timeout", detail="the search took too long")
    if card is not None and card is not Card.ok and failed.problem in ("unsupported", "malformed"):
        # many cameras refuse the search outright when they have no usable card: the card says why
        return VendorReach(problem=_CARD_CODES[card], detail=f"card: {card.value}; search: {failed.detail}")
    return failed


async def _card(http: _Http, style: Style) -> Card | None:
    """The card state, or None when the camera does not say (storage query unsupported)."""
    try:
        if style == "hikvision":
            return parse_hik_storage(await http.request("GET", HIK_STORAGE_PATH))
        return parse_dahua_storage(_text(await http.request("GET", DAHUA_STORAGE_PATH)))
    except _Failed as exc:
        if exc.code == "unsupported":
            return None
        raise
    except (SearchUnsupported, MalformedAnswer) as exc:  # the search may still answer: the card is unknown
        log.info("storage state unreadable: %s", exc)
        return None


# --- onto the camera row -------------------------------------------------------------------------------


def apply_vendor_reach(camera: Camera, found: VendorReach, *, checked_at: datetime | None = None) -> None:
    """Store what the camera said. A reach replaces the old one; "not recording" and "unknown"
    clear it (an old reach would read as stale: a false "not recording"), with the reason kept."""
    checked_at = checked_at or utcnow()
    camera.recording_checked_at = checked_at
    camera.recording_problem = {"code": found.problem, "detail": found.detail} if found.problem else None
    if found.known:
        assert found.earliest is not None and found.latest is not None
        reach = from_camera_clock(found.earliest, found.latest, clock_offset_s=camera.clock_offset_s,
                                  checked_at=checked_at)
        camera.recording_from, camera.recording_until = reach.earliest, reach.latest
    else:
        camera.recording_from = camera.recording_until = None


def learn_vendor_reach(camera: Camera, password: str, *, timezone_name: str, timeout_s: float) -> VendorReach | None:
    """Ask a vendor-playback camera its reach now (sync: registration); None when not applicable."""
    style = search_style(camera)
    if style is None:
        return None
    if style == "custom":
        found = VendorReach(problem="custom_template",
                            detail="a custom playback template: the camera's search is not known")
    else:
        found = asyncio.run(vendor_recordings(style, http_base(camera), camera.username, password,
                                              channel=camera.channel, zone=playback_zone(camera, timezone_name),
                                              other_zone=playback_zone(camera, timezone_name, other=True),
                                              clock_offset_s=camera.clock_offset_s, timeout_s=timeout_s))
    if found.problem:
        log.info("camera %s: vendor recording search: %s (%s)", camera.code, found.problem, found.detail)
    apply_vendor_reach(camera, found)
    return found


__all__ = ["NOT_RECORDING_CODES", "UNKNOWN_CODES", "VendorReach", "apply_vendor_reach", "find_reach",
           "learn_vendor_reach", "search_style", "vendor_recordings"]
