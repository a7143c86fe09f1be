"""The health board's read model: counts per status rolled up commune → hamlet, and the problems
list sorted by how long each has lasted. Two grouped queries and one page of problems, whatever the
fleet size (bench/bench_board.py: 10,000 cameras)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from camera_ops.registry.areas import in_scope
from storage.models import Area, AreaKind, Camera, CameraStatus, Lifecycle

STATUS_ORDER: tuple[CameraStatus, ...] = (
    CameraStatus.online, CameraStatus.degraded, CameraStatus.offline, CameraStatus.unauthorized,
    CameraStatus.maintenance, CameraStatus.unknown,
)
PROBLEM_STATUSES = (CameraStatus.offline, CameraStatus.unauthorized, CameraStatus.degraded)
PROBLEMS_PAGE = 50  # a phone screen's worth of problems; the rest are one tap away


@dataclass
class Rollup:
    area_id: int
    name: str
    code: str
    counts: dict[CameraStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def problems(self) -> int:
        return sum(self.counts.get(s, 0) for s in PROBLEM_STATUSES)

    def add(self, status: CameraStatus, n: int) -> None:
        self.counts[status] = self.counts.get(status, 0) + n


@dataclass
class CommuneRollup(Rollup):
    hamlets: list[Rollup] = field(default_factory=list)


@dataclass(frozen=True)
class ProblemRow:
    camera_id: int
    code: str
    name: str
    hamlet: str
    status: CameraStatus
    since: datetime
    lasted: timedelta
    reasons: tuple[str, ...]
    lifecycle: Lifecycle


@dataclass
class Board:
    totals: Rollup
    communes: list[CommuneRollup]
    problems: list[ProblemRow]
    problems_total: int
    offset: int
    limit: int


def effective_status():  # type: ignore[no-untyped-def]
    """A camera put into maintenance counts as maintenance even before the monitor notices."""
    return case((Camera.lifecycle == Lifecycle.maintenance, CameraStatus.maintenance.value), else_=Camera.status)


def load_board(
    session: Session, *, scope: Sequence[str] | None, now: datetime, offset: int = 0, limit: int = PROBLEMS_PAGE
) -> Board:
    communes, hamlet_parent = _areas(session, scope)
    totals = Rollup(0, "", "")
    status_col = effective_status().label("status")
    counts = select(Camera.area_id, status_col, func.count()).join(Area, Camera.area_id == Area.id).where(
        Camera.lifecycle != Lifecycle.retired)
    if scope is not None:
        counts = counts.where(in_scope(Area.path, scope))
    hamlets: dict[int, Rollup] = {h.area_id: h for c in communes.values() for h in c.hamlets}
    for area_id, status, n in session.execute(counts.group_by(Camera.area_id, status_col)):
        status = CameraStatus(status)
        totals.add(status, n)
        if area_id in hamlets:
            hamlets[area_id].add(status, n)
            communes[hamlet_parent[area_id]].add(status, n)
    problems, problems_total = _problems(session, scope, now, offset, limit)
    ordered = sorted(communes.values(), key=lambda c: (-c.problems, c.name))
    return Board(totals, ordered, problems, problems_total, offset, limit)


def _areas(session: Session, scope: Sequence[str] | None) -> tuple[dict[int, CommuneRollup], dict[int, int]]:
    stmt = select(Area.id, Area.kind, Area.name, Area.code, Area.parent_id).where(
        Area.valid_to.is_(None), Area.kind.in_((AreaKind.commune, AreaKind.hamlet)))
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    communes: dict[int, CommuneRollup] = {}
    hamlet_rows = []
    for area_id, kind, name, code, parent_id in session.execute(stmt.order_by(Area.name)):
        if kind == AreaKind.commune:
            communes[area_id] = CommuneRollup(area_id, name, code)
        else:
            hamlet_rows.append((area_id, name, code, parent_id))
    parent_of: dict[int, int] = {}
    for area_id, name, code, parent_id in hamlet_rows:
        if parent_id in communes:
            communes[parent_id].hamlets.append(Rollup(area_id, name, code))
            parent_of[area_id] = parent_id
    return communes, parent_of


def _problems(
    session: Session, scope: Sequence[str] | None, now: datetime, offset: int, limit: int
) -> tuple[list[ProblemRow], int]:
    stmt = (
        select(Camera.id, Camera.code, Camera.name, Area.name, Camera.status, Camera.status_since,
               Camera.status_reasons, Camera.lifecycle)
        .join(Area, Camera.area_id == Area.id)
        .where(Camera.status.in_(PROBLEM_STATUSES), Camera.lifecycle == Lifecycle.active)
    )
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(Camera.status_since, Camera.code).offset(offset).limit(limit))
    problems = [
        ProblemRow(cid, code, name, hamlet, CameraStatus(status), since, max(now - since, timedelta(0)),
                   tuple(str(r) for r in (reasons or ())), lifecycle)
        for cid, code, name, hamlet, status, since, reasons, lifecycle in rows
    ]
    return problems, total

