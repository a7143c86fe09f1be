"""Request and response bodies of the footage, case and custody endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas import In, Out
from storage.models_evidence import AcquisitionMethod, CaseStatus, ClipStatus


class UserRef(Out):
    id: int
    username: str
    full_name: str


class CaseIn(In):
    number: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    legal_basis: str = Field(min_length=1, max_length=500)
    unit: str | None = Field(default=None, max_length=200)
    officer_id: int | None = None
    member_ids: list[int] = []
    legal_hold: bool = True


class CaseOut(Out):
    id: int
    number: str
    unit: str
    title: str
    legal_basis: str
    officer: UserRef
    members: list[UserRef]
    status: CaseStatus
    legal_hold: bool
    created_at: datetime
    closed_at: datetime | None


class MemberIn(In):
    user_id: int


class HoldIn(In):
    on: bool
    reason: str = Field(min_length=3, max_length=500)


class ClipRequestIn(In):
    camera_ids: list[int] = Field(min_length=1)
    start: datetime
    end: datetime
    purpose: str = Field(min_length=3, max_length=500)
    live: bool = False


class ClipOut(Out):
    id: int
    request_id: int
    case_id: int
    camera_id: int
    start_at: datetime
    end_at: datetime
    method: AcquisitionMethod
    status: ClipStatus
    status_reason: str | None
    camera_start_at: datetime | None
    camera_end_at: datetime | None
    clock_offset_before_s: float | None
    clock_offset_after_s: float | None
    first_frame_at: datetime | None
    last_frame_at: datetime | None
    frame_count: int | None
    codec: str | None
    gaps: list[Any]
    object_key: str | None
    version_id: str | None
    manifest_key: str | None
    size_bytes: int | None
    sha256: str | None
    sha512: str | None
    verified_at: datetime | None
    retention_until: datetime | None
    legal_hold: bool
    archived_at: datetime | None


class ClipRequestOut(Out):
    id: int
    case_id: int
    status: str
    purpose: str
    start_at: datetime
    end_at: datetime
    live: bool
    created_at: datetime
    clips: list[ClipOut]


class LinkIn(In):
    purpose: str = Field(min_length=3, max_length=500)


class LinkOut(Out):
    url: str
    expires_at: datetime


class ClipCheckOut(Out):
    clip_id: int
    ok: bool
    problem: str | None


class LedgerReportOut(Out):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    head_seq: int | None
    checkpoint_seq: int | None
    checkpoints: int = 0
    unanchored: int = 0
    warning: str | None = None
    clips: list[ClipCheckOut] | None = None


class PublicKeyOut(Out):
    key_id: str
    fingerprint: str
    public_key_pem: str
    current: bool


class AnchorHealthOut(Out):
    ok: bool
    last_at: datetime | None
    last_seq: int | None
    last_error: str | None
    last_error_at: datetime | None
    lease_owner: str | None
    problem: str | None
    failing_since: datetime | None = None
    failures: int = 0


class CustodyEventOut(Out):
    seq: int
    event_type: str
    actor: str
    role: str
    case: int | None
    clip: int | None
    purpose: str | None
    client_address: str | None
    at: datetime
    details: dict[str, Any] | None
    prev_hash: str
    hash: str


class ViewingOut(Out):
    id: str
    clip_id: int
    user_id: int
    event_seq: int
    started_at: datetime
    last_at: datetime
    requests: int
    ranges: list[list[int]]
    closed_seq: int | None  # the viewing_ended event that chained the ranges; None while the viewing goes on
