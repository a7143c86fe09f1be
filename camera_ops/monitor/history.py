"""Reading status history: change rows for a window, exact uptime per camera and per group, and
the hourly rollup job that feeds area charts.

A window needs the rows inside it plus, per camera, the status in force at its start (the last
row at or before the start). Uptime arithmetic is :mod:`camera_ops.health.uptime` (pure).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, delete, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from camera_ops.health.uptime import HOUR, StatusChange, UptimeReport, hourly_rollup, uptime
from camera_ops.health.vocabulary import Reason, Status, mask_to_reasons
from storage.models import Camera
from storage.models_monitoring import CameraStatusChange, MonitorMark, StatusRollupHour
from storage.types import utcnow

log = logging.getLogger(__name__)

IN_CHUNK = 500  # camera ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
ROLLUP_MARK = "rollup_hour"
ROLLUP_MAX_HOURS_PER_RUN = 24  # catch up a day at a time after a long stop
ROLLUP_FIRST_LOOKBACK = timedelta(hours=48)  # with no watermark, roll up the last two days


_STATUS = {s.value: s for s in Status}


@dataclass(frozen=True, slots=True)
class CameraHistory:
    before: Status  # status in force at the window's start
    changes: list[StatusChange]  # rows inside the window, in time order


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), IN_CHUNK):
        yield ids[i : i + IN_CHUNK]


def load_histories(session: Session, camera_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, CameraHistory]:
    """Every camera's rows in ``[start, end)`` and its status at ``start`` (``unknown`` if none)."""
    before: dict[int, Status] = {}
    rows: dict[int, list[StatusChange]] = defaultdict(list)
    t = CameraStatusChange
    for chunk in _chunks(list(camera_ids)):
        last = (select(t.camera_id, func.max(t.at).label("at"))
                .where(t.camera_id.in_(chunk), t.at <= start).group_by(t.camera_id).subquery())
        opening = select(t.camera_id, t.status).join(last, and_(t.camera_id == last.c.camera_id, t.at == last.c.at))
        for camera_id, status in session.execute(opening):
            before[camera_id] = Status(status.value)
        status = type_coerce(t.status, String)  # plain strings: no enum round trip per row
        inside = (select(t.camera_id, t.at, status).where(t.camera_id.in_(chunk), t.at > start, t.at < end)
                  .order_by(t.camera_id, t.at))
        for camera_id, at, value in session.execute(inside):
            rows[camera_id].append(StatusChange(at, _STATUS[value]))
    return {cid: CameraHistory(before.get(cid, Status.UNKNOWN), rows.get(cid, [])) for cid in camera_ids}


def uptime_by_camera(
    session: Session, camera_ids: Sequence[int], start: datetime, end: datetime, *, now: datetime | None = None
) -> dict[int, UptimeReport]:
    now = now or utcnow()
    histories = load_histories(session, camera_ids, start, end)
    return {cid: uptime(h.changes, start, end, now=now, before=h.before) for cid, h in histories.items()}


@dataclass(frozen=True, slots=True)
class ChangeRow:
    at: datetime
    status: Status
    reasons: tuple[Reason, ...]


def change_rows(session: Session, camera_id: int, start: datetime, end: datetime) -> tuple[ChangeRow | None, list[ChangeRow]]:
    """The row in force at ``start`` (if any) and the rows inside ``[start, end)``, with reasons."""
    t = CameraStatusChange
    opening = session.execute(select(t.at, t.status, t.reasons_mask).where(t.camera_id == camera_id, t.at <= start)
                              .order_by(t.at.desc()).limit(1)).first()
    inside = session.execute(select(t.at, t.status, t.reasons_mask)
                             .where(t.camera_id == camera_id, t.at > start, t.at < end).order_by(t.at)).all()

    def row(r: tuple) -> ChangeRow:  # type: ignore[type-arg]
        return ChangeRow(r[0], Status(r[1].value), mask_to_reasons(r[2]))

    return (row(opening) if opening else None), [row(r) for r in inside]


# --- hourly rollups per hamlet ---------------------------------------------------------------------

_SECONDS_COLUMN = {s: f"{s.value}_s" for s in Status}


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class RollupJob:
    """Sum every closed UTC hour into ``status_rollup_hour`` rows per hamlet (idempotent)."""

    name = "rollup"

    def __init__(self, session_maker, *, interval_s: float = 300.0) -> None:  # type: ignore[no-untyped-def]
        self._session_maker = session_maker
        self.interval_s = interval_s

    def run_once(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        with self._session_maker() as session, session.begin():
            mark = session.get(MonitorMark, ROLLUP_MARK)
            start = mark.at if mark else floor_hour(now) - ROLLUP_FIRST_LOOKBACK
            end = min(floor_hour(now), start + ROLLUP_MAX_HOURS_PER_RUN * HOUR)
            if end <= start:
                return 0
            written = rollup_hours(session, start, end)
            if mark is None:
                session.add(MonitorMark(name=ROLLUP_MARK, at=end))
            else:
                mark.at = end
            return written


def rollup_hours(session: Session, start: datetime, end: datetime) -> int:
    """(Re)write the rollup rows of every hamlet for the whole hours in ``[start, end)``."""
    cameras = session.execute(select(Camera.id, Camera.area_id).where(Camera.created_at < end)).all()
    histories = load_histories(session, [c.id for c in cameras], start, end)
    totals: dict[tuple[int, datetime], dict[Status, float]] = {}
    counts: dict[tuple[int, datetime], int] = defaultdict(int)
    for camera_id, area_id in cameras:
        history = histories[camera_id]
        for bucket in hourly_rollup(history.changes, start, end, now=end, before=history.before):
            key = (area_id, bucket.hour)
            into = totals.setdefault(key, dict.fromkeys(Status, 0.0))
            counts[key] += 1
            for status, seconds in bucket.seconds.items():
                into[status] += seconds
    session.execute(delete(StatusRollupHour).where(StatusRollupHour.hour >= start, StatusRollupHour.hour < end))
    if totals:
        session.execute(insert(StatusRollupHour), [
            {"area_id": area_id, "hour": hour, "cameras": counts[(area_id, hour)],
             **{_SECONDS_COLUMN[s]: round(v) for s, v in seconds.items()}}
            for (area_id, hour), seconds in totals.items()
        ])
    return len(totals)
