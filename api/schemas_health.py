"""Bodies of the health, problems, alerts and reports endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas import In, Out
from storage.models_monitoring import AssigneeKind


class Label(BaseModel):
    vi: str
    en: str


class ReasonOut(BaseModel):
    code: str
    label: Label


class AreaCountsOut(BaseModel):
    area_id: int
    code: str
    name: str
    kind: str
    total: int
    counts: dict[str, int]


class CameraProblemOut(BaseModel):
    camera_id: int
    code: str
    name: str
    hamlet_id: int
    hamlet: str
    status: str
    status_label: Label
    reasons: list[ReasonOut]
    since: datetime
    duration_s: float
    problem_id: int | None
    problem_state: str | None
    assignee_name: str | None


class FleetSummaryOut(BaseModel):
    area_id: int | None
    total: int
    counts: dict[str, int]
    children: list[AreaCountsOut]
    problems: list[CameraProblemOut] = Field(description="cameras down now, longest first")


class PictureOut(BaseModel):
    snapshot_at: datetime | None
    problems: list[str]
    metrics: dict[str, Any] | None
    reference_taken_at: datetime | None
    reference_requested_at: datetime | None


class CameraHealthOut(BaseModel):
    camera_id: int
    code: str
    name: str
    lifecycle: str
    status: str
    status_label: Label
    since: datetime
    reasons: list[ReasonOut]
    last_probe_at: datetime | None
    last_seen_at: datetime | None
    rtt_ms: float | None
    clock_offset_s: float | None
    last_error: str | None
    picture: PictureOut
    has_snapshot: bool
    problem_id: int | None


class ChangeOut(BaseModel):
    at: datetime
    status: str
    reasons: list[str]


class HourOut(BaseModel):
    hour: datetime
    seconds: dict[str, float]


class AreaHourOut(BaseModel):
    hour: datetime
    cameras: int
    seconds: dict[str, float]


class AreaHourlyOut(BaseModel):
    area_id: int
    start: datetime
    end: datetime
    source: str = Field(description="'rollups' (communes, provinces: closed hours) or 'changes' (hamlets)")
    rolled_up_until: datetime | None = Field(description="hours from here on are not rolled up yet")
    hourly: list[AreaHourOut]


class HistoryOut(BaseModel):
    camera_id: int
    start: datetime
    end: datetime
    opening: ChangeOut | None = Field(description="the row in force at the window's start")
    changes: list[ChangeOut]
    hourly: list[HourOut]


class UptimeOut(BaseModel):
    start: datetime
    end: datetime
    cameras: int
    seconds: dict[str, float]
    uptime_pct: float | None = Field(description="(online + degraded) / counted; maintenance and unknown excluded")
    useful_pct: float | None = Field(description="online / counted")
    camera_hours_up: float


class MaintenanceIn(In):
    on: bool


class ReferenceOut(BaseModel):
    camera_id: int
    requested_at: datetime
    message: str


class ProblemOut(Out):
    id: int
    camera_id: int
    camera_code: str
    camera_name: str
    hamlet: str
    status: str
    reasons: list[str]
    started_at: datetime
    opened_at: datetime
    state: str
    group_alert_id: int | None
    acknowledged_at: datetime | None
    assignee_kind: str | None
    assignee_name: str | None
    assignee_phone: str | None
    note: str | None
    closed_at: datetime | None
    close_reason: str | None


class NoteIn(In):
    note: str | None = Field(default=None, max_length=2000)


class AssignIn(In):
    assignee_kind: AssigneeKind
    assignee_name: str = Field(min_length=1, max_length=200)
    assignee_phone: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=2000)


class AlertOut(Out):
    id: int
    kind: str
    area_id: int | None  # None: about the whole service (custody checkpoints)
    camera_id: int | None
    created_at: datetime
    title_vi: str
    title_en: str
    payload: dict[str, Any]
