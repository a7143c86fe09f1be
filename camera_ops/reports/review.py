"""The review report of a security model (báo cáo sơ kết / tổng kết mô hình "Camera an ninh").

Every figure comes from :func:`camera_ops.reports.coverage.coverage_report` restricted to the
model's cameras (uptime per hamlet and per donor, working cameras, hamlets covered, clips and cases
supplied) — the same numbers the coverage report shows for the same period. What this module adds:

- the period as the user writes it (Vietnam dates, both inclusive) and its checks;
- the cameras that were down or unusable in the period, with the probe's reasons and how long each
  reason held (:func:`reason_hours`, pure);
- the heading data of the administrative form (place, date, number, signer).

The Word file is made by :mod:`camera_ops.reports.review_docx`; the printable page by the web layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from camera_ops.errors import ValidationFailed
from camera_ops.health.uptime import StatusChange, UptimeReport, uptime
from camera_ops.health.vocabulary import Status
from camera_ops.i18n import fmt_date
from camera_ops.monitor.history import ChangeRow, change_rows
from camera_ops.reports.coverage import CameraLine, CoverageReport, coverage_report
from camera_ops.reports.periods import Period, PeriodKind
from storage.models import Area, AreaKind, ReviewKind, ReviewVerdict, SecurityModel
from storage.types import utcnow

NOT_USABLE = (Status.OFFLINE, Status.UNAUTHORIZED, Status.DEGRADED)  # counted time a camera gave no usable picture
NO_REASON = "none"  # a non-usable row stored without a reason (older rows, a manual status)


@dataclass(frozen=True, slots=True)
class DownCamera:
    """A camera that was down or unusable for some of the period (section IV)."""

    code: str
    name: str
    hamlet: str
    status_now: str
    hours_offline: float  # offline + wrong password (no answer usable at all)
    hours_degraded: float  # answered, picture or clock not usable
    reasons: list[tuple[str, float]]  # (reason value, hours it held while not usable), longest first

    @property
    def hours_unusable(self) -> float:
        return self.hours_offline + self.hours_degraded


@dataclass
class ReviewReport:
    model: SecurityModel
    commune: Area  # the commune of the model (the place in "…, ngày … tháng … năm …")
    kind: ReviewKind
    period_from: date
    period_to: date  # inclusive
    period: Period  # the UTC window [from 00:00, to + 1 day 00:00) in Vietnam time
    issued_on: date
    number: str
    verdict: ReviewVerdict | None
    findings: str
    coverage: CoverageReport
    down: list[DownCamera] = field(default_factory=list)

    @property
    def signer(self) -> tuple[str, str]:
        """(title, name) of the first responsible person of the dossier; blanks to fill by hand otherwise."""
        if self.model.members:
            first = self.model.members[0]
            return first.role, first.name
        return "", ""


def review_period(start: date | None, end: date | None, *, today: date, tz: str) -> Period:
    """The period ``[start, end]`` (Vietnam dates) as a UTC window. Names the field to fix."""
    if start is None:
        raise ValidationFailed("give the first day of the period", field="from", key="err.field.required")
    if end is None:
        raise ValidationFailed("give the last day of the period", field="to", key="err.field.required")
    if end < start:
        raise ValidationFailed("the period ends before it starts", field="to", key="err.review.end_before_start",
                               params={"start": fmt_date(start)})
    if end > today:
        raise ValidationFailed("the period ends in the future", field="to", key="err.review.future",
                               params={"today": fmt_date(today)})
    zone = ZoneInfo(tz)
    begin = datetime.combine(start, time(), zone)
    finish = datetime.combine(end + timedelta(days=1), time(), zone)
    label_vi = f"từ ngày {fmt_date(start)} đến ngày {fmt_date(end)}"
    label_en = f"from {fmt_date(start)} to {fmt_date(end)}"
    # a free range of days, not one of the calendar periods: ``kind`` only labels it
    return Period(cast(PeriodKind, "range"), start.year, 1, begin.astimezone(ZoneInfo("UTC")),
                  finish.astimezone(ZoneInfo("UTC")), label_vi, label_en)


def build_review(
    session: Session, model: SecurityModel, *, kind: ReviewKind, period_from: date, period_to: date, tz: str,
    number: str = "", verdict: ReviewVerdict | None = None, findings: str = "", issued_on: date | None = None,
    now: datetime | None = None,
) -> ReviewReport:
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(tz)).date()
    window = review_period(period_from, period_to, today=today, tz=tz)
    coverage = coverage_report(session, area_id=model.area_id, period=window, scope=None, now=now,
                               security_model_id=model.id)
    return ReviewReport(
        model=model, commune=_commune(session, model.area), kind=kind, period_from=period_from, period_to=period_to,
        period=window, issued_on=issued_on or today, number=number.strip(), verdict=verdict,
        findings=findings.strip(), coverage=coverage, down=down_cameras(session, coverage.cameras, window, now=now),
    )


def _commune(session: Session, area: Area) -> Area:
    if area.kind == AreaKind.hamlet and area.parent_id is not None:
        parent = session.get(Area, area.parent_id)
        if parent is not None:
            return parent
    return area


def down_cameras(session: Session, lines: Sequence[CameraLine], window: Period, *, now: datetime) -> list[DownCamera]:
    """The cameras with counted time not usable in the window, longest first."""
    out = []
    for line in lines:
        opening, rows = change_rows(session, line.camera_id, window.start, window.end)
        report = _uptime(opening, rows, window, now)
        offline_s = report.seconds[Status.OFFLINE] + report.seconds[Status.UNAUTHORIZED]
        degraded_s = report.seconds[Status.DEGRADED]
        if offline_s + degraded_s <= 0:
            continue
        hours = reason_hours(opening, rows, window.start, window.end, now=now)
        out.append(DownCamera(line.code, line.name, line.hamlet, line.status_now, offline_s / 3600, degraded_s / 3600,
                              sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))))
    return sorted(out, key=lambda d: (-d.hours_unusable, d.code))


def _uptime(opening: ChangeRow | None, rows: Sequence[ChangeRow], window: Period, now: datetime) -> UptimeReport:
    before = opening.status if opening else Status.UNKNOWN
    return uptime([StatusChange(r.at, r.status) for r in rows], window.start, window.end, now=now, before=before)


def reason_hours(opening: ChangeRow | None, rows: Sequence[ChangeRow], start: datetime, end: datetime, *,
                 now: datetime) -> dict[str, float]:
    """Hours each reason held while the camera was not usable (offline, wrong password, degraded),
    within ``[start, min(end, now))``. A row with several reasons counts its time under each; one
    without a reason under ``NO_REASON``. Pure."""
    stop = min(end, now)
    held: dict[str, timedelta] = defaultdict(timedelta)
    current = opening
    cursor = start
    for row in [*rows, None]:
        until = min(row.at, stop) if row is not None else stop
        if current is not None and current.status in NOT_USABLE and until > cursor:
            for reason in current.reasons or (NO_REASON,):
                held[str(reason)] += until - cursor
        if row is None or row.at >= stop:
            break
        current, cursor = row, max(row.at, start)
    return {reason: span.total_seconds() / 3600 for reason, span in held.items()}
