"""Request and response bodies. Inputs reject unknown fields; no output carries a password."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.bounds import INT_MAX, INT_MIN, in_db_range, out_of_range_message
from camera_ops.i18n import t
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


def _refusal(kind: str, english: str, **params: Any) -> PydanticCustomError:
    """A refusal of its own error type: api.errors (PYDANTIC_KEYS) renders it from its catalog key
    in the reader's language; ``english`` is what logs and pydantic itself show."""
    return PydanticCustomError(kind, english.replace("{", "{{").replace("}", "}}"), params)


def _items(value: Any) -> list[Any]:
    """The value, or the members of a list/set/dict (keys and values), to check one by one."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, dict):
        return [v for pair in value.items() for v in pair]
    return [value]


# The longest text any input field takes unless it sets its own limit: a page of notes or review
# findings is a few thousand characters; a 128 KiB field is an attack or an accident.
MAX_TEXT_CHARS = 20_000


def _input_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """OpenAPI of an input model: every text has a maximum length, and a field listed in
    ``NOT_NULL`` may be left out but is never ``null``."""
    for prop in schema.get("properties", {}).values():
        for option in [prop, *prop.get("anyOf", [])]:
            if option.get("type") == "string" and "maxLength" not in option and "format" not in option:
                option["maxLength"] = MAX_TEXT_CHARS
    for name in getattr(model, "NOT_NULL", ()):
        prop = schema.get("properties", {}).get(name, {})
        options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
        if "anyOf" in prop and len(options) == 1:
            del prop["anyOf"]
            prop.update(options[0])
            prop.pop("default", None)
        elif "anyOf" in prop:
            prop["anyOf"] = options


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_input_schema)
    # Fields that may be omitted (left unchanged) but not sent as null: the column behind them is
    # NOT NULL (an explicit null used to reach the database as an IntegrityError, a 500).
    NOT_NULL: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        """Every text of every input refuses control characters (issue 12, finding 5: a NUL in a
        camera name broke the commune's XLSX report) and every integer fits the database's integer columns
        (finding 7), naming the field."""
        field = info.field_name or "value"
        if value is None and field in cls.NOT_NULL:
            raise _refusal("not_null", t("api.not_null", "en", field=field))
        for item in _items(value):
            if isinstance(item, str) and (char := control_char(item)) is not None:
                raise _refusal("control_chars", control_char_message(field, char), code=f"U+{ord(char):04X}")
            if isinstance(item, str) and len(item) > MAX_TEXT_CHARS:
                raise _refusal("text_too_long", t("api.text_too_long", "en", field=field, limit=MAX_TEXT_CHARS),
                               limit=MAX_TEXT_CHARS)
            if isinstance(item, int) and not in_db_range(item):
                raise _refusal("int_range", out_of_range_message(field), low=INT_MIN, high=INT_MAX)
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
    password: str = Field(min_length=1, max_length=200, description="at least 10 characters, not a common password")
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
    must_change_password: bool = Field(description="a reset password: it must be changed at the next login")
    password_changed_at: datetime | None = None
    created_at: datetime


class UserPatch(In):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    area_ids: list[int] | None = None
    unit: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    is_active: bool | None = Field(default=None, description="false disables the account and ends its logins")


class PasswordResetIn(In):
    new_password: str = Field(min_length=1, max_length=200, description="temporary; the user must change it")


class PasswordChangeIn(In):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200, description="at least 10 characters, not a common password")


class SessionsEndedOut(BaseModel):
    ended: int


class AuditEventOut(Out):
    id: int
    at: datetime
    actor_user_id: int | None
    actor_username: str | None
    actor_role: str | None
    client_address: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    target_label: str | None
    changes: dict[str, Any] | None
    message: str | None


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
    NOT_NULL = frozenset({"kind", "name"})
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
    NOT_NULL = frozenset({"name", "decision_number", "decision_date", "managing_unit", "members"})
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
    # set when the review was generated as a report on the web (its .docx is on the dossier page)
    period_from: date | None = None
    period_to: date | None = None
    doc_number: str | None = None


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

CLOCK_RULE = ("clock of the {start}/{end} in the playback URL and of the vendor recording search: 'utc', "
              "'local' (settings timezone) or 'auto' (the default): by the playback style once known — "
              "Dahua-style (KBVision, Imou, Amcrest, Lorex…) local time, Hikvision-style and ONVIF replay UTC; "
              "a custom template must choose (422 on playback_clock otherwise). A chosen clock is never "
              "changed by a later handshake or style change; an automatic one follows the style")


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
    playback_clock: PlaybackClock | Literal["auto"] | None = Field(default=None, description=CLOCK_RULE)
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
    NOT_NULL = frozenset({"name", "host", "onvif_port", "username", "password", "watches", "playback_clock"})
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
    playback_clock: PlaybackClock | Literal["auto"] | None = Field(
        default=None, description="not given: unchanged (an automatic clock follows a style change); 'auto': back "
                                  "to automatic. " + CLOCK_RULE)


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
    recording_from: datetime | None = None  # recording reach, true UTC (from the camera)
    recording_until: datetime | None = None
    recording_checked_at: datetime | None = None
    # why the reach is unknown ("auth", "unsupported", "malformed", "timeout", "unreachable",
    # "custom_template") or why the camera is not recording ("card_missing", "card_unformatted",
    # "card_failed", "no_recordings"), from the vendor's recording search: {"code": ..., "detail": ...}
    recording_problem: dict[str, str | None] | None = None
    playback_style: PlaybackStyle | None
    playback_clock: PlaybackClock
    playback_clock_auto: bool = Field(default=False, description="the clock follows the playback style (nobody "
                                                                 "chose it); false: chosen, or kept from before")
    playback_url_template: str | None
    uri_overrides: dict[str, Any] | None


class RecorderIn(In):
    """A DVR/NVR: registered once, each channel becomes a camera ``{code}-K{n}``."""

    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=180)
    area_id: int
    kind: CameraKind = Field(default=CameraKind.onvif, description="onvif (channels = video sources) or rtsp")
    host: str = Field(default="", max_length=255)
    onvif_port: int = 80
    rtsp_port: int | None = None
    http_port: int | None = None
    username: str = Field(default="", max_length=120)
    password: str = Field(default="", max_length=200)
    channels: list[int] | None = Field(default=None, description="ONVIF: none = every channel; RTSP: required")
    stream_url_template: str | None = Field(default=None, max_length=500,
                                            description="RTSP recorders: rtsp:// URL with {channel}")
    sub_stream_url_template: str | None = Field(default=None, max_length=500)
    playback_style: PlaybackStyle | None = None
    playback_clock: PlaybackClock | Literal["auto"] | None = Field(default=None, description=CLOCK_RULE)
    donor_id: int | None = None
    security_model_id: int | None = None
    watches: Watches = Watches.other
    note: str | None = None


class ProblemOut(BaseModel):
    code: str
    field: str | None
    message: str


class RecorderOut(BaseModel):
    saved: bool
    cameras: list[CameraDetailOut]
    handshake: dict[str, Any] | None
    warnings: list[str]


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
