"""Footage-for-cases tables (issue 5): cases, clip requests, clips, archive jobs, custody ledger.

A clip is one camera's footage for one request. Its archive job is a separate row so the worker's
lease bookkeeping never touches the evidence facts. The custody ledger is append-only: rows are
never updated or deleted by camera-ops; ``custody_head`` is the one row every append locks, so
appends from several processes form one linear chain.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import json

from sqlalchemy import BigInteger, Boolean, Dialect, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.models import Base, BigId, Camera, User, _enum
from storage.types import utcnow


class CaseStatus(str, enum.Enum):
    open = "open"
    closed = "closed"


class Case(Base):
    """A case (vụ án / vụ việc) that footage is taken for."""

    __tablename__ = "evidence_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(String(500))
    officer_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus, "case_status"), default=CaseStatus.open)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    officer: Mapped[User] = relationship(foreign_keys=[officer_id])
    members: Mapped[list[User]] = relationship(secondary="evidence_case_member", order_by="User.id")

    __table_args__ = (UniqueConstraint("unit", "number", name="uq_evidence_case_unit_number"),)


class CaseMember(Base):
    """Officers (besides the one in charge) who may retrieve the case's footage."""

    __tablename__ = "evidence_case_member"

    case_id: Mapped[int] = mapped_column(ForeignKey("evidence_case.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClipRequest(Base):
    """One officer's request: cameras + a true-UTC window + purpose. One clip per camera."""

    __tablename__ = "clip_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("evidence_case.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    purpose: Mapped[str] = mapped_column(String(500))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    live: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    requested_by: Mapped[User] = relationship()
    clips: Mapped[list[Clip]] = relationship(back_populates="request", order_by="Clip.id")


class ClipStatus(str, enum.Enum):
    queued = "queued"
    acquiring = "acquiring"
    verifying = "verifying"
    archived = "archived"
    partial = "partial"  # archived, but the camera's footage has gaps (listed)
    failed = "failed"


FINAL_CLIP_STATUSES = (ClipStatus.archived, ClipStatus.partial, ClipStatus.failed)


class AcquisitionMethod(str, enum.Enum):
    onvif_replay = "onvif_replay"
    vendor_playback = "vendor_playback"
    live = "live"


class Clip(Base):
    __tablename__ = "clip"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("clip_request.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("evidence_case.id"), index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"), index=True)
    start_at: Mapped[datetime] = mapped_column()  # requested window, true UTC
    end_at: Mapped[datetime] = mapped_column()
    method: Mapped[AcquisitionMethod] = mapped_column(_enum(AcquisitionMethod, "acquisition_method"))
    status: Mapped[ClipStatus] = mapped_column(_enum(ClipStatus, "clip_status"), default=ClipStatus.queued)
    status_reason: Mapped[str | None] = mapped_column(Text)  # plain words: why failed / why partial

    # acquisition facts
    camera_start_at: Mapped[datetime | None] = mapped_column()  # the window asked of the camera (its clock)
    camera_end_at: Mapped[datetime | None] = mapped_column()
    clock_offset_before_s: Mapped[float | None] = mapped_column(Float)
    clock_offset_after_s: Mapped[float | None] = mapped_column(Float)
    first_frame_at: Mapped[datetime | None] = mapped_column()  # camera clock, as delivered
    last_frame_at: Mapped[datetime | None] = mapped_column()
    frame_count: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str | None] = mapped_column(String(16))
    gaps: Mapped[list[Any]] = mapped_column(default=list)
    facts: Mapped[dict[str, Any] | None] = mapped_column()
    tool_versions: Mapped[dict[str, Any] | None] = mapped_column()

    # storage and integrity
    object_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    version_id: Mapped[str | None] = mapped_column(String(200))
    manifest_key: Mapped[str | None] = mapped_column(String(300))
    manifest_version_id: Mapped[str | None] = mapped_column(String(200))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    sha512: Mapped[str | None] = mapped_column(String(128))
    verified_at: Mapped[datetime | None] = mapped_column()  # re-hashed from storage
    retention_until: Mapped[datetime | None] = mapped_column()
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column()

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    request: Mapped[ClipRequest] = relationship(back_populates="clips")
    case: Mapped[Case] = relationship()
    camera: Mapped[Camera] = relationship()

    __table_args__ = (UniqueConstraint("request_id", "camera_id", name="uq_clip_request_camera"),)


class JobState(str, enum.Enum):
    queued = "queued"  # waiting (possibly until not_before, after a failed attempt)
    running = "running"  # leased by a worker until lease_until
    done = "done"
    failed = "failed"


class ArchiveJob(Base):
    """The durable job that archives one clip. A worker leases it; an expired lease means the
    worker died and the job may be claimed again."""

    __tablename__ = "archive_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id"), unique=True)
    state: Mapped[JobState] = mapped_column(_enum(JobState, "job_state"), default=JobState.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    clip: Mapped[Clip] = relationship()

    __table_args__ = (Index("ix_archive_job_claim", "state", "not_before"),)


class CanonicalJSON(TypeDecorator[dict[str, Any]]):
    """JSON stored as text in the custody chain's canonical form (keys sorted, no spaces, UTF-8
    kept), so the verifier hashes the stored text as it is instead of decoding and re-encoding."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else json.loads(value)


class CustodyEvent(Base):
    """One custody ledger event. ``case``/``clip``/... are named as the hash chain names them
    (see camera_ops.custody.chain) so a row is hashed as it is."""

    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(40))
    case: Mapped[int | None] = mapped_column("case_id", Integer, index=True)
    clip: Mapped[int | None] = mapped_column("clip_id", Integer, index=True)
    purpose: Mapped[str | None] = mapped_column(String(500))
    client_address: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()
    details: Mapped[dict[str, Any] | None] = mapped_column(CanonicalJSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CustodyHead(Base):
    """The chain head: exactly one row (id 1). Every append moves it from the event's predecessor
    to the event in the event's own transaction, under its row lock (SELECT ... FOR UPDATE, or the
    compare-and-swap UPDATE itself, on PostgreSQL; SQLite writers are serialised by BEGIN
    IMMEDIATE) — see camera_ops.custody.writer."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class CustodyCheckpoint(Base):
    """A chain head written into the locked bucket. The bucket copy is the one that counts; this
    row only says where it is."""

    __tablename__ = "custody_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))
    version_id: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CustodyAnchor(Base):
    """One row: who writes checkpoints now (a lease any long-running process may take) and how the
    last attempt went — the health signal for ``/readyz`` and the monitors ("last checkpoint at",
    "last error"). Not trusted for verification: that reads the store."""

    __tablename__ = "custody_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column()
    last_at: Mapped[datetime | None] = mapped_column()
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()
    failing_since: Mapped[datetime | None] = mapped_column()  # the first failure of the current episode
    failures: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # failed attempts, ever


class ClipViewing(Base):
    """One viewing of a clip in a player: a single ``viewed`` custody event when it starts (before
    its first byte), here every byte range the player asked for while seeking — each recorded
    before it is served — and, when it ends, its ranges chained by a ``viewing_ended`` event
    (``closed_seq``). See :mod:`camera_ops.footage.viewings`."""

    __tablename__ = "clip_viewing"

    event_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # its ``viewed`` event
    id: Mapped[str] = mapped_column(String(64))  # chosen by the player, random; one open viewing per id
    clip_id: Mapped[int] = mapped_column(ForeignKey("clip.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    requests: Mapped[int] = mapped_column(Integer, default=1)
    ranges: Mapped[list[Any]] = mapped_column(default=list)  # merged [first, last] byte ranges served
    closed_seq: Mapped[int | None] = mapped_column(BigInteger)  # the ``viewing_ended`` event holding the ranges

    __table_args__ = (
        Index("uq_clip_viewing_open", "id", unique=True,
              sqlite_where=text("closed_seq IS NULL"), postgresql_where=text("closed_seq IS NULL")),
    )
