"""Cameras: registration through the ONVIF handshake, duplicates, moves, lifecycle, listing.

A camera is identified by its MAC, then its serial — never by its IP, which DHCP and NAT change.
Its password is encrypted at rest and never leaves this module except to the camera clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from camera_ops.errors import (
    CameraError,
    CameraOpsError,
    CameraUnreachable,
    Conflict,
    NotFound,
    ValidationFailed,
)
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
from storage.models import (
    Area,
    AreaKind,
    Camera,
    CameraAreaHistory,
    CameraStatus,
    Donor,
    Lifecycle,
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
        raise NotFound(f"camera {camera_id} does not exist", field="camera_id")
    return camera


def camera_password(camera: Camera, settings: Settings) -> str:
    return decrypt_secret(camera.password_encrypted, settings)


# --- validation ----------------------------------------------------------------------------------


def _validate(session: Session, data: CameraInput, scope: Sequence[str] | None) -> Area:
    if not data.code.strip():
        raise ValidationFailed("camera code is empty", field="code")
    if not data.name.strip():
        raise ValidationFailed("camera name is empty", field="name")
    data.host = check_host(data.host)
    check_port(data.onvif_port)
    check_coordinates(data.latitude, data.longitude)
    check_bearing(data.bearing_deg)
    if not data.username:
        raise ValidationFailed("camera username is empty", field="username")
    area = _hamlet_in_scope(session, data.area_id, scope)
    if data.donor_id is not None:
        donor = session.get(Donor, data.donor_id)
        if donor is None or not path_in_scope(donor.area.path, scope):
            raise ValidationFailed(f"donor {data.donor_id} does not exist", field="donor_id")
    if data.security_model_id is not None:
        model = session.get(SecurityModel, data.security_model_id)
        if model is None or not path_in_scope(model.area.path, scope):
            raise ValidationFailed(f"security model {data.security_model_id} does not exist", field="security_model_id")
    if session.scalar(select(Camera.id).where(Camera.code == data.code.strip())) is not None:
        raise Conflict(f"a camera with code {data.code!r} already exists", field="code")
    return area


def _hamlet_in_scope(session: Session, area_id: int, scope: Sequence[str] | None) -> Area:
    area = session.get(Area, area_id)
    if area is None or not path_in_scope(area.path, scope):
        raise ValidationFailed(f"area {area_id} does not exist", field="area_id")
    if area.kind != AreaKind.hamlet:
        raise ValidationFailed("cameras are registered in a hamlet (thôn/ấp/tổ dân phố)", field="area_id")
    if not area.is_current:
        raise ValidationFailed(f"hamlet {area.code} was merged; register in the unit it became", field="area_id")
    return area


# --- registration --------------------------------------------------------------------------------


def run_handshake(host: str, port: int, username: str, password: str, settings: Settings) -> Any:
    """Run the ONVIF handshake to completion from synchronous code (API worker thread, CLI)."""
    from camera_ops.onvif.handshake import handshake

    return asyncio.run(handshake(host, port, username, password, timeout_s=settings.onvif_timeout_s))


def register_camera(
    session: Session,
    settings: Settings,
    data: CameraInput,
    *,
    scope: Sequence[str] | None,
    pending: bool = False,
    save_if_unreachable: bool = False,
) -> RegistrationOutcome:
    """Validate, handshake, check duplicates, save. Nothing is saved when a check fails, except a
    camera that is merely unreachable when the caller asked to keep it as pending."""
    area = _validate(session, data, scope)
    camera = _new_camera(data, area, settings)
    if pending:
        session.add(camera)
        session.flush()
        _open_area_history(session, camera)
        return RegistrationOutcome(camera=camera)
    try:
        result = run_handshake(data.host, data.onvif_port, data.username, data.password, settings)
    except CameraUnreachable as exc:  # includes CameraTimeout
        if not save_if_unreachable:
            return RegistrationOutcome(camera=None, error=exc)
        camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(exc)
        session.add(camera)
        session.flush()
        _open_area_history(session, camera)
        return RegistrationOutcome(camera=camera, error=exc)
    except CameraError as exc:
        return RegistrationOutcome(camera=None, error=exc)
    found = result.to_dict()
    _check_duplicates(session, mac=normalize_mac(result.mac), serial=result.serial, exclude_id=None)
    _apply_handshake(camera, result, found)
    session.add(camera)
    session.flush()
    _open_area_history(session, camera)
    return RegistrationOutcome(camera=camera, handshake=found, warnings=list(result.warnings))


def retry_handshake(session: Session, settings: Settings, camera: Camera) -> RegistrationOutcome:
    """Handshake a pending (or changed) camera again; identity duplicates are still refused."""
    password = camera_password(camera, settings)
    try:
        result = run_handshake(camera.host, camera.onvif_port, camera.username, password, settings)
    except CameraError as exc:
        camera.handshake_at, camera.handshake_error = utcnow(), _error_dict(exc)
        session.flush()
        return RegistrationOutcome(camera=camera, error=exc)
    _check_duplicates(session, mac=normalize_mac(result.mac), serial=result.serial, exclude_id=camera.id)
    found = result.to_dict()
    _apply_handshake(camera, result, found)
    session.flush()
    return RegistrationOutcome(camera=camera, handshake=found, warnings=list(result.warnings))


def _new_camera(data: CameraInput, area: Area, settings: Settings) -> Camera:
    return Camera(
        code=data.code.strip(), name=data.name.strip(), area_id=area.id, host=data.host, onvif_port=data.onvif_port,
        username=data.username, password_encrypted=encrypt_secret(data.password, settings),
        donor_id=data.donor_id, donated_on=data.donated_on, security_model_id=data.security_model_id,
        install_point=data.install_point, address=data.address, latitude=data.latitude, longitude=data.longitude,
        watches=data.watches, bearing_deg=data.bearing_deg, note=data.note,
        registration=RegistrationState.pending, lifecycle=Lifecycle.active, status=CameraStatus.unknown,
        status_since=utcnow(), status_reasons=[],
    )


def _error_dict(exc: CameraOpsError) -> dict[str, Any]:
    return {"code": exc.code, "field": exc.field, "message": exc.message}


def _check_duplicates(session: Session, *, mac: str | None, serial: str | None, exclude_id: int | None) -> None:
    for column, value, label in ((Camera.mac, mac, "MAC address"), (Camera.serial, serial, "serial number")):
        if not value:
            continue
        stmt = select(Camera.code).where(column == value, Camera.lifecycle != Lifecycle.retired)
        if exclude_id is not None:
            stmt = stmt.where(Camera.id != exclude_id)
        existing = session.scalar(stmt)
        if existing is not None:
            raise Conflict(
                f"this device is already registered as camera {existing!r} (same {label} {value})",
                field="host", details={"duplicate_of": existing, "by": label},
            )


def _apply_handshake(camera: Camera, result: Any, found: dict[str, Any]) -> None:
    """Copy what the camera told us onto the row (``found`` is ``result.to_dict()``)."""
    camera.manufacturer, camera.device_model = result.manufacturer, result.model
    camera.firmware, camera.serial, camera.hardware_id = result.firmware, result.serial, result.hardware_id
    camera.mac = normalize_mac(result.mac)
    camera.profiles = found["profiles"]
    camera.main_stream_uri, camera.sub_stream_uri = result.main_stream_uri, result.sub_stream_uri
    camera.snapshot_uri = result.snapshot_uri
    camera.replay_uri = result.replay_uri
    camera.clock_offset_s = result.clock_offset_s
    camera.playback_url_template = vendor_playback_template(result.manufacturer, result.main_stream_uri)
    if result.profile_g and result.replay_uri:
        camera.recording = RecordingCapability.onvif_replay
    elif camera.playback_url_template:
        camera.recording = RecordingCapability.vendor_playback
    else:
        camera.recording = RecordingCapability.none
    camera.registration = RegistrationState.registered
    camera.handshake_at, camera.handshake_error = utcnow(), None


def vendor_playback_template(manufacturer: str | None, main_stream_uri: str | None) -> str | None:
    """Vendor RTSP playback URL for cameras without Profile G (see PROTOCOL_NOTES). The template
    keeps ``{start}``/``{end}`` placeholders; times are in the camera's clock."""
    if not manufacturer or not main_stream_uri:
        return None
    parts = urlsplit(main_stream_uri)
    base = f"rtsp://{parts.hostname}:{parts.port or 554}"
    vendor = manufacturer.lower()
    if "hikvision" in vendor or "hikv" in vendor:
        return base + "/Streaming/tracks/101?starttime={start:%Y%m%dT%H%M%SZ}&endtime={end:%Y%m%dT%H%M%SZ}"
    if any(v in vendor for v in ("dahua", "kbvision", "imou")):
        return base + "/cam/playback?channel=1&starttime={start:%Y_%m_%d_%H_%M_%S}&endtime={end:%Y_%m_%d_%H_%M_%S}"
    return None


def _open_area_history(session: Session, camera: Camera) -> None:
    session.add(CameraAreaHistory(camera_id=camera.id, area_id=camera.area_id, valid_from=camera.created_at,
                                  reason="registered"))


# --- changes -------------------------------------------------------------------------------------

EDITABLE = {
    "name", "donor_id", "donated_on", "security_model_id", "install_point", "address", "latitude", "longitude",
    "watches", "bearing_deg", "note", "host", "onvif_port", "username", "recording_override",
}


def update_camera(
    session: Session, settings: Settings, camera: Camera, changes: dict[str, Any], *, scope: Sequence[str] | None
) -> Camera:
    unknown = set(changes) - EDITABLE - {"password"}
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))} here", field=sorted(unknown)[0])
    lat = changes.get("latitude", camera.latitude)
    lon = changes.get("longitude", camera.longitude)
    check_coordinates(lat, lon)
    check_bearing(changes.get("bearing_deg"))
    if "host" in changes:
        changes["host"] = check_host(changes["host"])
    if "onvif_port" in changes:
        check_port(changes["onvif_port"])
    if changes.get("donor_id") is not None:
        donor = session.get(Donor, changes["donor_id"])
        if donor is None or not path_in_scope(donor.area.path, scope):
            raise ValidationFailed(f"donor {changes['donor_id']} does not exist", field="donor_id")
    if "password" in changes:
        camera.password_encrypted = encrypt_secret(changes.pop("password"), settings)
    for key, value in changes.items():
        setattr(camera, key, value)
    session.flush()
    return camera


def move_camera(
    session: Session, camera: Camera, *, area_id: int, scope: Sequence[str] | None, reason: str | None = None
) -> Camera:
    area = _hamlet_in_scope(session, area_id, scope)
    if area.id == camera.area_id:
        return camera
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


def set_lifecycle(session: Session, camera: Camera, lifecycle: Lifecycle) -> Camera:
    if camera.lifecycle == Lifecycle.retired and lifecycle != Lifecycle.retired:
        raise ValidationFailed("a retired camera stays retired; register the device again", field="lifecycle")
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


def list_cameras(
    session: Session, *, scope: Sequence[str] | None, filters: CameraFilter, limit: int = 100, offset: int = 0,
    with_total: bool = True,
) -> tuple[list[Camera], int | None]:
    stmt = select(Camera).join(Area, Camera.area_id == Area.id)
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
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) if with_total else None
    rows = session.scalars(stmt.options(joinedload(Camera.area)).order_by(Camera.code).limit(limit).offset(offset))
    return list(rows), total

