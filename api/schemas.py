"""Request and response bodies. Inputs reject unknown fields; no output carries a password."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from camera_ops.registry.validation import control_char, control_char_message
from storage.models import (
    AreaKind,
    CameraKind,
    CameraStatus,
    DonorKind,
    Lifecycle,
    ModelStatus,
    PlaybackClock,
    PlaybackStyle,
    RecordingCapability,
    RegistrationState,
    ReviewKind,
    ReviewVerdict,
    Role,
    Watches,
)

T = TypeVar("T")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [v for pair in value.items() for v in pair if isinstance(v, str)]
    return []


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        """Every text of every input refuses control characters, naming the field (issue 12,
        finding 5: a NUL in a camera name broke the commune's XLSX report)."""
        for text in _texts(value):
            if (char := control_char(text)) is not None:
                raise ValueError(control_char_message(info.field_name or "value", char))
        return value


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# --- auth / users -------------------------------------------------------------------------------


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class AreaRef(Out):
    id: int
    code: str
    name: str
    kind: AreaKind


class UserIn(In):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=8, max_length=200)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    area_ids: list[int] = []
    unit: str | None = None
    phone: str | None = None


class UserOut(Out):
    id: int
    username: str
    full_name: str
    role: Role
    unit: str | None
    phone: str | None
    is_active: bool
    areas: list[AreaRef]


# --- areas --------------------------------------------------------------------------------------


class AreaIn(In):
    kind: AreaKind
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    parent_id: int | None = None


class AreaRenameIn(In):
    name: str = Field(min_length=1, max_length=200)
    reason: str | None = None


class AreaMergeIn(In):
    into_id: int
    reason: str | None = None


class AreaNameOut(Out):
    name: str
    valid_from: datetime
    valid_to: datetime | None
    reason: str | None


class AreaOut(Out):
    id: int
    kind: AreaKind
    code: str
    name: str
    parent_id: int | None
    valid_from: datetime
    valid_to: datetime | None
    merged_into_id: int | None


class AreaDetailOut(AreaOut):
    names: list[AreaNameOut]


class RowResultOut(BaseModel):
    row: int
    outcome: str
    message: str
    key: str


class ImportOut(BaseModel):
    counts: dict[str, int]
    rows: list[RowResultOut]


# --- donors -------------------------------------------------------------------------------------


class DonorIn(In):
    area_id: int
    kind: DonorKind
    name: str = Field(min_length=1, max_length=200)
    contact_name: str | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = None
    note: str | None = None


class DonorPatch(In):
    kind: DonorKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    contact_name: str | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = None
    note: str | None = None


class DonorOut(Out):
    id: int
    area_id: int
    kind: DonorKind
    name: str
    contact_name: str | None
    phone: str | None
    address: str | None
    note: str | None
    camera_count: int = 0


# --- security model dossiers --------------------------------------------------------------------


class MemberIn(In):
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    phone: str | None = None


class MemberOut(Out):
    id: int
    name: str
    role: str
    phone: str | None


class ModelIn(In):
    area_id: int
    name: str = Field(min_length=1, max_length=200)
    decision_number: str = Field(min_length=1, max_length=64)
    decision_date: date
    managing_unit: str = Field(min_length=1, max_length=200)
    members: list[MemberIn] = []
    note: str | None = None


class ModelPatch(In):
    name: str | None = None
    decision_number: str | None = None
    decision_date: date | None = None
    managing_unit: str | None = None
    members: list[MemberIn] | None = None
    note: str | None = None


class ReviewIn(In):
    review_date: date
    kind: ReviewKind
    findings: str = Field(min_length=1)
    verdict: ReviewVerdict


class ReviewOut(Out):
    id: int
    review_date: date
    kind: ReviewKind
    findings: str
    verdict: ReviewVerdict


class ModelEndIn(In):
    ended_on: date
    reason: str = Field(min_length=1)


class ModelOut(Out):
    id: int
    area_id: int
    name: str
    decision_number: str
    decision_date: date
    managing_unit: str
    status: ModelStatus
    ended_on: date | None
    end_reason: str | None
    note: str | None
    members: list[MemberOut]
    reviews: list[ReviewOut]


# --- cameras ------------------------------------------------------------------------------------


class CameraIn(In):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    area_id: int
    kind: CameraKind = Field(default=CameraKind.onvif, description="onvif (default) or rtsp (stream URL only); "
                             "recorder channels are registered through POST /cameras/recorders")
    host: str = Field(default="", max_length=255, description="required for ONVIF; RTSP: defaults to the URL's host")
    onvif_port: int = 80
    rtsp_port: int | None = Field(default=None, description="outside port forwarded to the camera's RTSP port")
    http_port: int | None = Field(default=None, description="outside port forwarded to the camera's web port")
    stream_url: str | None = Field(default=None, max_length=500, description="RTSP-only: rtsp:// main stream")
    sub_stream_url: str | None = Field(default=None, max_length=500)
    snapshot_url: str | None = Field(default=None, max_length=500, description="optional http:// JPEG")
    playback_style: PlaybackStyle | None = Field(default=None, description="none given: chosen from the brand")
    playback_template: str | None = Field(default=None, max_length=500,
                                          description="custom style: URL or path with {start} and {end}")
    playback_clock: PlaybackClock = PlaybackClock.utc
    username: str = Field(default="", max_length=120)
    password: str = Field(default="", max_length=200)
    donor_id: int | None = None
    donated_on: date | None = None
    security_model_id: int | None = None
    install_point: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    watches: Watches = Watches.other
    bearing_deg: float | None = None
    note: str | None = None
    pending: bool = Field(default=False, description="save without a handshake (retry later)")
    save_if_unreachable: bool = Field(default=False, description="keep as pending if the camera is offline now")


class CameraPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    host: str | None = None
    onvif_port: int | None = None
    username: str | None = None
    password: str | None = None
    donor_id: int | None = None
    donated_on: date | None = None
    security_model_id: int | None = None
    install_point: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    watches: Watches | None = None
    bearing_deg: float | None = None
    note: str | None = None
    recording_override: RecordingCapability | None = None
    rtsp_port: int | None = None
    http_port: int | None = None
    main_stream_uri: str | None = Field(default=None, max_length=500, description="set by hand; empty removes")
    sub_stream_uri: str | None = Field(default=None, max_length=500)
    snapshot_uri: str | None = Field(default=None, max_length=500)
    replay_uri: str | None = Field(default=None, max_length=500)
    playback_style: PlaybackStyle | None = None
    playback_template: str | None = Field(default=None, max_length=500)
    playback_clock: PlaybackClock | None = None


class HandshakeIn(In):
    password: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="the camera's password typed again (allows a plain-text token)")


class CameraMoveIn(In):
    area_id: int
    reason: str | None = None


class LifecycleIn(In):
    lifecycle: Lifecycle


class CameraOut(Out):
    id: int
    code: str
    name: str
    area: AreaRef
    donor_id: int | None
    donated_on: date | None
    security_model_id: int | None
    install_point: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    watches: Watches
    bearing_deg: float | None
    kind: CameraKind
    host: str
    onvif_port: int
    rtsp_port: int | None
    http_port: int | None
    channel: int
    username: str
    plaintext_auth: bool = Field(description="the camera accepts only plain-text WS-Security passwords")
    manufacturer: str | None
    device_model: str | None
    firmware: str | None
    serial: str | None
    mac: str | None
    main_stream_uri: str | None
    sub_stream_uri: str | None
    snapshot_uri: str | None
    recording: RecordingCapability
    recording_override: RecordingCapability | None
    clock_offset_s: float | None
    registration: RegistrationState
    handshake_at: datetime | None
    handshake_error: dict[str, Any] | None
    lifecycle: Lifecycle
    status: CameraStatus
    status_since: datetime
    status_reasons: list[Any]
    note: str | None
    created_at: datetime


class CameraDetailOut(CameraOut):
    profiles: list[Any] | None
    hardware_id: str | None
    replay_uri: str | None
    playback_style: PlaybackStyle | None
    playback_clock: PlaybackClock
    playback_url_template: str | None
    uri_overrides: dict[str, Any] | None


class ProblemOut(BaseModel):
    code: str
    field: str | None
    message: str


class RegistrationOut(BaseModel):
    """Handshake result field by field: what was found, what failed and what to fix."""

    saved: bool
    camera: CameraDetailOut | None
    handshake: dict[str, Any] | None
    error: ProblemOut | None
    warnings: list[str]


class DiscoverIn(BaseModel):
    """WS-Discovery: probe an address range (unicast) and/or the local network (multicast)."""

    range: str | None = Field(default=None, max_length=64,
                              description="192.168.1.10-192.168.1.60, 192.168.1.10-60, 10.8.0.0/24 or one address")
    multicast: bool = False
    timeout_s: float = Field(default=3.0, gt=0, le=15)


class DiscoveredOut(BaseModel):
    address: str
    onvif_port: int
    endpoint: str
    xaddrs: list[str]
    name: str | None
    hardware: str | None
    mac: str | None
    warnings: list[str]
    registered: dict[str, Any] | None
    prefill: dict[str, str]


class RejectedReplyOut(BaseModel):
    source: str
    code: str
    message: str


class DiscoverOut(BaseModel):
    probed: int
    devices: list[DiscoveredOut]
    rejected: list[RejectedReplyOut]
