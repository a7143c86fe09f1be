"""Health monitoring tables (issue 4).

- ``camera_status_change``: one row per change of a camera's status or reasons (never per probe).
  Reasons are a bit mask (``camera_ops.health.vocabulary.REASON_BIT``): 2 bytes instead of text;
  the status is a 2-byte code (:class:`StatusCode`); the columns are ordered so that PostgreSQL
  pads nothing (44 bytes of heap per row instead of 60), and SQLite keeps the table WITHOUT ROWID
  (revision 0005).
- ``status_rollup_hour``: seconds per status summed over a commune's cameras for one UTC hour
  (a province's chart adds its communes up; hamlet and camera charts come straight from the
  change rows, which keeps rollups at ~20 KB per camera-year instead of ~200 KB per hamlet).
- ``camera_health``: the monitor's memory of one camera (decision state, picture state) and the
  latest probe details and snapshot thumbnail for the UI. One row per camera, updated in place.
- ``problem``: a camera down longer than the alert threshold, until it recovers or a person
  closes it; acknowledged / assigned by people.
- ``alert`` (the in-app list) and ``alert_delivery`` (the durable outbox of webhook and email sends).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.models import Base, CameraStatus, _enum
from storage.types import utcnow

# Stored codes of camera_status_change.status: fixed forever (rows keep them), never reordered.
STATUS_CODE = {
    CameraStatus.online: 0, CameraStatus.degraded: 1, CameraStatus.offline: 2, CameraStatus.unauthorized: 3,
    CameraStatus.maintenance: 4, CameraStatus.unknown: 5,
}
STATUS_BY_CODE = {code: status for status, code in STATUS_CODE.items()}


class StatusCode(TypeDecorator[CameraStatus]):
    """A camera status as a SMALLINT code (2 bytes; a PostgreSQL enum takes 4, SQLite text 6-12)."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: CameraStatus | str | None, dialect: Dialect) -> int | None:
        return None if value is None else STATUS_CODE[CameraStatus(value)]

    def process_result_value(self, value: int | None, dialect: Dialect) -> CameraStatus | None:
        return None if value is None else STATUS_BY_CODE[value]


class CameraStatusChange(Base):
    __tablename__ = "camera_status_change"
    __table_args__ = {"sqlite_with_rowid": False}  # SQLite: rows live in the key's b-tree (half the bytes)

    # (camera, at) is the key: no surrogate id and no second index (bytes per camera-year matter).
    # Column order is storage order: 4 + 2 + 2 + 8 bytes, no alignment padding on PostgreSQL.
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"), primary_key=True)
    status: Mapped[CameraStatus] = mapped_column(StatusCode)
    reasons_mask: Mapped[int] = mapped_column(SmallInteger, default=0)
    at: Mapped[datetime] = mapped_column(primary_key=True)


class StatusRollupHour(Base):
    __tablename__ = "status_rollup_hour"

    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)  # a commune (revision 0004)
    hour: Mapped[datetime] = mapped_column(primary_key=True)  # start of the UTC hour
    cameras: Mapped[int] = mapped_column(Integer)
    online_s: Mapped[int] = mapped_column(Integer, default=0)
    degraded_s: Mapped[int] = mapped_column(Integer, default=0)
    offline_s: Mapped[int] = mapped_column(Integer, default=0)
    unauthorized_s: Mapped[int] = mapped_column(Integer, default=0)
    maintenance_s: Mapped[int] = mapped_column(Integer, default=0)
    unknown_s: Mapped[int] = mapped_column(Integer, default=0)


class MonitorMark(Base):
    """Small named watermarks of the monitor's jobs (last rolled-up hour, last digest date)."""

    __tablename__ = "monitor_mark"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column()


class CameraHealth(Base):
    __tablename__ = "camera_health"

    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"), primary_key=True)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # CameraHealthState.to_dict()
    picture_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # PictureState.to_dict()
    last_probe_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()  # last probe the camera answered
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    clock_offset_s: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(String(300))
    picture_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    picture_problems: Mapped[list[Any] | None] = mapped_column(JSON)
    snapshot_at: Mapped[datetime | None] = mapped_column()
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary)  # small JPEG for the UI
    reference_requested_at: Mapped[datetime | None] = mapped_column()  # a person asked to re-take it
    reference_taken_at: Mapped[datetime | None] = mapped_column()
    maintenance_requested_at: Mapped[datetime | None] = mapped_column()  # when maintenance was switched


class ProblemState(str, enum.Enum):
    open = "open"
    acknowledged = "acknowledged"
    closed = "closed"


class AssigneeKind(str, enum.Enum):
    hamlet_head = "hamlet_head"
    donor = "donor"
    technician = "technician"
    police = "police"


class CloseReason(str, enum.Enum):
    recovered = "recovered"
    manual = "manual"
    maintenance = "maintenance"
    retired = "retired"


class Problem(Base):
    __tablename__ = "problem"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)  # hamlet when opened
    status: Mapped[CameraStatus] = mapped_column(_enum(CameraStatus, "camera_status"))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column()  # when the camera went down (its status_since)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[ProblemState] = mapped_column(_enum(ProblemState, "problem_state"), default=ProblemState.open)
    group_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))  # a hamlet-down alert
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    assignee_kind: Mapped[AssigneeKind | None] = mapped_column(_enum(AssigneeKind, "assignee_kind"))
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    assignee_phone: Mapped[str | None] = mapped_column(String(40))
    assigned_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    close_reason: Mapped[CloseReason | None] = mapped_column(_enum(CloseReason, "close_reason"))

    __table_args__ = (
        # at most one problem per camera that is not closed
        Index("uq_problem_camera_unclosed", "camera_id", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
        Index("ix_problem_camera_started", "camera_id", "started_at"),
    )


class AlertKind(str, enum.Enum):
    camera_down = "camera_down"
    camera_recovered = "camera_recovered"
    camera_worse = "camera_worse"  # an open problem got worse (degraded -> offline, -> unauthorized)
    hamlet_down = "hamlet_down"
    hamlet_recovered = "hamlet_recovered"
    daily_digest = "daily_digest"
    # the whole service, no area (area_id NULL): a custody checkpoint could not be written / is written again
    custody_anchor_failed = "custody_anchor_failed"
    custody_anchor_recovered = "custody_anchor_recovered"


class Alert(Base):
    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, "alert_kind"))
    # hamlet, commune (digest), or none: an alert about the whole service (admins see it)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("camera.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    title_vi: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest_date: Mapped[date | None] = mapped_column(Date)  # local date, daily digests only

    __table_args__ = (
        Index("uq_alert_digest", "area_id", "digest_date", unique=True,
              sqlite_where=text("digest_date IS NOT NULL"), postgresql_where=text("digest_date IS NOT NULL")),
    )


class DeliveryState(str, enum.Enum):
    pending = "pending"
    sent = "sent"


class AlertDelivery(Base):
    """The outbox: one row per (alert, channel, target), retried with backoff until sent."""

    __tablename__ = "alert_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email
    target: Mapped[str] = mapped_column(String(500))
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, "delivery_state"), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_alert_delivery_due", "state", "next_attempt_at"),)
