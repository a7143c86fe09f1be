"""Cameras: registration through the ONVIF handshake, duplicates, moves, lifecycle, listing.

A camera is identified by its MAC, then its serial — never by its IP, which DHCP and NAT change.
Its password is encrypted at rest and never leaves this module except to the camera clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Enum as SAEnum
from sqlalchemy import Select, String, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session, joinedload

from camera_ops import audit
from camera_ops.audit import Actor
from camera_ops.errors import (
    CameraError,
    CameraOpsError,
    CameraUnreachable,
    Conflict,
    NotFound,
    NotOnvif,
    PasswordRequired,
    ValidationFailed,
)
from camera_ops.footage.reach import from_camera_clock
from camera_ops.netpolicy import check_camera_host
from camera_ops.registry import playback_clock as clock_rule
from camera_ops.registry.areas import get_area, in_scope, path_in_scope
from camera_ops.registry.validation import (
    check_bearing,
    check_coordinates,
    check_host,
    check_port,
    normalize_mac,
)
from camera_ops.security import decrypt_secret, encrypt_secret
from camera_ops.settings import Settings
from camera_ops.registry.reach import URI_FIELDS, Reach, apply_reach, parse_entered_url, rewrite_uri
from storage.models import (
    Area,
    AreaKind,
    Camera,
    CameraAreaHistory,
    CameraKind,
    CameraStatus,
    Donor,
    Lifecycle,
    PlaybackClock,
    PlaybackStyle,
    RecordingCapability,
    RegistrationState,
    SecurityModel,
    Watches,
)
from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class CameraInput:
    """What a person types to register a camera."""

    code: str
    name: str
    area_id: int
    host: str
    username: str
    password: str
    onvif_port: int = 80
    donor_id: int | None = None
    donated_on: date | None = None
    security_model_id: int | None = None
    install_point: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    watches: Watches = Watches.other
    bearing_deg: float | None = None
    note: str | None = None
    kind: CameraKind = CameraKind.onvif
    stream_url: str | None = None  # RTSP-only cameras: the main stream as entered
    sub_stream_url: str | None = None
    snapshot_url: str | None = None
    rtsp_port: int | None = None  # outside ports a router forwards (None: as the camera reports)
    http_port: int | None = None
    playback_style: PlaybackStyle | None = None  # None: chosen from the brand
    playback_template: str | None = None  # custom style: a URL (or path) with {start} and {end}
    # None (or "auto"): by the playback style once it is known — Dahua-style local time, Hikvision-style
    # and ONVIF replay UTC; a custom template needs a choice (see camera_ops.registry.playback_clock)
    playback_clock: clock_rule.ClockChoice = None


@dataclass
class RegistrationOutcome:
    camera: Camera | None
    handshake: dict[str, Any] | None = None  # what the camera told us, field by field
    error: CameraOpsError | None = None  # what failed, with the field to fix
    warnings: list[str] = field(default_factory=list)


# --- lookups -------------------------------------------------------------------------------------


def get_camera(session: Session, camera_id: int, *, scope: Sequence[str] | None) -> Camera:
    camera = session.get(Camera, camera_id, options=[joinedload(Camera.area)])
    if camera is None or not path_in_scope(camera.area.path, scope):
        # Out of scope looks exactly like absent: a user of commune A learns nothing about B.
        raise NotFound(f"camera {camera_id} does not exist", field="camera_id", key="err.camera.missing",
                       params={"id": camera_id})
    return camera


def camera_password(camera: Camera, settings: Settings) -> str:
    return decrypt_secret(camera.password_encrypted, settings)


# --- validation ----------------------------------------------------------------------------------


def _validate(session: Session, data: CameraInput, scope: Sequence[str] | None) -> Area:
    if not data.code.strip():
        raise ValidationFailed("camera code is empty", field="code", key="err.field.required")
    if not data.name.strip():
        raise ValidationFailed("camera name is empty", field="name", key="err.field.required")
    if data.kind is CameraKind.rtsp:
        take_stream_urls(data)
    elif data.kind is not CameraKind.onvif:
        raise ValidationFailed("register a recorder's channels through the recorder", field="kind",
                               key="err.camera.recorder_channel")
    data.playback_clock = clock_rule.chosen(data.playback_clock)
    check_clock_choice(data.playback_style, data.playback_clock)
    data.host = check_host(data.host)
    check_port(data.onvif_port)
    for name in ("rtsp_port", "http_port"):
        if getattr(data, name) is not None:
            check_port(getattr(data, name), field=name)
    check_network(data.host)
    check_coordinates(data.latitude, data.longitude)
    check_bearing(data.bearing_deg)
    if not data.username and data.kind is CameraKind.onvif:
        raise ValidationFailed("camera username is empty", field="username", key="err.field.required")
    area = _hamlet_in_scope(session, data.area_id, scope)
    if data.donor_id is not None:
        donor = session.get(Donor, data.donor_id)
        if donor is None or not path_in_scope(donor.area.path, scope):
            raise ValidationFailed(f"donor {data.donor_id} does not exist", field="donor_id", key="err.donor.missing",
                                   params={"id": data.donor_id})
    if data.security_model_id is not None:
        model = session.get(SecurityModel, data.security_model_id)
        if model is None or not path_in_scope(model.area.path, scope):
            raise ValidationFailed(f"security model {data.security_model_id} does not exist", field="security_model_id",
                                   key="err.model.missing", params={"id": data.security_model_id})
    if session.scalar(select(Camera.id).where(Camera.code == data.code.strip())) is not None:
        raise Conflict(f"a camera with code {data.code!r} already exists", field="code",
                       key="err.camera.duplicate_code",
                       params={"code": data.code})
    return area


def take_stream_urls(data: CameraInput) -> None:
    """RTSP-only input: the stream URL is required; the host defaults to the URL's; credentials
    typed into the URL move to username/password (never stored in a URL)."""
    if not (data.stream_url or "").strip():
        raise ValidationFailed("give the camera's rtsp:// stream address", field="stream_url",
                               key="err.camera.stream_required")
    main = parse_entered_url(data.stream_url or "", field="stream_url", schemes=("rtsp", "rtsps"))
    sub = (parse_entered_url(data.sub_stream_url, field="sub_stream_url", schemes=("rtsp", "rtsps"))
           if (data.sub_stream_url or "").strip() else None)
    snap = (parse_entered_url(data.snapshot_url, field="snapshot_url", schemes=("http", "https"))
            if (data.snapshot_url or "").strip() else None)
    data.host = (data.host or "").strip() or main.host
    data.username = data.username or main.username or ""
    data.password = data.password or main.password or ""
    reach = Reach(data.host, onvif_port=snap.port if snap else 80, rtsp_port=data.rtsp_port,
                  http_port=data.http_port)
    data.stream_url = rewrite_uri(main.url, reach)
    data.sub_stream_url = rewrite_uri(sub.url, reach) if sub else None
    data.snapshot_url = rewrite_uri(snap.url, reach) if snap else None


def check_network(host: str) -> None:
    """Refuse a host outside the camera networks before anything is saved or sent. A name that
    does not resolve now is left to the handshake (it may be saved as pending)."""
    try:
        check_camera_host(host)
    except CameraUnreachable:
        pass


def _hamlet_in_scope(session: Session, area_id: int, scope: Sequence[str] | None) -> Area:
    area = session.get(Area, area_id)
    if area is None or not path_in_scope(area.path, scope):
        raise ValidationFailed(f"area {area_id} does not exist", field="area_id", key="err.area.missing",
                               params={"id": area_id})
    if area.kind != AreaKind.hamlet:
        raise ValidationFailed("cameras are registered in a hamlet (thôn/ấp/tổ dân phố)", field="area_id",
                               key="err.camera.needs_hamlet")
    if not area.is_current:
        raise ValidationFailed(f"hamlet {area.code} was merged; register in the unit it became", field="area_id",
                               key="err.area.closed", params={"code": area.code})
    return area


# --- registration --------------------------------------------------------------------------------


def run_handshake(host: str, port: int, username: str, password: str, settings: Settings, *,
                  allow_plaintext: bool = False) -> Any:
    """Run the ONVIF handshake to completion from synchronous code (API worker thread, CLI).
    ``allow_plaintext``: see :func:`camera_ops.onvif.handshake.handshake`."""
    from camera_ops.onvif.handshake import handshake

    return asyncio.run(handshake(host, port, username, password, timeout_s=settings.onvif_timeout_s,
                                 allow_plaintext=allow_plaintext))


def register_camera(
    session: Session,
    settings: Settings,
    data: CameraInput,
    *,
    scope: Sequence[str] | None,
    pending: bool = False,
    save_if_unreachable: bool = False,
    actor: Actor | None = None,
    detailed_errors: bool = True,
) -> RegistrationOutcome:
    """Validate, handshake, check duplicates, save. Nothing is saved when a check fails, except a
    camera that is merely unreachable when the caller asked to keep it as pending.

    The password was typed for this host in this request, so a camera that refuses the digest may
    get it as a plain-text token; that need is recorded on the camera (``plaintext_auth``).
    ``detailed_errors=False`` (everyone but administrators): see :func:`public_error`."""
    area = _validate(session, data, scope)
    camera = _new_camera(data, area, settings)
    if data.kind is CameraKind.rtsp:
        _check_stream_duplicate(session, camera.main_stream_uri, exclude_id=None)
    if pending:
        return _saved(session, camera, actor, RegistrationOutcome(camera=camera))
    if data.kind is CameraKind.rtsp:
        return _register_rtsp(session, settings, camera, data.password, save_if_unreachable=save_if_unreachable,
                              actor=actor, detailed_errors=detailed_errors)
    try:
        result = run_handshake(data.host, data.onvif_port, data.username, data.password, settings,
                               allow_plaintext=True)
    except (CameraUnreachable, NotOnvif) as exc:  # includes CameraTimeout
        error = public_error(exc, detailed_errors)
        if not save_if_unreachable:
            return RegistrationOutcome(camera=None, error=error)
        camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(error)
        return _saved(session, camera, actor, RegistrationOutcome(camera=camera, error=error))
    except CameraError as exc:
        return RegistrationOutcome(camera=None, error=public_error(exc, detailed_errors))
    found = result.to_dict()
    _check_duplicates(session, mac=normalize_mac(result.mac), serial=result.serial, exclude_id=None)
    _apply_handshake(camera, result, found)
    learn_vendor_reach(camera, data.password, settings)
    return _saved(session, camera, actor,
                  RegistrationOutcome(camera=camera, handshake=found, warnings=list(result.warnings)))


def _saved(session: Session, camera: Camera, actor: Actor | None, outcome: RegistrationOutcome) -> RegistrationOutcome:
    session.add(camera)
    session.flush()
    _open_area_history(session, camera)
    audit.record(session, actor, "camera.register", target_type="camera", target_id=camera.id,
                 target_label=camera.code, changes=audit.diff({}, {**_connection_view(camera), "password": "*"}))
    return outcome


def run_rtsp_check(camera: Camera, password: str, settings: Settings) -> Any:
    from camera_ops.registry.rtsp_check import check_rtsp_camera

    return asyncio.run(check_rtsp_camera(camera.main_stream_uri or "", camera.sub_stream_uri, camera.snapshot_uri,
                                         camera.username, password, timeout_s=settings.onvif_timeout_s))


def _register_rtsp(
    session: Session, settings: Settings, camera: Camera, password: str, *, save_if_unreachable: bool,
    actor: Actor | None = None, detailed_errors: bool = True,
) -> RegistrationOutcome:
    """RTSP-only: DESCRIBE + one decoded keyframe per stream, the snapshot if given; then save."""
    try:
        result = run_rtsp_check(camera, password, settings)
    except CameraUnreachable as exc:
        error = public_error(exc, detailed_errors)
        if not save_if_unreachable:
            return RegistrationOutcome(camera=None, error=error)
        camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(error)
        return _saved(session, camera, actor, RegistrationOutcome(camera=camera, error=error))
    except CameraError as exc:
        return RegistrationOutcome(camera=None, error=public_error(exc, detailed_errors))
    found = _apply_rtsp_check(camera, result)
    learn_vendor_reach(camera, password, settings)
    return _saved(session, camera, actor,
                  RegistrationOutcome(camera=camera, handshake=found, warnings=list(result.warnings)))


def _apply_rtsp_check(camera: Camera, result: Any) -> dict[str, Any]:
    found = result.to_dict()
    camera.profiles = [{"token": name, "name": name, "encoding": facts.codec, "width": facts.width,
                        "height": facts.height, "fps": facts.framerate}
                       for name, facts in (("main", result.main), ("sub", result.sub)) if facts is not None]
    apply_playback(camera)
    camera.registration = RegistrationState.registered
    camera.handshake_at, camera.handshake_error = utcnow(), None
    return found


def retry_handshake(
    session: Session, settings: Settings, camera: Camera, *, password: str | None = None, actor: Actor | None = None,
    detailed_errors: bool = True,
) -> RegistrationOutcome:
    """Handshake a pending (or changed) camera again; identity duplicates are still refused.

    A plain-text password token is allowed only if the camera was registered needing one, or the
    caller typed the ``password`` in this request (it is then stored if the handshake succeeds)."""
    stored = camera_password(camera, settings)
    allow_plaintext = camera.plaintext_auth or password is not None
    audit.record(session, actor, "camera.handshake", target_type="camera", target_id=camera.id,
                 target_label=camera.code, message="password entered" if password is not None else None)
    if camera.kind is CameraKind.rtsp:
        try:
            rtsp = run_rtsp_check(camera, password or stored, settings)
        except CameraError as exc:
            error = public_error(exc, detailed_errors)
            camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(error)
            session.flush()
            return RegistrationOutcome(camera=camera, error=error)
        found = _apply_rtsp_check(camera, rtsp)
        learn_vendor_reach(camera, password or stored, settings)
        session.flush()
        return RegistrationOutcome(camera=camera, handshake=found, warnings=list(rtsp.warnings))
    try:
        result = run_handshake(camera.host, camera.onvif_port, camera.username, password or stored, settings,
                               allow_plaintext=allow_plaintext)
    except CameraError as exc:
        error = public_error(exc, detailed_errors)
        camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(error)
        session.flush()
        return RegistrationOutcome(camera=camera, error=error)
    streams = None
    if camera.kind is CameraKind.recorder_channel:
        streams = next((c for c in result.channels if c.channel == camera.channel), None)
        if streams is None:
            error = ValidationFailed(f"the recorder no longer has channel {camera.channel}", field="channel",
                                     key="err.recorder.missing_channel", params={"channel": camera.channel})
            camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(error)
            session.flush()
            return RegistrationOutcome(camera=camera, error=error)
    _check_duplicates(session, mac=normalize_mac(result.mac), serial=result.serial, exclude_id=camera.id,
                      channel=camera.channel)
    if password is not None and password != stored:
        camera.password_encrypted = encrypt_secret(password, settings)
    found = result.to_dict()
    _apply_handshake(camera, result, found, streams)
    learn_vendor_reach(camera, password or stored, settings)
    session.flush()
    return RegistrationOutcome(camera=camera, handshake=found, warnings=list(result.warnings))


def public_error(exc: CameraError, detailed: bool) -> CameraError:
    """What a registration failure may tell. Without details, "nothing answers", "answers too
    late" and "answers HTTP but not ONVIF" read the same, so the registration form is no port
    scanner; the password, profile and network-policy answers stay (they name the field to fix and
    say nothing about other services on the host)."""
    if detailed or not isinstance(exc, (CameraUnreachable, NotOnvif)):
        return exc
    return CameraUnreachable("no ONVIF camera answered at this host and port; check both", field="host",
                             key="err.onvif.nothing_answers")


def _new_camera(data: CameraInput, area: Area, settings: Settings) -> Camera:
    clock = clock_rule.chosen(data.playback_clock)
    camera = Camera(
        kind=data.kind, rtsp_port=data.rtsp_port, http_port=data.http_port,
        main_stream_uri=data.stream_url, sub_stream_uri=data.sub_stream_url, snapshot_uri=data.snapshot_url,
        playback_style=data.playback_style, playback_clock=clock or PlaybackClock.utc,
        playback_clock_auto=clock is None,
        playback_url_template=data.playback_template if data.playback_style is PlaybackStyle.custom else None,
        channel=0, uri_overrides=None,
        code=data.code.strip(), name=data.name.strip(), area_id=area.id, host=data.host, onvif_port=data.onvif_port,
        username=data.username, password_encrypted=encrypt_secret(data.password, settings),
        donor_id=data.donor_id, donated_on=data.donated_on, security_model_id=data.security_model_id,
        install_point=data.install_point, address=data.address, latitude=data.latitude, longitude=data.longitude,
        watches=data.watches, bearing_deg=data.bearing_deg, note=data.note,
        registration=RegistrationState.pending, lifecycle=Lifecycle.active, status=CameraStatus.unknown,
        status_since=utcnow(), status_reasons=[],
    )
    resolve_clock(camera)  # a style given now decides it at once; "by brand" waits for the handshake
    return camera


def _error_dict(exc: CameraOpsError) -> dict[str, Any]:
    return exc.to_dict()  # code, field, English message, and the key + params pages render per user


def _check_stream_duplicate(session: Session, uri: str | None, *, exclude_id: int | None) -> None:
    """An RTSP-only camera has no MAC or serial to tell: its stream address identifies it."""
    if not uri:
        return
    stmt = select(Camera.code).where(Camera.main_stream_uri == uri, Camera.lifecycle != Lifecycle.retired)
    if exclude_id is not None:
        stmt = stmt.where(Camera.id != exclude_id)
    existing = session.scalar(stmt)
    if existing is not None:
        raise Conflict(f"this stream is already registered as camera {existing!r}", field="stream_url",
                       details={"duplicate_of": existing, "by": "stream address"},
                           key="err.camera.duplicate_stream", params={"camera": existing})


def _check_duplicates(session: Session, *, mac: str | None, serial: str | None, exclude_id: int | None,
                      channel: int = 0) -> None:
    for column, value, label in ((Camera.mac, mac, "MAC address"), (Camera.serial, serial, "serial number")):
        if not value:
            continue
        stmt = select(Camera.code).where(column == value, Camera.lifecycle != Lifecycle.retired,
                                         Camera.channel == channel)
        if exclude_id is not None:
            stmt = stmt.where(Camera.id != exclude_id)
        existing = session.scalar(stmt)
        if existing is not None:
            raise Conflict(
                f"this device is already registered as camera {existing!r} (same {label} {value})",
                field="host", details={"duplicate_of": existing, "by": label},
                key="err.camera.duplicate_device", params={"camera": existing, "value": value},
            )


def _apply_handshake(camera: Camera, result: Any, found: dict[str, Any], streams: Any = None) -> None:
    """Copy what the camera told us onto the row (``found`` is ``result.to_dict()``); a recorder
    channel takes its own channel's ``streams`` (``ChannelStreams``) and no replay address."""
    camera.manufacturer, camera.device_model = result.manufacturer, result.model
    camera.firmware, camera.serial, camera.hardware_id = result.firmware, result.serial, result.hardware_id
    camera.mac = normalize_mac(result.mac)
    camera.profiles = found["profiles"]
    reported = {"main_stream_uri": result.main_stream_uri, "sub_stream_uri": result.sub_stream_uri,
                "snapshot_uri": result.snapshot_uri, "replay_uri": result.replay_uri}
    if streams is not None:
        camera.profiles = [p for p in found["profiles"] if p.get("source") == streams.source]
        reported = {"main_stream_uri": streams.main_stream_uri, "sub_stream_uri": streams.sub_stream_uri,
                    "snapshot_uri": streams.snapshot_uri, "replay_uri": None}
    for name, uri in apply_reach(reported, reach_of(camera), camera.uri_overrides).items():
        setattr(camera, name, uri)
    camera.clock_offset_s = result.clock_offset_s
    store_reach(camera, result.recording_earliest, result.recording_latest, clock_offset_s=result.clock_offset_s)
    apply_playback(camera)
    camera.plaintext_auth = result.auth_method == "text"
    camera.registration = RegistrationState.registered
    camera.handshake_at, camera.handshake_error = utcnow(), None


def learn_vendor_reach(camera: Camera, password: str, settings: Settings) -> None:
    """A Hikvision/Dahua-style playback camera's reach through its own search (see
    :mod:`camera_ops.footage.vendor_reach`); a failure leaves the reach unknown with a reason and
    never fails the registration."""
    from camera_ops.footage.vendor_reach import learn_vendor_reach as learn

    learn(camera, password, timezone_name=settings.timezone, timeout_s=settings.onvif_timeout_s)


def _forget_vendor_reach(camera: Camera) -> None:
    """What the vendor search said no longer holds after the camera's access changed: the daily job
    asks again at its next run (it takes the never-asked first)."""
    from camera_ops.footage.vendor_reach import search_style

    if search_style(camera) is not None or camera.recording_problem:
        camera.recording_from = camera.recording_until = camera.recording_checked_at = None
        camera.recording_problem = None


def store_reach(camera: Camera, earliest: datetime | None, latest: datetime | None, *,
                clock_offset_s: float | None) -> None:
    """The camera's recording reach (its own clock) in true UTC, with the time we learnt it."""
    if earliest is None or latest is None:
        return  # the camera cannot tell: keep what we knew
    reach = from_camera_clock(_aware(earliest), _aware(latest), clock_offset_s=clock_offset_s, checked_at=utcnow())
    camera.recording_from, camera.recording_until = reach.earliest, reach.latest
    camera.recording_checked_at = reach.checked_at


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)  # ONVIF xs:dateTime is UTC


def reach_of(camera: Camera) -> Reach:
    return Reach(camera.host, camera.onvif_port, camera.rtsp_port, camera.http_port)


def _base_url(uri: str) -> str:
    parts = urlsplit(uri)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"{parts.scheme or 'rtsp'}://{host}:{parts.port or 554}"


HIKVISION_PLAYBACK = "/Streaming/tracks/{track}?starttime={{start:%Y%m%dT%H%M%SZ}}&endtime={{end:%Y%m%dT%H%M%SZ}}"
DAHUA_PLAYBACK = ("/cam/playback?channel={channel}&starttime={{start:%Y_%m_%d_%H_%M_%S}}"
                  "&endtime={{end:%Y_%m_%d_%H_%M_%S}}")
_BRANDS: tuple[tuple[tuple[str, ...], PlaybackStyle], ...] = (
    (("hikvision", "hikv", "hiwatch", "ezviz"), PlaybackStyle.hikvision),
    (("dahua", "kbvision", "imou", "lechange", "amcrest"), PlaybackStyle.dahua),
)


def brand_style(manufacturer: str | None) -> PlaybackStyle | None:
    vendor = (manufacturer or "").lower()
    for names, style in _BRANDS:
        if any(name in vendor for name in names):
            return style
    return None


def style_template(style: PlaybackStyle, main_stream_uri: str, channel: int = 0) -> str:
    """The playback URL template of a vendor style for this camera (channel 0 = a camera = 1)."""
    channel = channel or 1
    if style is PlaybackStyle.hikvision:
        return _base_url(main_stream_uri) + HIKVISION_PLAYBACK.format(track=f"{channel}01")
    if style is PlaybackStyle.dahua:
        return _base_url(main_stream_uri) + DAHUA_PLAYBACK.format(channel=channel)
    raise ValueError(f"{style} has no fixed template")


def vendor_playback_template(manufacturer: str | None, main_stream_uri: str | None, channel: int = 0) -> str | None:
    """Vendor RTSP playback URL for cameras without Profile G (see PROTOCOL_NOTES). The template
    keeps ``{start}``/``{end}`` placeholders; times are in the camera's clock."""
    style = brand_style(manufacturer)
    if style is None or not main_stream_uri:
        return None
    return style_template(style, main_stream_uri, channel)


SAMPLE_TIME = datetime(2026, 11, 21, 14, 10, tzinfo=timezone.utc)


def check_custom_template(template: str | None, camera: Camera) -> str:
    """A typed playback template: ``{start}`` and ``{end}`` present, formattable, and pointed at
    the camera's own host (the camera's password goes with it: never to another host)."""
    text = (template or "").strip()
    if "{start" not in text or "{end" not in text:
        raise ValidationFailed("the playback template needs {start} and {end} placeholders",
                               field="playback_template", key="err.playback.placeholders")
    try:
        text.format(start=SAMPLE_TIME, end=SAMPLE_TIME)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ValidationFailed(f"the playback template cannot be filled in ({exc.__class__.__name__}: {exc})",
                               field="playback_template", key="err.playback.unfillable") from None
    if text.startswith("/"):
        if not camera.main_stream_uri:
            raise ValidationFailed("a playback path needs the camera's stream address first",
                                   field="playback_template", key="err.playback.needs_stream")
        return _base_url(camera.main_stream_uri) + text
    entered = parse_entered_url(text.replace("{", "").replace("}", ""), field="playback_template",
                                schemes=("rtsp", "rtsps", "http", "https"))
    if entered.username or entered.password:
        raise ValidationFailed("put the camera's credentials in username/password, not in the template",
                               field="playback_template", key="err.playback.credentials")
    if entered.host.lower() != camera.host.lower():
        raise ValidationFailed(f"the playback template must point at the camera's host {camera.host}",
                               field="playback_template", key="err.playback.host", params={"host": camera.host})
    return text


def playback_style_in_use(camera: Camera) -> PlaybackStyle | None:
    """The style the camera's vendor URLs follow: the chosen one, else its brand's."""
    return clock_rule.style_in_use(camera.playback_style, brand_style(camera.manufacturer))


def resolve_clock(camera: Camera) -> None:
    """An automatic playback clock follows the style in use; a chosen one is never touched."""
    camera.playback_clock = clock_rule.resolved(playback_style_in_use(camera), camera.playback_clock,
                                                auto=camera.playback_clock_auto)


@dataclass(frozen=True)
class PlaybackNotes:
    """What the camera page adds about recorded-footage access (message keys, None when nothing)."""

    clock_hint: str | None = None  # the clock is not the style's usual one: see clock_rule.unusual_clock
    problem_hint: str | None = None  # more words for the vendor search's problem on this vendor


def playback_notes(camera: Camera) -> PlaybackNotes:
    from camera_ops.footage.vendor_reach import search_style

    hint = None
    if camera.effective_recording is RecordingCapability.vendor_playback:  # replay ignores the clock
        hint = clock_rule.unusual_clock(playback_style_in_use(camera), camera.playback_clock,
                                        auto=camera.playback_clock_auto)
    problem = (camera.recording_problem or {}).get("code")
    extra = None
    if problem == "auth" and search_style(camera) == "hikvision":
        # Hikvision keeps ONVIF users apart from its web (ISAPI) users: the account that passed the
        # ONVIF handshake may not exist for the recording search
        extra = "camera.recording_problem.auth_hikvision"
    return PlaybackNotes(clock_hint=hint, problem_hint=extra)


def check_clock_choice(style: PlaybackStyle | None, clock: PlaybackClock | None) -> None:
    if clock_rule.needs_choice(style, clock):
        raise ValidationFailed("a custom playback template needs its clock chosen: the camera's UTC or local time",
                               field="playback_clock", key="err.playback.clock_required")


def apply_playback(camera: Camera) -> None:
    """Recording access from the chosen style (``None``: Profile G replay, else the brand's
    playback URL, else live capture only). A custom template is kept as typed (checked). An
    automatic playback clock follows the style (:func:`resolve_clock`)."""
    _apply_playback(camera)
    resolve_clock(camera)


def _apply_playback(camera: Camera) -> None:
    style = camera.playback_style
    main = camera.main_stream_uri
    if style is None:
        camera.playback_url_template = vendor_playback_template(camera.manufacturer, main, camera.channel)
        if camera.replay_uri:
            camera.recording = RecordingCapability.onvif_replay
        elif camera.playback_url_template:
            camera.recording = RecordingCapability.vendor_playback
        else:
            camera.recording = RecordingCapability.none
        return
    if style is PlaybackStyle.onvif_replay:
        if not camera.replay_uri:
            raise ValidationFailed("the camera offers no ONVIF replay (Profile G)", field="playback_style",
                                   key="err.playback.no_replay")
        camera.playback_url_template, camera.recording = None, RecordingCapability.onvif_replay
    elif style in (PlaybackStyle.hikvision, PlaybackStyle.dahua):
        if not main:
            raise ValidationFailed("a playback style needs the camera's stream address first", field="playback_style",
                                   key="err.playback.needs_stream")
        camera.playback_url_template = style_template(style, main, camera.channel)
        camera.recording = RecordingCapability.vendor_playback
    elif style is PlaybackStyle.custom:
        camera.playback_url_template = check_custom_template(camera.playback_url_template, camera)
        camera.recording = RecordingCapability.vendor_playback
    else:
        camera.playback_url_template, camera.recording = None, RecordingCapability.none


def _open_area_history(session: Session, camera: Camera) -> None:
    session.add(CameraAreaHistory(camera_id=camera.id, area_id=camera.area_id, valid_from=camera.created_at,
                                  reason="registered"))


# --- changes -------------------------------------------------------------------------------------

EDITABLE = {
    "name", "donor_id", "donated_on", "security_model_id", "install_point", "address", "latitude", "longitude",
    "watches", "bearing_deg", "note", "host", "onvif_port", "username", "recording_override",
    "rtsp_port", "http_port", "playback_style", "playback_template", "playback_clock", *URI_FIELDS,
}
REACH_FIELDS = frozenset({"host", "onvif_port", "rtsp_port", "http_port"})
PLAYBACK_FIELDS = frozenset({"playback_style", "playback_template"})


def is_connection_field(name: str) -> bool:
    """Fields that decide where the camera's password is sent: the host, any port, any stream,
    snapshot, replay or playback address (generic, so fields added later are covered too)."""
    return name == "host" or name.endswith(("_port", "_uri", "_url", "_template", "_path"))


def _connection_view(camera: Camera) -> dict[str, Any]:
    return {c.key: getattr(camera, c.key) for c in Camera.__table__.columns if is_connection_field(c.key)}


def check_credentials_move(camera: Camera, changes: dict[str, Any], *, may_redirect_credentials: bool) -> None:
    """Changing where the camera is reached without re-entering its password would let anyone who
    may edit the camera send its stored password to a host of their choosing. Administrators may."""
    moved = sorted(k for k, v in changes.items() if is_connection_field(k) and getattr(camera, k, None) != v)
    if moved and changes.get("password") is None and not may_redirect_credentials:
        raise PasswordRequired(
            f"changing {', '.join(moved)} needs the camera's password entered again", field="password",
            details={"changed": moved}, key="err.camera.password_required", params={"fields": ", ".join(moved)},
        )


def update_camera(
    session: Session, settings: Settings, camera: Camera, changes: dict[str, Any], *, scope: Sequence[str] | None,
    may_redirect_credentials: bool = False, actor: Actor | None = None,
) -> Camera:
    """Apply an edit. ``may_redirect_credentials``: the caller may change the host/ports/addresses
    without the password (administrators)."""
    unknown = set(changes) - EDITABLE - {"password"}
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))} here", field=sorted(unknown)[0],
                               key="err.field.not_editable")
    if changes.get("password") == "":
        raise ValidationFailed("camera password is empty", field="password", key="err.field.required")
    check_credentials_move(camera, changes, may_redirect_credentials=may_redirect_credentials)
    lat = changes.get("latitude", camera.latitude)
    lon = changes.get("longitude", camera.longitude)
    check_coordinates(lat, lon)
    check_bearing(changes.get("bearing_deg"))
    if "host" in changes:
        changes["host"] = check_host(changes["host"])
        check_network(changes["host"])
    for name in ("onvif_port", "rtsp_port", "http_port"):
        if changes.get(name) is not None:
            check_port(changes[name], field=name)
    if changes.get("donor_id") is not None:
        donor = session.get(Donor, changes["donor_id"])
        if donor is None or not path_in_scope(donor.area.path, scope):
            raise ValidationFailed(f"donor {changes['donor_id']} does not exist", field="donor_id",
                                   key="err.donor.missing",
                                   params={"id": changes["donor_id"]})
    clock_given = changes.pop("playback_clock", None)  # None: not given; "auto": back to by-style
    clock = clock_rule.chosen(clock_given)
    auto = (clock is None) if clock_given is not None else camera.playback_clock_auto
    if auto:
        check_clock_choice(changes.get("playback_style", camera.playback_style), None)
    before = {key: getattr(camera, key, None) for key in changes if key != "password"}
    before |= {"playback_clock": camera.playback_clock, "playback_clock_auto": camera.playback_clock_auto}
    password_changed = changes.get("password") is not None
    uris = {name: changes.pop(name) for name in URI_FIELDS if name in changes}
    template = changes.pop("playback_template", None)
    if "password" in changes:
        password = changes.pop("password")
        if password is not None:
            camera.password_encrypted = encrypt_secret(password, settings)
    for key, value in changes.items():
        setattr(camera, key, value)
    camera.playback_clock_auto = auto
    if clock is not None:
        camera.playback_clock = clock
    if REACH_FIELDS & set(changes):
        current = {name: getattr(camera, name) for name in URI_FIELDS}
        for name, uri in apply_reach(current, reach_of(camera), camera.uri_overrides).items():
            setattr(camera, name, uri)
    if uris:
        _set_uris_by_hand(camera, uris)
    if template is not None:
        camera.playback_url_template = template
    if PLAYBACK_FIELDS & (set(changes) | ({"playback_template"} if template is not None else set())) or uris or (
            REACH_FIELDS & set(changes)):
        apply_playback(camera)
    resolve_clock(camera)
    clock_changed = clock_given is not None or camera.playback_clock is not before["playback_clock"]
    if (PLAYBACK_FIELDS | REACH_FIELDS | {"recording_override"}) & set(changes) or uris or (
            template is not None or password_changed or clock_changed):
        _forget_vendor_reach(camera)
    recorded = audit.diff(before, {**changes, **uris, **({"playback_template": template} if template is not None else {}),
                                   "playback_clock": camera.playback_clock,
                                   "playback_clock_auto": camera.playback_clock_auto,
                                   "password": "*" if password_changed else None})
    if recorded:
        audit.record(session, actor, "camera.update", target_type="camera", target_id=camera.id,
                     target_label=camera.code, changes=recorded)
    session.flush()
    return camera


def _set_uris_by_hand(camera: Camera, uris: dict[str, str | None]) -> None:
    """URIs typed by hand. On an ONVIF camera they are kept as overrides (a later handshake keeps
    them); on an RTSP-only camera they are simply its addresses. Empty removes an override."""
    overrides = dict(camera.uri_overrides or {})
    schemes = {"snapshot_uri": ("http", "https")}
    for name, value in uris.items():
        if not value:
            overrides.pop(name, None)
            if camera.kind is CameraKind.rtsp and name != "main_stream_uri":
                setattr(camera, name, None)
            elif camera.kind is CameraKind.rtsp:
                raise ValidationFailed("an RTSP-only camera needs its stream address", field=name,
                                       key="err.camera.stream_required")
            continue
        entered = parse_entered_url(value, field=name, schemes=schemes.get(name, ("rtsp", "rtsps")))
        if entered.username or entered.password:
            raise ValidationFailed("put the camera's credentials in username/password, not in the address", field=name,
                                   key="err.camera.url_credentials")
        if entered.host.lower() != camera.host.strip("[]").lower():  # its password goes there too
            raise ValidationFailed(f"the address must point at the camera's host {camera.host}", field=name,
                                   key="err.playback.host", params={"host": camera.host})
        if camera.kind is CameraKind.onvif:
            overrides[name] = entered.url
        setattr(camera, name, entered.url)
    camera.uri_overrides = overrides or None


def move_camera(
    session: Session, camera: Camera, *, area_id: int, scope: Sequence[str] | None, reason: str | None = None,
    actor: Actor | None = None,
) -> Camera:
    area = _hamlet_in_scope(session, area_id, scope)
    if area.id == camera.area_id:
        return camera
    audit.record(session, actor, "camera.move", target_type="camera", target_id=camera.id, target_label=camera.code,
                 changes={"area_id": {"from": camera.area_id, "to": area.id}}, message=reason)
    now = utcnow()
    session.execute(
        update(CameraAreaHistory)
        .where(CameraAreaHistory.camera_id == camera.id, CameraAreaHistory.valid_to.is_(None))
        .values(valid_to=now)
    )
    session.add(CameraAreaHistory(camera_id=camera.id, area_id=area.id, valid_from=now, reason=reason or "moved"))
    camera.area_id = area.id
    session.flush()
    return camera


def set_lifecycle(session: Session, camera: Camera, lifecycle: Lifecycle, *, actor: Actor | None = None) -> Camera:
    if camera.lifecycle == Lifecycle.retired and lifecycle != Lifecycle.retired:
        raise ValidationFailed("a retired camera stays retired; register the device again", field="lifecycle",
                               key="err.camera.retired")
    if lifecycle != camera.lifecycle:
        audit.record(session, actor, "camera.lifecycle", target_type="camera", target_id=camera.id,
                     target_label=camera.code, changes=audit.diff({"lifecycle": camera.lifecycle}, {"lifecycle": lifecycle}))
    camera.lifecycle = lifecycle
    session.flush()
    return camera


# --- listing -------------------------------------------------------------------------------------


@dataclass
class CameraFilter:
    area_id: int | None = None
    status: CameraStatus | None = None
    donor_id: int | None = None
    security_model_id: int | None = None
    lifecycle: Lifecycle | None = None
    registration: RegistrationState | None = None
    q: str | None = None


def _total_from_counts(session: Session, scope: Sequence[str] | None, filters: CameraFilter) -> int | None:
    """Without filters other than the area, the total is a sum of the per-area status counts the
    database keeps (a few rows, instead of counting 100,000 cameras per page); None otherwise."""
    from dataclasses import astuple

    from camera_ops.monitor.counts import area_counts, covering_areas

    if any(v is not None for v in astuple(replace(filters, area_id=None))):
        return None
    if filters.area_id is not None:
        area = get_area(session, filters.area_id)
        if not path_in_scope(area.path, scope):
            return None  # partly in scope (or not at all): count the rows
        areas = [area.id]
    else:
        areas = covering_areas(session, scope)
    return sum(sum(c.values()) for c in area_counts(session, areas).values())


def _filtered(session: Session, stmt: Select, scope: Sequence[str] | None, filters: CameraFilter) -> Select:  # type: ignore[type-arg]
    stmt = stmt.join(Area, Camera.area_id == Area.id)
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    if filters.area_id is not None:
        stmt = stmt.where(Area.path.like(f"{get_area(session, filters.area_id).path}%"))
    for column, value in (
        (Camera.status, filters.status), (Camera.donor_id, filters.donor_id),
        (Camera.security_model_id, filters.security_model_id), (Camera.lifecycle, filters.lifecycle),
        (Camera.registration, filters.registration),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.q:
        like = f"%{filters.q.strip().lower()}%"
        stmt = stmt.where(or_(*(func.lower(c).like(like) for c in (
            Camera.code, Camera.name, Camera.address, Camera.install_point, Camera.serial, Camera.mac, Camera.host))))
    return stmt


def _total(session: Session, stmt: Select, scope: Sequence[str] | None, filters: CameraFilter) -> int:  # type: ignore[type-arg]
    total = _total_from_counts(session, scope, filters)
    if total is None:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return total


def list_cameras(
    session: Session, *, scope: Sequence[str] | None, filters: CameraFilter, limit: int = 100, offset: int = 0,
    with_total: bool = True,
) -> tuple[list[Camera], int | None]:
    stmt = _filtered(session, select(Camera), scope, filters)
    total = _total(session, stmt, scope, filters) if with_total else None
    rows = session.scalars(stmt.options(joinedload(Camera.area)).order_by(Camera.code).limit(limit).offset(offset))
    return list(rows), total


def camera_rows(
    session: Session, *, scope: Sequence[str] | None, filters: CameraFilter, columns: Sequence[str],
    limit: int = 100, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The same page as :func:`list_cameras` as plain dicts of the named camera columns, in that
    order, where the name ``area`` stands for the camera's area (id, code, name, kind): no ORM
    objects, enumerations as their stored values (what JSON carries), for the API's hot list."""
    area_cols = (Area.id.label("area__id"), Area.code.label("area__code"), Area.name.label("area__name"),
                 type_coerce(Area.kind, String).label("area__kind"))
    picked = [type_coerce(c, String).label(c.name) if isinstance(c.type, SAEnum) else c
              for c in (Camera.__table__.c[name] for name in columns if name != "area")]
    stmt = _filtered(session, select(*picked, *area_cols), scope, filters)
    total = _total(session, _filtered(session, select(Camera.id), scope, filters), scope, filters)
    names = [name for name in columns if name != "area"]
    at = columns.index("area") if "area" in columns else len(columns)
    out = []
    for row in session.connection().execute(stmt.order_by(Camera.code).limit(limit).offset(offset)).all():
        values = list(zip(names, row[: len(names)]))
        values.insert(at, ("area", {"id": row[-4], "code": row[-3], "name": row[-2], "kind": row[-1]}))
        out.append(dict(values))
    return out, total

