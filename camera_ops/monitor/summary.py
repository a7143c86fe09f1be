"""Read side of health for the API: fleet summary by area, one camera's health, uptime of groups;
and the two things a person can ask of the monitor: maintenance on/off, re-take the reference.

Everything is scoped by the user's areas (out of scope looks exactly like absent).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from camera_ops.errors import NotFound, ValidationFailed
from camera_ops.health.uptime import FleetUptime, aggregate
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.counts import area_counts, without_retired
from camera_ops.monitor.history import uptime_by_camera
from camera_ops.registry.areas import get_area, in_scope, path_in_scope
from camera_ops.registry.cameras import set_lifecycle
from storage.models import Area, AreaKind, Camera, CameraStatus, Lifecycle, SecurityModel
from storage.models_monitoring import CameraHealth, CloseReason, Problem, ProblemState
from storage.types import utcnow

DOWN = (CameraStatus.offline, CameraStatus.degraded, CameraStatus.unauthorized)
PROBLEM_LIST_LIMIT = 100
MAX_WINDOW_DAYS = 400  # a year and a bit: the longest review period plus slack


@dataclass
class AreaCounts:
    area_id: int
    code: str
    name: str
    kind: str
    counts: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class CameraProblem:
    camera_id: int
    code: str
    name: str
    hamlet_id: int
    hamlet: str
    status: str
    reasons: list[str]
    since: datetime
    duration_s: float
    problem_id: int | None
    problem_state: str | None
    assignee_name: str | None


@dataclass
class FleetSummary:
    area_id: int | None
    counts: Counter[str]
    children: list[AreaCounts]
    problems: list[CameraProblem]


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed("the window must end after it starts", field="end", key="err.window.order")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ValidationFailed(f"the window is longer than {MAX_WINDOW_DAYS} days", field="start",
                               key="err.window.too_many_days", params={"days": MAX_WINDOW_DAYS})


def _subtree(session: Session, scope: Sequence[str] | None, area_id: int | None) -> tuple[Area | None, list]:  # type: ignore[type-arg]
    conditions = [Camera.lifecycle != Lifecycle.retired]
    root = None
    if area_id is not None:
        root = get_area(session, area_id)
        if not path_in_scope(root.path, scope):
            raise NotFound(f"area {area_id} does not exist", field="area_id",
                           key="err.area.missing", params={"id": area_id})
        conditions.append(Area.path.like(f"{root.path}%"))
    if scope is not None:
        conditions.append(in_scope(Area.path, scope))
    return root, conditions


def fleet_summary(session: Session, *, scope: Sequence[str] | None, area_id: int | None = None) -> FleetSummary:
    """Counts per status for the area (or everything in scope) and for each of its child areas,
    plus the cameras down now, longest first.

    The counts are read from the per-area counts the database keeps current (``counts``): a
    province's summary reads its row and its communes' rows, whatever the number of cameras.
    """
    if area_id is None and scope is not None and len(scope) == 1:
        area_id = int(scope[0].strip("/").split("/")[-1])  # a user of one area: that area is the root
    root, conditions = _subtree(session, scope, area_id)
    if root is not None:  # in scope as a whole (_subtree refuses it otherwise)
        children = [] if root.kind == AreaKind.hamlet else list(session.execute(
            select(Area.id, Area.code, Area.name, Area.kind).where(Area.parent_id == root.id)))
        counts = area_counts(session, [root.id, *(c.id for c in children)])
        totals = without_retired(counts.get(root.id, Counter()))
        child_counts = {c.id: without_retired(counts.get(c.id, Counter())) for c in children}
    else:
        totals, child_counts, children = _top_level(session, scope)
    rows = sorted((AreaCounts(c.id, c.code, c.name, c.kind.value, child_counts[c.id])
                   for c in children if child_counts.get(c.id)), key=lambda c: c.code)
    return FleetSummary(root.id if root else None, totals, rows, _down_cameras(session, conditions))


def _top_level(session: Session, scope: Sequence[str] | None) -> tuple[Counter[str], dict[int, Counter[str]], list]:  # type: ignore[type-arg]
    """Everything in scope: children are the provinces; each is counted from the scope's own areas
    (the whole province for an admin)."""
    if scope is None:
        covering = {i: i for i in session.scalars(select(Area.id).where(Area.parent_id.is_(None)))}
    else:
        paths = [p for p in scope if not any(p != q and p.startswith(q) for q in scope)]  # nested: once
        covering = {int(p.strip("/").split("/")[-1]): int(p.strip("/").split("/")[0]) for p in set(paths)}
    counts = area_counts(session, covering)
    totals: Counter[str] = Counter()
    per_top: dict[int, Counter[str]] = defaultdict(Counter)
    for area, top in covering.items():
        found = without_retired(counts.get(area, Counter()))
        totals.update(found)
        per_top[top].update(found)
    children = list(session.execute(select(Area.id, Area.code, Area.name, Area.kind)
                                    .where(Area.id.in_(list(per_top))))) if per_top else []
    return totals, per_top, children


def _down_cameras(session: Session, conditions: list) -> list[CameraProblem]:  # type: ignore[type-arg]
    now = utcnow()
    stmt = (select(Camera.id, Camera.code, Camera.name, Camera.area_id, Area.name.label("hamlet"), Camera.status,
                   Camera.status_reasons, Camera.status_since, Problem.id.label("pid"), Problem.state.label("pstate"),
                   Problem.assignee_name)
            .join(Area, Area.id == Camera.area_id)
            .outerjoin(Problem, and_(Problem.camera_id == Camera.id, Problem.closed_at.is_(None)))
            .where(*conditions, Camera.lifecycle == Lifecycle.active, Camera.status.in_(DOWN))
            .order_by(Camera.status_since, Camera.id).limit(PROBLEM_LIST_LIMIT))
    return [CameraProblem(r.id, r.code, r.name, r.area_id, r.hamlet, r.status.value, list(r.status_reasons or ()),
                          r.status_since, (now - r.status_since).total_seconds(), r.pid,
                          r.pstate.value if r.pstate else None, r.assignee_name)
            for r in session.execute(stmt)]


def health_row(session: Session, camera_id: int) -> CameraHealth:
    health = session.get(CameraHealth, camera_id)
    if health is None:
        health = CameraHealth(camera_id=camera_id)
        session.add(health)
        session.flush()
    return health


def open_problem(session: Session, camera_id: int) -> Problem | None:
    return session.scalar(select(Problem).where(Problem.camera_id == camera_id, Problem.closed_at.is_(None)))


def switch_maintenance(session: Session, camera: Camera, on: bool) -> Camera:
    """Maintenance on (silenced, excluded from uptime from now) or off; the monitor writes the
    status change dated at this request on its next reload."""
    target = Lifecycle.maintenance if on else Lifecycle.active
    if camera.lifecycle == target:
        return camera
    set_lifecycle(session, camera, target)
    now = utcnow()
    health_row(session, camera.id).maintenance_requested_at = now
    if on:
        session.execute(update(Problem).where(Problem.camera_id == camera.id, Problem.closed_at.is_(None))
                        .values(closed_at=now, close_reason=CloseReason.maintenance, state=ProblemState.closed))
    session.flush()
    return camera


def request_reference(session: Session, camera: Camera) -> datetime:
    if camera.lifecycle == Lifecycle.retired:
        raise ValidationFailed("a retired camera is not monitored", field="camera_id",
                               key="err.camera.retired_unmonitored")
    now = utcnow()
    health_row(session, camera.id).reference_requested_at = now
    session.flush()
    return now


# --- uptime of groups -------------------------------------------------------------------------------


def cameras_of_group(
    session: Session, *, scope: Sequence[str] | None, area_id: int | None = None, security_model_id: int | None = None,
) -> list[int]:
    """Cameras of an area subtree (hamlet, commune, province) or of a security model, in scope.
    Retired cameras are included: their past uptime counts for the past."""
    if area_id is None and security_model_id is None:
        raise ValidationFailed("give an area or a security model", field="area_id", key="err.report.area_or_model")
    stmt = select(Camera.id).join(Area, Area.id == Camera.area_id)
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    if area_id is not None:
        area = get_area(session, area_id, scope=scope)
        stmt = stmt.where(Area.path.like(f"{area.path}%"))
    if security_model_id is not None:
        if session.get(SecurityModel, security_model_id) is None:
            raise NotFound(f"security model {security_model_id} does not exist", field="security_model_id",
                           key="err.model.missing", params={"id": security_model_id})
        stmt = stmt.where(Camera.security_model_id == security_model_id)
    return list(session.scalars(stmt))


def group_uptime(session: Session, camera_ids: Sequence[int], start: datetime, end: datetime) -> FleetUptime:
    check_window(start, end)
    return aggregate(uptime_by_camera(session, camera_ids, start, end).values())


def status_of(camera: Camera) -> Status:
    return Status.MAINTENANCE if camera.lifecycle == Lifecycle.maintenance else Status(camera.status.value)
