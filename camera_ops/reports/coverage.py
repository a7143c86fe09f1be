"""Coverage report of an area over a review period: exact uptime from status history, grouped.

Definitions (each is a column of the report, in Vietnamese and English):

- *registered*: cameras of the area created before the period ends, except those retired before it
  began (a retired camera with no counted time in the period).
- *working* camera: uptime >= ``WORKING_MIN_PCT`` over the period (a camera that worked a few days
  of a quarter does not cover its hamlet).
- *uptime %* = (online + degraded) / counted time; *useful %* = online / counted time;
  maintenance and unknown time are excluded (see :mod:`camera_ops.health.uptime`).
- *camera-hours online*: hours up, summed over cameras.
- *hamlets covered*: hamlets of the area with at least one working camera.
- *install points watched*: distinct install points (or the camera itself when none is given)
  with a working camera.

A camera counts in its current hamlet (a camera moved mid-period is not split).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from camera_ops.health.uptime import DayUptime, UptimeReport, aggregate, daily_uptime
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.history import area_hourly, uptime_by_camera
from camera_ops.registry.areas import get_area
from camera_ops.reports.periods import Period
from storage.models import Area, AreaKind, Camera, Donor, Lifecycle, SecurityModel
from storage.models_evidence import Clip, ClipStatus
from storage.types import utcnow

WORKING_MIN_PCT = 50.0  # a camera up at least half the period counts as covering its place
WORST_CAMERAS = 10
GOOD_PCT = 99.0  # a camera up and usable at least this share of the period is not among the "worst"
SUPPLIED = (ClipStatus.archived, ClipStatus.partial)  # a partial clip is footage supplied too (gaps listed)
NO_DONOR = "(không rõ nhà hảo tâm)"  # one term for donors across the product (GLOSSARY)
NO_MODEL = "(không thuộc mô hình / no model)"


@dataclass(frozen=True, slots=True)
class CameraLine:
    camera_id: int
    code: str
    name: str
    hamlet: str
    install_point: str
    watches: str
    donor: str
    security_model: str
    device_model: str
    status_now: str
    uptime_pct: float | None
    useful_pct: float | None
    hours_up: float
    hours_offline: float
    hamlet_id: int = 0  # hamlets are grouped by identity: two communes may each have a "Thôn A"
    commune: str = ""

    @property
    def working(self) -> bool:
        return self.uptime_pct is not None and self.uptime_pct >= WORKING_MIN_PCT


@dataclass(frozen=True, slots=True)
class GroupLine:
    key: str
    cameras: int
    working: int
    uptime_pct: float | None
    useful_pct: float | None
    camera_hours_up: float


@dataclass
class CoverageReport:
    area_id: int
    area_code: str
    area_name: str
    period: Period
    generated_at: datetime
    cameras_registered: int
    cameras_working: int
    uptime_pct: float | None
    useful_pct: float | None
    camera_hours_up: float
    camera_hours_useful: float
    hamlets_total: int
    hamlets_covered: int
    install_points_total: int
    install_points_watched: int
    clips_supplied: int  # clips archived (whole or with gaps) for cases in the period, from these cameras
    cases_supplied: int  # distinct cases those clips went to (counts only: case details stay with the case)
    by_commune: list[GroupLine] = field(default_factory=list)  # a province report's per-commune breakdown
    by_hamlet: list[GroupLine] = field(default_factory=list)
    by_donor: list[GroupLine] = field(default_factory=list)
    by_security_model: list[GroupLine] = field(default_factory=list)
    by_device_model: list[GroupLine] = field(default_factory=list)
    worst: list[CameraLine] = field(default_factory=list)
    cameras: list[CameraLine] = field(default_factory=list)
    daily: list[DayUptime] = field(default_factory=list)  # uptime per local day (area reports, from rollups)


def coverage_report(session: Session, *, area_id: int, period: Period, scope: Sequence[str] | None,
                    now: datetime | None = None, security_model_id: int | None = None,
                    tz: str = "Asia/Ho_Chi_Minh") -> CoverageReport:
    """The area's report; with ``security_model_id``, only that model's cameras (its review report)."""
    now = now or utcnow()
    area = get_area(session, area_id, scope=scope)
    rows = session.execute(
        select(Camera, Area.name, Donor.name, SecurityModel.name, Area.parent_id)
        .join(Area, Area.id == Camera.area_id)
        .outerjoin(Donor, Donor.id == Camera.donor_id)
        .outerjoin(SecurityModel, SecurityModel.id == Camera.security_model_id)
        .where(Area.path.like(f"{area.path}%"), Camera.created_at < period.end)
        .order_by(Camera.code)).all()
    rows = [r for r in rows if security_model_id is None or r[0].security_model_id == security_model_id]
    reports = uptime_by_camera(session, [r[0].id for r in rows], period.start, period.end, now=now)
    parents = {r[4] for r in rows if r[4] is not None}
    communes = dict(session.execute(select(Area.id, Area.name).where(Area.id.in_(parents))).all()) if parents else {}
    lines = [_line(camera, hamlet, donor, model, reports[camera.id], communes.get(parent, ""))
             for camera, hamlet, donor, model, parent in rows
             if camera.lifecycle != Lifecycle.retired or reports[camera.id].counted_s > 0]
    several = len({x.commune for x in lines}) > 1
    by_id = {line.camera_id: reports[line.camera_id] for line in lines}
    fleet = aggregate(by_id.values())
    hamlets = session.scalars(select(Area.id).where(Area.path.like(f"{area.path}%"), Area.kind == AreaKind.hamlet,
                                                    Area.valid_to.is_(None))).all()
    points = {_point(line) for line in lines}
    clips, cases = _clips_supplied(session, area, period, security_model_id)
    return CoverageReport(
        area_id=area.id, area_code=area.code, area_name=area.name, period=period, generated_at=now,
        cameras_registered=len(lines), cameras_working=sum(line.working for line in lines),
        uptime_pct=fleet.uptime_pct, useful_pct=fleet.useful_pct, camera_hours_up=fleet.camera_hours_up,
        camera_hours_useful=fleet.camera_hours_useful, hamlets_total=len(set(hamlets) | {x.hamlet_id for x in lines}),
        hamlets_covered=len({line.hamlet_id for line in lines if line.working}),
        install_points_total=len(points), install_points_watched=len({_point(x) for x in lines if x.working}),
        clips_supplied=clips, cases_supplied=cases,
        by_commune=_group(lines, by_id, lambda x: x.commune) if several else [],
        by_hamlet=_group(lines, by_id, lambda x: f"{x.hamlet} ({x.commune})" if several else x.hamlet,
                         identity=lambda x: x.hamlet_id),
        by_donor=_group(lines, by_id, lambda x: x.donor),
        by_security_model=_group(lines, by_id, lambda x: x.security_model),
        by_device_model=_group(lines, by_id, lambda x: x.device_model),
        worst=worst_cameras(lines),
        cameras=lines,
        daily=_daily(session, area, period, now, tz) if security_model_id is None else [],
    )


def worst_cameras(lines: Sequence[CameraLine]) -> list[CameraLine]:
    """The genuinely bad cameras (up or usable less than ``GOOD_PCT``), worst first, in the one order
    the page, the print and the exports share: uptime, then usable share, then code."""
    bad = [x for x in lines if x.uptime_pct is not None
           and (x.uptime_pct < GOOD_PCT or (x.useful_pct is not None and x.useful_pct < GOOD_PCT))]
    return sorted(bad, key=lambda x: (x.uptime_pct, x.useful_pct if x.useful_pct is not None else 0.0, x.code))[
        :WORST_CAMERAS]


def _daily(session: Session, area: Area, period: Period, now: datetime, tz: str) -> list[DayUptime]:
    """Uptime per local day of the period so far, from the area's hourly rollups."""
    end = min(period.end, now)
    if end <= period.start:
        return []
    hours = area_hourly(session, area, period.start, end)
    return daily_uptime(((h.hour, h.seconds) for h in hours), ZoneInfo(tz))


def _clips_supplied(session: Session, area: Area, period: Period, security_model_id: int | None) -> tuple[int, int]:
    """(clips, distinct cases): footage from the area's cameras archived for cases in the period."""
    model = () if security_model_id is None else (Camera.security_model_id == security_model_id,)
    clips, cases = session.execute(
        select(func.count(Clip.id), func.count(distinct(Clip.case_id)))
        .join(Camera, Camera.id == Clip.camera_id).join(Area, Area.id == Camera.area_id)
        .where(Area.path.like(f"{area.path}%"), Clip.status.in_(SUPPLIED),
               Clip.archived_at >= period.start, Clip.archived_at < period.end, *model)).one()
    return int(clips), int(cases)


def _line(camera: Camera, hamlet: str, donor: str | None, model: str | None, report: UptimeReport,
          commune: str = "") -> CameraLine:
    status = Status.MAINTENANCE if camera.lifecycle == Lifecycle.maintenance else Status(camera.status.value)
    return CameraLine(
        camera_id=camera.id, code=camera.code, name=camera.name, hamlet=hamlet,
        install_point=camera.install_point or "", watches=camera.watches.value, donor=donor or NO_DONOR,
        security_model=model or NO_MODEL, device_model=" ".join(filter(None, (camera.manufacturer, camera.device_model))) or "?",
        status_now=status.value if camera.lifecycle != Lifecycle.retired else "retired",
        uptime_pct=report.uptime_pct, useful_pct=report.useful_pct, hours_up=report.up_s / 3600,
        hours_offline=(report.seconds[Status.OFFLINE] + report.seconds[Status.UNAUTHORIZED]) / 3600,
        hamlet_id=camera.area_id, commune=commune,
    )


def _point(line: CameraLine) -> str:
    return f"{line.hamlet}|{line.install_point}" if line.install_point else f"camera|{line.code}"


def _group(lines: list[CameraLine], reports: dict[int, UptimeReport], key: Callable[[CameraLine], str],
           identity: Callable[[CameraLine], object] | None = None) -> list[GroupLine]:
    """Lines grouped by ``identity`` (default: the label ``key``), labelled by ``key``, sorted by label."""
    groups: dict[object, list[CameraLine]] = defaultdict(list)
    for line in lines:
        groups[(identity or key)(line)].append(line)
    out = []
    for members in sorted(groups.values(), key=lambda m: (key(m[0]), m[0].hamlet_id)):
        name = key(members[0])
        fleet = aggregate(reports[m.camera_id] for m in members)
        out.append(GroupLine(name, len(members), sum(m.working for m in members), fleet.uptime_pct,
                             fleet.useful_pct, fleet.camera_hours_up))
    return out
