"""What the web pages read from health monitoring (issue 4): a camera's status timeline and uptime
over 7 / 30 days, the last snapshot thumbnail, the open problem of each camera.

The monitoring tables arrive with ``storage.models_monitoring``; when that module has no tables yet
``MONITORING`` is False and the pages show "chưa có" instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.health.uptime import UptimeReport, uptime
from camera_ops.health.vocabulary import Status, mask_to_reasons
from storage import models_monitoring as mm

MONITORING = all(hasattr(mm, name) for name in ("CameraStatusChange", "CameraHealth", "Problem"))


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    status: str
    reasons: tuple[str, ...]
    x_pct: float  # left edge within the window, 0–100
    w_pct: float  # width within the window, 0–100


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    segments: list[Segment]
    report: UptimeReport

    @property
    def uptime_pct(self) -> float | None:
        return self.report.uptime_pct

    @property
    def useful_pct(self) -> float | None:
        return self.report.useful_pct


def camera_timeline(session: Session, camera_id: int, *, days: int, now: datetime,
                    registered_at: datetime | None = None) -> Timeline:
    """Status segments over the last ``days`` (for an SVG bar) and the exact uptime of that window.

    The window never starts before the camera was registered: a camera added this morning has a
    morning of history, not a week of "unknown" before it existed."""
    start = window_start(now, days, registered_at)
    table = mm.CameraStatusChange
    before_row = session.execute(
        select(table.status, table.reasons_mask).where(table.camera_id == camera_id, table.at <= start)
        .order_by(table.at.desc()).limit(1)).first()
    rows = session.execute(
        select(table.at, table.status, table.reasons_mask).where(table.camera_id == camera_id, table.at > start)
        .order_by(table.at)).all()
    before = Status(before_row[0].value) if before_row else Status.UNKNOWN
    changes = [(at, Status(status.value)) for at, status, _ in rows]
    report = uptime(changes, start, now, now=now, before=before)
    bounds = [(start, before.value, before_row[1] if before_row else 0)] + [
        (at, status.value, mask) for at, status, mask in rows]
    return Timeline(start, now, list(_segments(bounds, start, now)), report)


def window_start(now: datetime, days: int, registered_at: datetime | None) -> datetime:
    nominal = now - timedelta(days=days)
    if registered_at is None or registered_at <= nominal:
        return nominal
    return min(registered_at, now)


def _segments(bounds: list[tuple[datetime, str, int]], start: datetime, end: datetime) -> Iterable[Segment]:
    span = (end - start).total_seconds()
    for i, (at, status, mask) in enumerate(bounds):
        seg_end = bounds[i + 1][0] if i + 1 < len(bounds) else end
        if seg_end <= at:
            continue
        x = (at - start).total_seconds() / span * 100
        w = (seg_end - at).total_seconds() / span * 100
        yield Segment(at, seg_end, status, tuple(r.value for r in mask_to_reasons(mask)), round(x, 3), round(w, 3))


def thumbnail(session: Session, camera_id: int) -> tuple[bytes, datetime | None] | None:
    row = session.execute(select(mm.CameraHealth.thumbnail, mm.CameraHealth.snapshot_at)
                          .where(mm.CameraHealth.camera_id == camera_id)).first()
    if row is None or not row[0]:
        return None
    return bytes(row[0]), row[1]


def snapshot_times(session: Session, camera_ids: list[int]) -> dict[int, datetime]:
    """When each camera's thumbnail was taken, for those that have one."""
    if not camera_ids:
        return {}
    rows = session.execute(select(mm.CameraHealth.camera_id, mm.CameraHealth.snapshot_at).where(
        mm.CameraHealth.camera_id.in_(camera_ids), mm.CameraHealth.thumbnail.is_not(None)))
    return {cid: at for cid, at in rows if at is not None}


def open_problems(session: Session, camera_ids: list[int]) -> dict[int, object]:
    """The unclosed problem of each camera (at most one per camera)."""
    if not camera_ids:
        return {}
    rows = session.scalars(select(mm.Problem).where(mm.Problem.camera_id.in_(camera_ids),
                                                    mm.Problem.closed_at.is_(None)))
    return {p.camera_id: p for p in rows}
