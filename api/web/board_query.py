"""The health board's read model: counts per status by commune (collapsed; the hamlets of the
commune tapped open), and the problems list sorted by how long each has lasted. The counts are read
from the per-area counts the database keeps current, so the page costs the same at 100,000 cameras
as at 1,000 (bench/bench_board.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from camera_ops.monitor.counts import area_counts, covering_areas, without_retired
from camera_ops.registry.areas import in_scope
from storage.models import Area, AreaKind, Camera, CameraStatus, Lifecycle

STATUS_ORDER: tuple[CameraStatus, ...] = (
    CameraStatus.online, CameraStatus.degraded, CameraStatus.offline, CameraStatus.unauthorized,
    CameraStatus.maintenance, CameraStatus.unknown,
)
PROBLEM_STATUSES = (CameraStatus.offline, CameraStatus.unauthorized, CameraStatus.degraded)
PROBLEMS_PAGE = 50  # a phone screen's worth of problems; the rest are one tap away
COMMUNES_PAGE = 50  # a province has ~100 communes; a page of them stays a small page on a phone
EXPAND_ALL_UP_TO = 3  # a district or commune user sees the hamlets at once; a province taps a commune open


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
    communes_offset: int = 0
    communes_total: int = 0
    expanded: set[int] = field(default_factory=set)
    communes_limit: int = COMMUNES_PAGE


def effective_status():  # type: ignore[no-untyped-def]
    """A camera put into maintenance counts as maintenance even before the monitor notices."""
    return case((Camera.lifecycle == Lifecycle.maintenance, CameraStatus.maintenance.value), else_=Camera.status)


def load_board(
    session: Session, *, scope: Sequence[str] | None, now: datetime, offset: int = 0, limit: int = PROBLEMS_PAGE,
    communes_offset: int = 0, expand: int | None = None,
) -> Board:
    """Totals, one page of communes (most problems first) with the hamlets of the expanded ones,
    one page of problems. Counts come from the per-area counts the database keeps (``counts``):
    the cost follows the number of communes shown, not the number of cameras."""
    communes = _communes(session, scope)
    counts = area_counts(session, communes)
    for commune in communes.values():
        _fill(commune, counts.get(commune.area_id, {}))
    ordered = sorted(communes.values(), key=lambda c: (-c.problems, c.name))
    page = ordered[communes_offset:communes_offset + COMMUNES_PAGE]
    opened = [c for c in page if c.area_id == expand or len(ordered) <= EXPAND_ALL_UP_TO]
    _hamlets(session, opened, scope)
    totals = _totals(session, scope)
    problems = _problems(session, scope, now, offset, limit)
    return Board(totals, page, problems, totals.problems, offset, limit, communes_offset, len(ordered),
                 {c.area_id for c in opened})


def _fill(rollup: Rollup, counts: Mapping[str, int]) -> None:
    for key, n in without_retired(Counter(counts)).items():
        rollup.add(CameraStatus(key), n)


def _totals(session: Session, scope: Sequence[str] | None) -> Rollup:
    totals = Rollup(0, "", "")
    for found in area_counts(session, covering_areas(session, scope)).values():
        _fill(totals, found)
    return totals


def _communes(session: Session, scope: Sequence[str] | None) -> dict[int, CommuneRollup]:
    stmt = select(Area.id, Area.name, Area.code).where(Area.valid_to.is_(None), Area.kind == AreaKind.commune)
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    return {area_id: CommuneRollup(area_id, name, code) for area_id, name, code in session.execute(stmt)}


def _hamlets(session: Session, communes: list[CommuneRollup], scope: Sequence[str] | None) -> None:
    if not communes:
        return
    by_id = {c.area_id: c for c in communes}
    stmt = select(Area.id, Area.name, Area.code, Area.parent_id).where(
        Area.valid_to.is_(None), Area.kind == AreaKind.hamlet, Area.parent_id.in_(list(by_id)))
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    rows = list(session.execute(stmt.order_by(Area.name)))
    counts = area_counts(session, [r.id for r in rows])
    for area_id, name, code, parent_id in rows:
        hamlet = Rollup(area_id, name, code)
        _fill(hamlet, counts.get(area_id, {}))
        by_id[parent_id].hamlets.append(hamlet)


def _problems(
    session: Session, scope: Sequence[str] | None, now: datetime, offset: int, limit: int
) -> list[ProblemRow]:
    stmt = (
        select(Camera.id, Camera.code, Camera.name, Area.name, Camera.status, Camera.status_since,
               Camera.status_reasons, Camera.lifecycle)
        .join(Area, Camera.area_id == Area.id)
        .where(Camera.status.in_(PROBLEM_STATUSES), Camera.lifecycle == Lifecycle.active)
    )
    if scope is not None:
        stmt = stmt.where(in_scope(Area.path, scope))
    rows = session.execute(stmt.order_by(Camera.status_since, Camera.id).offset(offset).limit(limit))
    return [
        ProblemRow(cid, code, name, hamlet, CameraStatus(status), since, max(now - since, timedelta(0)),
                   tuple(str(r) for r in (reasons or ())), lifecycle)
        for cid, code, name, hamlet, status, since, reasons, lifecycle in rows
    ]
