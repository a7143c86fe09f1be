"""Registration handshake: everything we learn about a camera over ONVIF, once.

Order: the camera's clock first (raw SOAP, unauthenticated, auth if the camera insists), then
WS-Security on the camera's clock — PasswordDigest; a plain-text token only when the caller allows
it (see ``handshake``) — for device
information, MAC, services, media profiles, stream/snapshot URIs and Profile G (search + replay).

Each failure becomes the field the user must fix: ``host`` (unreachable, silent), ``port`` (answers,
but not ONVIF), ``password`` (refused), ``profile`` (no H.264/H.265). The camera's clock is never
changed; a clock far off is a warning. Every call has our own deadline (the library's are 90 s)
and the camera client is closed in ``finally``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import zeep.exceptions
from lxml import etree
from onvif import ONVIFCamera
from onvif.client import ONVIFService
from onvif.exceptions import ONVIFError
from onvif.util import is_auth_error, strip_user_pass_url

from camera_ops.errors import (
    CameraAuthFailed,
    CameraError,
    CameraNetworkRefused,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    NoUsableProfile,
    NotOnvif,
)
from camera_ops.netpolicy import resolve_camera_address
from camera_ops.onvif.rawsoap import (
    PROTOCOL_SNIFF_BYTES,
    WSSE_CLOCK_WINDOW_S,
    CameraTime,
    get_system_date_and_time,
    rtsp_port_error,
)
from camera_ops.registry.reach import Reach, rewrite_uri

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0  # per camera call; the library's own default is 90 s
CLOCK_WARNING_S = 300.0  # camera clock further off than this: warn (never set the camera's clock)
RTSP_SNIFF_AFTER_S = 1.0  # a device service answers GetSystemDateAndTime in well under a second
RTSP_SNIFF_TIMEOUT_S = 2.0  # an RTSP server answers OPTIONS at once
SEARCH_WAIT = "PT2S"  # GetRecordingSearchResults may block up to this long
SEARCH_KEEPALIVE = "PT10S"
SEARCH_MAX_RESULTS = 32
USABLE_ENCODINGS = {"H264": "h264", "H265": "hevc", "HEVC": "hevc"}
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}

NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_SEARCH = "http://www.onvif.org/ver10/search/wsdl"
NS_REPLAY = "http://www.onvif.org/ver10/replay/wsdl"
NS_RECORDING = "http://www.onvif.org/ver10/recording/wsdl"

# What a call through onvif-zeep-async can raise, named once:
# - zeep Fault: the camera answered with a SOAP fault (auth refused, action not supported);
# - zeep TransportError: HTTP error status without a SOAP body (some cameras answer 404/405 to
#   services they lack, a web server on the wrong port answers 404);
# - zeep XMLSyntaxError / XMLParseError, lxml XMLSyntaxError: a body that is not (valid) SOAP;
# - zeep ValidationError / LookupError: SOAP that does not match the WSDL;
# - ONVIFError: the library's wrapper (service missing, request could not be built);
# - aiohttp ClientError: refused, reset, server disconnected; TimeoutError: our own deadline.
SOAP_ERRORS = (
    zeep.exceptions.Fault,
    zeep.exceptions.TransportError,
    zeep.exceptions.XMLSyntaxError,
    zeep.exceptions.XMLParseError,
    zeep.exceptions.ValidationError,
    zeep.exceptions.LookupError,
    etree.XMLSyntaxError,
    ONVIFError,
)
CAMERA_CALL_ERRORS = (*SOAP_ERRORS, aiohttp.ClientError, TimeoutError, AttributeError, TypeError)
# AttributeError/TypeError: an answer missing an element we read (cheap firmware omits fields).

T = TypeVar("T")


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    encoding: str  # "h264" | "hevc" | "jpeg" | ... (lower case)
    width: int | None
    height: int | None
    fps: float | None
    source: str | None = None  # video source token: a recorder has one per channel

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)


@dataclass(frozen=True)
class ChannelStreams:
    """One video source of a recorder (DVR/NVR): channel number (1-based, in the recorder's order)."""

    channel: int
    source: str
    main_profile_token: str
    main_stream_uri: str
    sub_stream_uri: str | None
    snapshot_uri: str | None


@dataclass(frozen=True)
class HandshakeResult:
    clock_offset_s: float  # camera UTC − our UTC when registered
    manufacturer: str | None
    model: str | None
    firmware: str | None
    serial: str | None
    hardware_id: str | None
    mac: str | None  # aa:bb:cc:dd:ee:ff
    profiles: list[MediaProfile]
    main_profile_token: str
    sub_profile_token: str
    main_stream_uri: str
    sub_stream_uri: str | None
    snapshot_uri: str | None
    profile_g: bool
    replay_uri: str | None
    recording_token: str | None
    recording_earliest: datetime | None
    recording_latest: datetime | None
    search_xaddr: str | None
    replay_xaddr: str | None
    auth_method: str  # "digest" | "text" (WS-Security UsernameToken password type)
    warnings: list[str] = field(default_factory=list)
    channels: list[ChannelStreams] = field(default_factory=list)  # a recorder: one per video source

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("recording_earliest", "recording_latest"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def normalize_mac(raw: str | None) -> str | None:
    digits = re.sub(r"[^0-9a-fA-F]", "", raw or "").lower()
    if len(digits) != 12 or digits == "0" * 12:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def clean_uri(answer: Any) -> str | None:
    """URI from a ``...Uri`` answer (zeep unwraps one-element answers to a bare string) without
    embedded credentials (``user:pass@`` or ``?password=``)."""
    uri = answer if isinstance(answer, str) else getattr(answer, "Uri", None)
    return strip_user_pass_url(str(uri)) if uri else None


def _camera_error(exc: BaseException, step: str, *, device_service: bool) -> CameraError:
    """One place that turns library/network errors into the field the user must fix."""
    if isinstance(exc, CameraError):
        return exc
    if isinstance(exc, TimeoutError):
        return CameraTimeout(f"camera did not answer {step} in time", field="port", key="err.onvif.timeout",
                             params={"step": step})
    if isinstance(exc, zeep.exceptions.Fault):
        if is_auth_error(exc):
            return CameraAuthFailed("camera refused the username/password (WS-Security, SOAP fault)",
                                    field="password", details={"auth": "wsse"}, key="err.onvif.auth")
        return CameraProtocolError(f"camera answered {step} with a SOAP fault ({exc.code or 'no code'})",
                                   key="err.onvif.fault", params={"step": step, "fault": str(exc.code or "-")})
    if isinstance(exc, zeep.exceptions.TransportError):
        if exc.status_code == 401:
            return CameraAuthFailed("camera refused the username/password (HTTP 401)", field="password",
                                    details={"auth": "http"}, key="err.onvif.auth")
        if device_service:
            return NotOnvif(f"port answers HTTP {exc.status_code} to {step}, not ONVIF", field="port",
                            key="err.onvif.http_not_onvif", params={"status": exc.status_code})
        return CameraProtocolError(f"camera answered {step} with HTTP {exc.status_code}", key="err.onvif.http_status",
                                   params={"step": step, "status": exc.status_code})
    if isinstance(exc, aiohttp.ClientConnectorError):
        return CameraUnreachable(f"cannot connect to the camera for {step}", field="host", key="err.onvif.connect",
                                 params={"step": step})
    if isinstance(exc, aiohttp.ClientError):
        return CameraUnreachable(f"connection to the camera broke during {step}", field="host", key="err.onvif.broke",
                                 params={"step": step})
    return CameraProtocolError(f"camera answered {step} with something we cannot read", key="err.onvif.unreadable",
                               params={"step": step})


async def _call(step: str, call: Callable[[], Awaitable[T]], timeout_s: float, *, device_service: bool = False) -> T:
    try:
        async with asyncio.timeout(timeout_s):
            return await call()
    except CAMERA_CALL_ERRORS as exc:
        raise _camera_error(exc, step, device_service=device_service) from exc


class _Handshake:
    """One registration attempt; holds the camera client and what we learned so far."""

    def __init__(self, camera: ONVIFCamera, timeout_s: float, *, allow_plaintext: bool = False) -> None:
        self.camera = camera
        self.timeout_s = timeout_s
        self.allow_plaintext = allow_plaintext
        self.warnings: list[str] = []
        self.auth_method = "digest"

    async def call(self, step: str, call: Callable[[], Awaitable[T]], *, device_service: bool = False) -> T:
        return await _call(step, call, self.timeout_s, device_service=device_service)

    async def optional(self, step: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """A capability cheap cameras may lack: note it and go on."""
        try:
            return await self.call(step, call)
        except CameraError as exc:
            self.warnings.append(f"{step} failed: {exc.message}")
            return None

    async def _reset_services(self) -> None:
        for service in list(self.camera.services.values()):
            await service.close()
        self.camera.services.clear()

    async def devicemgmt(self) -> ONVIFService:
        return await self.camera.create_onvif_service("devicemgmt", read_timeout=int(self.timeout_s) + 1)

    async def authenticate(self) -> Any:
        """GetDeviceInformation with PasswordDigest; with a plain-text password only when allowed
        (the password was typed for this very host in this request, or the camera was registered
        needing it). Otherwise a digest refusal is the password field, and the password never
        travels in clear to whoever answers at this address."""
        try:
            return await self.call("GetDeviceInformation", self._device_information, device_service=True)
        except CameraAuthFailed as exc:
            if not self.allow_plaintext:
                raise CameraAuthFailed(
                    "camera refused the username/password (WS-Security digest); a camera that accepts only "
                    "plain-text passwords needs its password entered again", field="password",
                    details={"plaintext_needed": True}, key="err.camera.plaintext_refused",
                ) from exc
            log.info("camera refused PasswordDigest; trying a plain-text UsernameToken (allowed for this camera)")
        await self._reset_services()
        self.camera.encrypt = False
        self.auth_method = "text"
        return await self.call("GetDeviceInformation", self._device_information, device_service=True)

    async def _device_information(self) -> Any:
        return await (await self.devicemgmt()).GetDeviceInformation()

    async def mac(self) -> str | None:
        interfaces = await self.optional("GetNetworkInterfaces", lambda: self._devicemgmt_call("GetNetworkInterfaces"))
        for interface in interfaces or []:
            info = getattr(interface, "Info", None)
            if mac := normalize_mac(getattr(info, "HwAddress", None)):
                return mac
        self.warnings.append("camera reported no MAC address; it will be identified by serial")
        return None

    async def _devicemgmt_call(self, name: str, params: dict[str, Any] | None = None) -> Any:
        service = await self.devicemgmt()
        return await getattr(service, name)(params)

    async def discover_services(self) -> dict[str, str]:
        """Namespace → XAddr, from GetServices, else GetCapabilities (incl. Extension)."""
        xaddrs: dict[str, str] = {}
        services = await self.optional("GetServices", lambda: self._devicemgmt_call("GetServices", {"IncludeCapability": False}))
        for service in services or []:
            if getattr(service, "Namespace", None) and getattr(service, "XAddr", None):
                xaddrs[service.Namespace] = service.XAddr
        if NS_MEDIA not in xaddrs:
            capabilities = await self.call(
                "GetCapabilities", lambda: self._devicemgmt_call("GetCapabilities", {"Category": "All"}), device_service=True
            )
            media = getattr(capabilities, "Media", None)
            if getattr(media, "XAddr", None):
                xaddrs[NS_MEDIA] = media.XAddr
            extension = getattr(capabilities, "Extension", None)
            for name, namespace in (("Search", NS_SEARCH), ("Replay", NS_REPLAY), ("Recording", NS_RECORDING)):
                if xaddr := getattr(getattr(extension, name, None), "XAddr", None):
                    xaddrs.setdefault(namespace, xaddr)
        if NS_MEDIA not in xaddrs:
            raise NoUsableProfile("camera offers no ONVIF media service", field="profile", key="err.onvif.no_media")
        # Behind a port-forward or VPN the camera names its LAN address: use the one entered.
        reach = Reach(self.camera.host, self.camera.port)
        return {namespace: rewrite_uri(xaddr, reach) or xaddr for namespace, xaddr in xaddrs.items()}

    async def profiles(self) -> list[MediaProfile]:
        media = await self.camera.create_media_service()
        raw = await self.call("GetProfiles", media.GetProfiles)
        return [profile for item in raw or [] if (profile := _media_profile(item)) is not None]

    async def stream_uri(self, token: str) -> str:
        media = await self.camera.create_media_service()
        answer = await self.call("GetStreamUri", lambda: media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": token}))
        uri = clean_uri(answer)
        if not uri:
            raise CameraProtocolError("camera returned an empty stream URI", key="err.onvif.empty_stream")
        return uri

    async def snapshot_uri(self, token: str) -> str | None:
        media = await self.camera.create_media_service()
        answer = await self.optional("GetSnapshotUri", lambda: media.GetSnapshotUri({"ProfileToken": token}))
        return clean_uri(answer)

    async def find_recording(self) -> tuple[str | None, datetime | None, datetime | None]:
        """The recording to replay from (the one holding the latest footage), via a search session."""
        search = await self.camera.create_search_service()
        summary = await self.optional("GetRecordingSummary", search.GetRecordingSummary)
        started = await self.call("FindRecordings", lambda: search.FindRecordings({"Scope": {}, "KeepAliveTime": SEARCH_KEEPALIVE}))
        token = started if isinstance(started, str) else getattr(started, "SearchToken", started)
        try:
            results = await self.call(
                "GetRecordingSearchResults",
                lambda: search.GetRecordingSearchResults({"SearchToken": token, "WaitTime": SEARCH_WAIT, "MaxResults": SEARCH_MAX_RESULTS}),
            )
        finally:
            with suppress(CameraError):
                await self.call("EndSearch", lambda: search.EndSearch({"SearchToken": token}))
        recordings = list(getattr(results, "RecordingInformation", None) or [])
        if not recordings:
            return None, getattr(summary, "DataFrom", None), getattr(summary, "DataUntil", None)
        best = max(recordings, key=_latest_timestamp)
        return best.RecordingToken, getattr(best, "EarliestRecording", None), getattr(best, "LatestRecording", None)

    async def replay_uri(self, recording_token: str) -> str | None:
        replay = await self.camera.create_replay_service()
        answer = await self.optional(
            "GetReplayUri", lambda: replay.GetReplayUri({"StreamSetup": STREAM_SETUP, "RecordingToken": recording_token})
        )
        return clean_uri(answer)


def _latest_timestamp(recording: Any) -> float:
    latest = getattr(recording, "LatestRecording", None)
    return latest.timestamp() if isinstance(latest, datetime) else float("-inf")


def _media_profile(item: Any) -> MediaProfile | None:
    encoder = getattr(item, "VideoEncoderConfiguration", None)
    if encoder is None:
        return None
    resolution = getattr(encoder, "Resolution", None)
    rate = getattr(encoder, "RateControl", None)
    encoding = str(getattr(encoder, "Encoding", "") or "")
    return MediaProfile(
        token=str(item.token),
        name=str(getattr(item, "Name", "") or ""),
        encoding=USABLE_ENCODINGS.get(encoding.upper(), encoding.lower()),
        width=getattr(resolution, "Width", None),
        height=getattr(resolution, "Height", None),
        fps=float(rate.FrameRateLimit) if getattr(rate, "FrameRateLimit", None) else None,
        source=_text(getattr(item, "VideoSourceConfiguration", None), "SourceToken"),
    )


def pick_main_and_sub(profiles: list[MediaProfile]) -> tuple[MediaProfile, MediaProfile]:
    """Main = largest H.264/H.265 picture, sub = smallest (the same profile if only one)."""
    usable = [p for p in profiles if p.encoding in USABLE_ENCODINGS.values()]
    if not usable:
        found = ", ".join(sorted({p.encoding or "none" for p in profiles})) or "no video profiles"
        raise NoUsableProfile(f"camera offers no H.264/H.265 profile ({found})", field="profile",
                              key="err.onvif.no_profile", params={"found": found})
    ordered = sorted(usable, key=lambda p: (p.pixels, p.fps or 0))
    return ordered[-1], ordered[0]


async def _snapshot_uri(state: _Handshake, main_token: str, sub_token: str) -> str | None:
    """The sub profile's snapshot when the camera has one, else the main one. Picture health works
    on a ~240 px image: a 1080p JPEG is decoded at 1/8 anyway, and its entropy decoding alone costs
    more (~11 µs per KB: 4 ms for a 360 KB q90 picture) than every check together."""
    if sub_token != main_token and (uri := await state.snapshot_uri(sub_token)):
        return uri
    return await state.snapshot_uri(main_token)


async def _allowed_xaddrs(xaddrs: dict[str, str], warnings: list[str]) -> dict[str, str]:
    """Service addresses the camera reported, minus those outside the camera networks."""
    kept: dict[str, str] = {}
    for namespace, xaddr in xaddrs.items():
        host = urlsplit(xaddr).hostname or ""
        try:
            await resolve_camera_address(host, urlsplit(xaddr).port or 80)
        except (CameraNetworkRefused, CameraUnreachable):
            warnings.append("camera reported a service address outside the camera networks; not used")
            continue
        kept[namespace] = xaddr
    return kept


async def _recorder_channels(state: _Handshake, profiles: list[MediaProfile]) -> list[ChannelStreams]:
    """A recorder's channels: profiles grouped by video source, in the order the device lists them.
    A device with one video source (a camera) has none."""
    by_source: dict[str, list[MediaProfile]] = {}
    for profile in profiles:
        if profile.source:
            by_source.setdefault(profile.source, []).append(profile)
    if len(by_source) < 2:
        return []
    channels = []
    for number, (source, own) in enumerate(by_source.items(), start=1):
        try:
            main, sub = pick_main_and_sub(own)
        except NoUsableProfile:
            state.warnings.append(f"channel {number} ({source}) has no H.264/H.265 profile; skipped")
            continue
        main_uri = await state.stream_uri(main.token)
        sub_uri = await state.stream_uri(sub.token) if sub.token != main.token else None
        channels.append(ChannelStreams(number, source, main.token, main_uri, sub_uri,
                                       await _snapshot_uri(state, main.token, sub.token)))
    return channels


async def speaks_rtsp(host: str, port: int, *, timeout_s: float) -> bool:
    """Does ``host:port`` answer an RTSP OPTIONS? (A silent port given as the ONVIF port.)"""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"OPTIONS rtsp://{host}:{port}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
            return (await reader.readexactly(PROTOCOL_SNIFF_BYTES)) == b"RTSP/"
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        return False
    finally:
        if writer is not None:
            writer.transport.abort()


async def camera_clock(host: str, port: int, username: str, password: str, *, timeout_s: float) -> CameraTime:
    """``GetSystemDateAndTime``; when the port stays silent past ``RTSP_SNIFF_AFTER_S``, ask it in
    RTSP meanwhile: an RTSP port typed as the ONVIF port is named at once, not at the deadline."""
    clock = asyncio.ensure_future(get_system_date_and_time(host, port, username=username, password=password,
                                                           timeout_s=timeout_s))
    sniff: asyncio.Future[bool] | None = None
    try:
        done, _ = await asyncio.wait({clock}, timeout=RTSP_SNIFF_AFTER_S)
        if not done:
            sniff = asyncio.ensure_future(speaks_rtsp(host, port, timeout_s=RTSP_SNIFF_TIMEOUT_S))
            done, _ = await asyncio.wait({clock, sniff}, return_when=asyncio.FIRST_COMPLETED)
            if clock not in done and sniff.result():
                raise rtsp_port_error(host, port)
        return await clock
    finally:
        for task in (clock, sniff):
            if task is not None and not task.done():
                task.cancel()
                with suppress(asyncio.CancelledError, CameraError):
                    await task


def clock_warnings(clock: CameraTime) -> list[str]:
    warnings = []
    if abs(clock.clock_offset_s) > CLOCK_WARNING_S:
        warnings.append(f"camera clock is {clock.clock_offset_s:+.0f} s off true time; fix it on the camera (NTP)")
    signed = clock.signed_on_camera_clock_s
    if signed is not None and abs(signed) > WSSE_CLOCK_WINDOW_S:
        warnings.append(f"the camera checks WS-Security signatures against its own clock ({signed:+.0f} s off): "
                        "we signed on the camera's time; set its clock (NTP) or it may refuse other clients")
    return warnings


async def handshake(
    host: str, port: int, username: str, password: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
    allow_plaintext: bool = False,
) -> HandshakeResult:
    """Register-time ONVIF exchange; raises a CameraError naming the field to fix.

    ``allow_plaintext``: may the password be sent as a WS-Security PasswordText token if the
    camera refuses the digest? Only when the person asking typed this password for this host, or
    the camera was registered needing it (``Camera.plaintext_auth``)."""
    host = await resolve_camera_address(host, port)
    clock = await camera_clock(host, port, username, password, timeout_s=timeout_s)
    warnings = clock_warnings(clock)
    camera = ONVIFCamera(host, port, username, password, encrypt=True, no_cache=True, adjust_time=False)
    camera.dt_diff = timedelta(seconds=clock.clock_offset_s)  # WS-Security Created on the camera's clock
    state = _Handshake(camera, timeout_s, allow_plaintext=allow_plaintext)
    try:
        info = await state.authenticate()
        mac = await state.mac()
        camera.xaddrs.update(await _allowed_xaddrs(await state.discover_services(), state.warnings))
        if NS_MEDIA not in camera.xaddrs:
            raise NoUsableProfile("camera offers no usable ONVIF media service", field="profile")
        profiles = await state.profiles()
        main, sub = pick_main_and_sub(profiles)
        main_uri = await state.stream_uri(main.token)
        sub_uri = await state.stream_uri(sub.token) if sub.token != main.token else None
        snapshot = await _snapshot_uri(state, main.token, sub.token)
        channels = await _recorder_channels(state, profiles)
        search_xaddr, replay_xaddr = camera.xaddrs.get(NS_SEARCH), camera.xaddrs.get(NS_REPLAY)
        profile_g = bool(search_xaddr and replay_xaddr)
        recording: tuple[str | None, datetime | None, datetime | None] = (None, None, None)
        replay_uri = None
        if profile_g:
            try:
                recording = await state.find_recording()
            except CameraError as exc:
                state.warnings.append(f"recording search failed: {exc.message}")
            if recording[0] is None:
                state.warnings.append("camera offers replay but no recording was found")
            else:
                replay_uri = await state.replay_uri(recording[0])
    finally:
        await camera.close()
    return HandshakeResult(
        clock_offset_s=clock.clock_offset_s,
        manufacturer=_text(info, "Manufacturer"),
        model=_text(info, "Model"),
        firmware=_text(info, "FirmwareVersion"),
        serial=_text(info, "SerialNumber"),
        hardware_id=_text(info, "HardwareId"),
        mac=mac,
        profiles=profiles,
        main_profile_token=main.token,
        sub_profile_token=sub.token,
        main_stream_uri=main_uri,
        sub_stream_uri=sub_uri,
        snapshot_uri=snapshot,
        profile_g=profile_g,
        replay_uri=replay_uri,
        recording_token=recording[0],
        recording_earliest=recording[1],
        recording_latest=recording[2],
        search_xaddr=search_xaddr,
        replay_xaddr=replay_xaddr,
        auth_method=state.auth_method,
        warnings=warnings + state.warnings,
        channels=channels,
    )


def _text(info: Any, name: str) -> str | None:
    value = getattr(info, name, None)
    if value is None:
        return None
    return str(value).strip() or None
