"""Reading status history: change rows for a window, exact uptime per camera and per group, and
the hourly rollup job that feeds area charts.

Rollups are kept per *commune* and hour (the unit the commune police run; provinces sum their
communes). Per hamlet they cost ~200 KB per camera-year on disk — more than the change rows of a
camera that changes status five times a day — and a hamlet's chart is cheap to compute from the
change rows of its few cameras (:func:`area_hourly`).

A window needs the rows inside it plus, per camera, the status in force at its start (the last
row at or before the start). Uptime arithmetic is :mod:`camera_ops.health.uptime` (pure).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import SmallInteger, delete, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from camera_ops.health.uptime import (
    HOUR,
    StatusChange,
    UptimeReport,
    hourly_rollup,
    uptime,
)
from camera_ops.health.vocabulary import Reason, Status, mask_to_reasons
from storage.models import Area, AreaKind, Camera
from storage.models_monitoring import (
    STATUS_BY_CODE,
    CameraStatusChange,
    MonitorMark,
    StatusRollupHour,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

IN_CHUNK = 500  # camera ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
ROLLUP_MARK = "rollup_hour"
ROLLUP_MAX_HOURS_PER_RUN = 24  # catch up a day at a time after a long stop
ROLLUP_FIRST_LOOKBACK = timedelta(hours=48)  # with no watermark, roll up the last two days


_STATUS = {code: Status(status.value) for code, status in STATUS_BY_CODE.items()}  # stored code -> Status


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
        # the last row at or before start, per camera: one backward step on the (camera_id, at) key
        # each (a MAX(at) ... GROUP BY scanned every older row: minutes per rollup after years)
        last = (select(t.status).where(t.camera_id == Camera.id, t.at <= start)
                .order_by(t.at.desc()).limit(1).correlate(Camera).scalar_subquery())
        opening = select(Camera.id, type_coerce(last, SmallInteger)).where(Camera.id.in_(chunk))
        for camera_id, code in session.execute(opening):
            if code is not None:
                before[camera_id] = _STATUS[code]
        code = type_coerce(t.status, SmallInteger)  # plain codes: no type round trip per row
        inside = (select(t.camera_id, t.at, code).where(t.camera_id.in_(chunk), t.at > start, t.at < end)
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


# --- hourly rollups per commune --------------------------------------------------------------------

_SECONDS_COLUMN = {s: f"{s.value}_s" for s in Status}


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class RollupJob:
    """Sum every closed UTC hour into ``status_rollup_hour`` rows per commune (idempotent)."""

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


def commune_of_areas(session: Session) -> dict[int, int]:
    """Area id → the commune it lies in (a commune or province maps to itself)."""
    areas = {a.id: (a.kind, a.parent_id) for a in session.execute(select(Area.id, Area.kind, Area.parent_id))}

    def commune(area_id: int) -> int:
        kind, parent = areas[area_id]
        while kind is AreaKind.hamlet and parent is not None:
            area_id = parent
            kind, parent = areas[area_id]
        return area_id

    return {area_id: commune(area_id) for area_id in areas}


def rebuild_rollups(session_maker, since: datetime, *, now: datetime | None = None) -> int:  # type: ignore[no-untyped-def]
    """Recompute the hourly rollups from ``since`` (the change rows are the truth; rollups are
    derived) up to the last closed hour, a day per transaction; returns the rows written."""
    now = now or utcnow()
    with session_maker() as session, session.begin():
        mark = session.get(MonitorMark, ROLLUP_MARK)
        if mark is None:
            session.add(MonitorMark(name=ROLLUP_MARK, at=floor_hour(since)))
        else:
            mark.at = floor_hour(since)
    job, written = RollupJob(session_maker), 0
    while True:
        with session_maker() as session:
            mark_at = session.get(MonitorMark, ROLLUP_MARK).at  # type: ignore[union-attr]
        if mark_at >= floor_hour(now):
            return written
        written += job.run_once(now=now)


def _sum_hours(
    groups: Iterable[tuple[int, CameraHistory]], start: datetime, end: datetime, *, now: datetime
) -> tuple[dict[tuple[int, datetime], dict[Status, float]], dict[tuple[int, datetime], int]]:
    """Seconds per status and cameras counted, per (group, UTC hour), summed over the cameras'
    histories (each given with the group it is counted in)."""
    totals: dict[tuple[int, datetime], dict[Status, float]] = {}
    counts: dict[tuple[int, datetime], int] = defaultdict(int)
    for group, history in groups:
        for bucket in hourly_rollup(history.changes, start, end, now=now, before=history.before):
            key = (group, bucket.hour)
            into = totals.setdefault(key, dict.fromkeys(Status, 0.0))
            counts[key] += 1
            for status, seconds in bucket.seconds.items():
                into[status] += seconds
    return totals, counts


def rollup_hours(session: Session, start: datetime, end: datetime) -> int:
    """(Re)write the rollup rows of every commune for the whole hours in ``[start, end)``."""
    cameras = session.execute(select(Camera.id, Camera.area_id).where(Camera.created_at < end)).all()
    histories = load_histories(session, [c.id for c in cameras], start, end)
    commune_of = commune_of_areas(session)
    totals, counts = _sum_hours(((commune_of[area_id], histories[camera_id]) for camera_id, area_id in cameras),
                                start, end, now=end)
    session.execute(delete(StatusRollupHour).where(StatusRollupHour.hour >= start, StatusRollupHour.hour < end))
    if totals:
        session.execute(insert(StatusRollupHour), [
            {"area_id": area_id, "hour": hour, "cameras": counts[(area_id, hour)],
             **{_SECONDS_COLUMN[s]: round(v) for s, v in seconds.items()}}
            for (area_id, hour), seconds in totals.items()
        ])
    return len(totals)


@dataclass(frozen=True, slots=True)
class AreaHour:
    hour: datetime
    cameras: int  # cameras counted in this hour
    seconds: dict[Status, float]


def rolled_up_until(session: Session) -> datetime | None:
    mark = session.get(MonitorMark, ROLLUP_MARK)
    return mark.at if mark else None


def area_hourly(session: Session, area: Area, start: datetime, end: datetime) -> list[AreaHour]:
    """Seconds per status for each whole UTC hour of ``[start, end)`` over an area's cameras (the
    caller has checked the area is the user's to see).

    A commune or province is read from the rollups (closed hours only: see :func:`rolled_up_until`);
    a hamlet (a leaf of the area tree) is computed from the change rows of its cameras."""
    first = floor_hour(start)
    if area.kind is AreaKind.hamlet:
        camera_ids = list(session.scalars(select(Camera.id).where(Camera.area_id == area.id)))
        histories = load_histories(session, camera_ids, first, end)
        totals, counts = _sum_hours(((area.id, h) for h in histories.values()), first, end, now=min(end, utcnow()))
        return [AreaHour(key[1], counts[key], totals[key]) for key in sorted(totals)]
    units = select(Area.id).where(Area.path.like(f"{area.path}%"), Area.kind != AreaKind.hamlet)
    r = StatusRollupHour
    rows = session.execute(
        select(r.hour, func.sum(r.cameras), *(func.sum(getattr(r, _SECONDS_COLUMN[s])) for s in Status))
        .where(r.area_id.in_(units), r.hour >= first, r.hour < end).group_by(r.hour).order_by(r.hour))
    return [AreaHour(hour, int(cameras), {s: float(v or 0) for s, v in zip(Status, values, strict=True)})
            for hour, cameras, *values in rows]
