"""SQLAlchemy 2 typed models. Times are UTC (``UTCDateTime`` refuses naive datetimes).

Nothing here is ever hard-deleted that carries history: areas are closed (``valid_to``) or merged,
cameras are retired, model dossiers are ended.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native ENUM type) so adding a value is a code change, not a
    # migration that locks the table.
    return Enum(cls, name=name, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e])


# --- areas ---------------------------------------------------------------------------------------


class AreaKind(str, enum.Enum):
    province = "province"
    commune = "commune"
    hamlet = "hamlet"


AREA_PARENT_KIND = {AreaKind.province: None, AreaKind.commune: AreaKind.province, AreaKind.hamlet: AreaKind.commune}


class Area(Base):
    """One administrative unit. ``path`` is the materialised chain of ids ("/1/7/42/") so a
    subtree is one indexed prefix match."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AreaKind] = mapped_column(_enum(AreaKind, "area_kind"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(default=None)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Area | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    names: Mapped[list[AreaName]] = relationship(back_populates="area", order_by="AreaName.valid_from")

    __table_args__ = (
        # An official code names one *current* unit; a closed (merged) unit keeps its code.
        Index(
            "uq_area_code_current",
            "code",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_area_parent_id", "parent_id"),
    )

    @property
    def is_current(self) -> bool:
        return self.valid_to is None


class AreaName(Base):
    """Every name an area has had (rename log), so old names stay findable."""

    __tablename__ = "area_name"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(300))

    area: Mapped[Area] = relationship(back_populates="names")


# --- donors and model dossiers ----------------------------------------------------------------


class DonorKind(str, enum.Enum):
    household = "household"
    business = "business"
    organisation = "organisation"
    person = "person"


class Donor(Base):
    __tablename__ = "donor"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DonorKind] = mapped_column(_enum(DonorKind, "donor_kind"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship()
    __table_args__ = (UniqueConstraint("area_id", "name", name="uq_donor_area_name"),)


class ModelStatus(str, enum.Enum):
    active = "active"
    ended = "ended"


class ReviewVerdict(str, enum.Enum):
    maintain = "maintain"
    replicate = "replicate"
    end = "end"


class ReviewKind(str, enum.Enum):
    interim = "interim"  # sơ kết
    final = "final"  # tổng kết


class SecurityModel(Base):
    """A "Camera an ninh" model (mô hình) of one commune or hamlet: its dossier."""

    __tablename__ = "security_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    decision_number: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    managing_unit: Mapped[str] = mapped_column(String(200))
    status: Mapped[ModelStatus] = mapped_column(_enum(ModelStatus, "model_status"), default=ModelStatus.active)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship()
    members: Mapped[list[ModelMember]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelMember.id"
    )
    reviews: Mapped[list[ModelReview]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelReview.review_date"
    )


class ModelMember(Base):
    """A responsible person of a model (tổ trưởng, trưởng thôn, công an viên…)."""

    __tablename__ = "model_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("security_model.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))

    model: Mapped[SecurityModel] = relationship(back_populates="members")


class ModelReview(Base):
    __tablename__ = "model_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("security_model.id"), index=True)
    review_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[ReviewKind] = mapped_column(_enum(ReviewKind, "review_kind"))
    findings: Mapped[str] = mapped_column(Text)
    verdict: Mapped[ReviewVerdict] = mapped_column(_enum(ReviewVerdict, "review_verdict"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a review generated as a report (báo cáo sơ kết / tổng kết): its period (Vietnam dates, both
    # inclusive), its number ("12/BC-CAX") and the Word file handed in, kept as generated
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    doc_number: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    model: Mapped[SecurityModel] = relationship(back_populates="reviews")


# --- cameras -------------------------------------------------------------------------------------


class Lifecycle(str, enum.Enum):
    active = "active"
    maintenance = "maintenance"
    retired = "retired"


class RegistrationState(str, enum.Enum):
    pending = "pending"  # saved without (a successful) handshake; retry later
    registered = "registered"


class RecordingCapability(str, enum.Enum):
    onvif_replay = "onvif_replay"
    vendor_playback = "vendor_playback"
    none = "none"


class CameraKind(str, enum.Enum):
    onvif = "onvif"  # an ONVIF device (the default): the handshake fills identity and URIs
    rtsp = "rtsp"  # RTSP only (ONVIF off or absent): stream URL(s) and credentials as entered
    recorder_channel = "recorder_channel"  # one channel of a DVR/NVR: the recorder's MAC + channel


class PlaybackStyle(str, enum.Enum):
    """How recorded footage is fetched (``None`` on the camera: chosen from the brand)."""

    onvif_replay = "onvif_replay"
    hikvision = "hikvision"  # /Streaming/tracks/101?starttime=...Z&endtime=...Z
    dahua = "dahua"  # /cam/playback?channel=1&starttime=YYYY_MM_DD_hh_mm_ss (KBVision, Imou, OEMs)
    custom = "custom"  # a template typed by the user with {start} / {end}
    none = "none"  # live capture only


class PlaybackClock(str, enum.Enum):
    """Which clock the {start}/{end} of a playback template are written in."""

    utc = "utc"  # the camera's clock, as UTC
    local = "local"  # the camera's clock, as local time (settings.timezone)


class Watches(str, enum.Enum):
    entrance = "entrance"
    crossroads = "crossroads"
    market = "market"
    school = "school"
    road = "road"
    public_place = "public_place"
    other = "other"


class CameraStatus(str, enum.Enum):
    online = "online"
    degraded = "degraded"
    offline = "offline"
    unauthorized = "unauthorized"
    maintenance = "maintenance"
    unknown = "unknown"


class Camera(Base):
    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # mã camera, the human key
    name: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    security_model_id: Mapped[int | None] = mapped_column(ForeignKey("security_model.id"), index=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donor.id"), index=True)
    donated_on: Mapped[date | None] = mapped_column(Date)

    # install point
    install_point: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    watches: Mapped[Watches] = mapped_column(_enum(Watches, "watches"), default=Watches.other)
    bearing_deg: Mapped[float | None] = mapped_column(Float)

    # how to reach it: the host and ports as entered are the ones used (URIs are rewritten to them)
    kind: Mapped[CameraKind] = mapped_column(_enum(CameraKind, "camera_kind"), default=CameraKind.onvif)
    host: Mapped[str] = mapped_column(String(255))
    onvif_port: Mapped[int] = mapped_column(Integer, default=80)
    rtsp_port: Mapped[int | None] = mapped_column(Integer)  # outside port forwarded to the camera's 554
    http_port: Mapped[int | None] = mapped_column(Integer)  # outside port forwarded to its web/snapshot port
    channel: Mapped[int] = mapped_column(Integer, default=0)  # recorder channel (1..N); 0 = a camera
    uri_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # URIs set by hand; survive handshakes
    username: Mapped[str] = mapped_column(String(120))
    password_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # The camera refused WS-Security digest at registration and accepted only a plain-text
    # password token: the one case its password may travel in clear (shown in the API and UI).
    plaintext_auth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # identity reported by the device (identify by MAC, then serial — never by IP)
    manufacturer: Mapped[str | None] = mapped_column(String(120))
    device_model: Mapped[str | None] = mapped_column(String(120))
    firmware: Mapped[str | None] = mapped_column(String(120))
    serial: Mapped[str | None] = mapped_column(String(120))
    hardware_id: Mapped[str | None] = mapped_column(String(120))
    mac: Mapped[str | None] = mapped_column(String(17))
    profiles: Mapped[list[Any] | None] = mapped_column(JSON)
    main_stream_uri: Mapped[str | None] = mapped_column(String(500))
    sub_stream_uri: Mapped[str | None] = mapped_column(String(500))
    snapshot_uri: Mapped[str | None] = mapped_column(String(500))
    recording: Mapped[RecordingCapability] = mapped_column(
        _enum(RecordingCapability, "recording_capability"), default=RecordingCapability.none
    )
    recording_override: Mapped[RecordingCapability | None] = mapped_column(
        _enum(RecordingCapability, "recording_capability_override")
    )
    replay_uri: Mapped[str | None] = mapped_column(String(500))
    # recording reach (true UTC): oldest and newest footage the camera holds, and when we asked it
    recording_from: Mapped[datetime | None] = mapped_column()
    recording_until: Mapped[datetime | None] = mapped_column()
    recording_checked_at: Mapped[datetime | None] = mapped_column()
    # why the reach is unknown, or why the camera is not recording, as the vendor search found it:
    # {"code": "card_missing" | "no_recordings" | "auth" | "unsupported" | ..., "detail": "..."}
    recording_problem: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    playback_url_template: Mapped[str | None] = mapped_column(String(500))
    playback_style: Mapped[PlaybackStyle | None] = mapped_column(_enum(PlaybackStyle, "playback_style"))
    playback_clock: Mapped[PlaybackClock] = mapped_column(_enum(PlaybackClock, "playback_clock"),
                                                          default=PlaybackClock.utc)
    # nobody chose the clock: it follows the playback style (camera_ops.registry.playback_clock).
    # Deferred: the monitor, clip and list reads never need it; loaded when an edit or a page does
    playback_clock_auto: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), deferred=True)
    clock_offset_s: Mapped[float | None] = mapped_column(Float)

    registration: Mapped[RegistrationState] = mapped_column(
        _enum(RegistrationState, "registration_state"), default=RegistrationState.pending
    )
    handshake_at: Mapped[datetime | None] = mapped_column()
    handshake_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lifecycle: Mapped[Lifecycle] = mapped_column(_enum(Lifecycle, "lifecycle"), default=Lifecycle.active)

    # current health, kept by the monitor (history lives in camera_status_change)
    status: Mapped[CameraStatus] = mapped_column(_enum(CameraStatus, "camera_status"), default=CameraStatus.unknown)
    status_since: Mapped[datetime] = mapped_column(default=utcnow)
    status_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)

    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    area: Mapped[Area] = relationship()
    donor: Mapped[Donor | None] = relationship()
    security_model: Mapped[SecurityModel | None] = relationship()

    __table_args__ = (
        # one device = one MAC; a recorder's channels share its MAC, told apart by channel
        Index("uq_camera_mac_channel", "mac", "channel", unique=True, sqlite_where=text("mac IS NOT NULL"),
              postgresql_where=text("mac IS NOT NULL")),
        Index("ix_camera_serial", "serial"),
        Index("ix_camera_status", "status"),
        Index("ix_camera_status_since", "status_since", "id"),  # the longest-down cameras first
    )

    @property
    def effective_recording(self) -> RecordingCapability:
        return self.recording_override or self.recording


class CameraAreaHistory(Base):
    """Which hamlet a camera belonged to when: moves and merges keep the past answerable."""

    __tablename__ = "camera_area_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(300))


# --- users ---------------------------------------------------------------------------------------


class Role(str, enum.Enum):
    admin = "admin"
    commune_police = "commune_police"
    officer = "officer"
    manager = "manager"
    auditor = "auditor"


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # set by an administrator's password reset: nothing but changing the password until done
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    areas: Mapped[list[Area]] = relationship(secondary="user_area")


class UserArea(Base):
    __tablename__ = "user_area"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)


# big integer ids for the tables that grow with time (history, ledger); declared here so the
# migrations and later modules agree.
BigId = BigInteger().with_variant(Integer(), "sqlite")
