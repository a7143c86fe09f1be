"""Coverage and uptime reports by period (month, quarter, 6-month review, year) and area, per
hamlet, donor, model dossier and device model, with inline SVG charts; XLSX/CSV export through the
reports API; a printable view for the review meeting."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.web import integrations
from api.web.context import Page, WebPage
from camera_ops.access import Action
from camera_ops.errors import CameraOpsError
from camera_ops.health.uptime import DayUptime, daily_uptime
from camera_ops.i18n import local_time
from camera_ops.monitor.history import area_hourly
from camera_ops.registry.areas import get_area, list_areas, path_in_scope
from storage.models import Area, AreaKind
from storage.types import utcnow

router = APIRouter()
PERIODS = ("month", "quarter", "half", "year")
MAX_AREAS = 2000


def _areas(session: Session, page: WebPage) -> list[Area]:
    """Provinces and communes the user may report on (admins: all; others: their own)."""
    rows, _ = list_areas(session, scope=page.scope, limit=MAX_AREAS)
    return [a for a in rows if a.kind in (AreaKind.province, AreaKind.commune) and path_in_scope(a.path, page.scope)]


def _daily(session: Session, page: WebPage, area_id: int, start: datetime, end: datetime) -> list[DayUptime]:
    """Uptime per local day of the period so far (communes and provinces from the hourly rollups)."""
    end = min(end, utcnow())
    if end <= start:
        return []
    hours = area_hourly(session, get_area(session, area_id, scope=page.scope), start, end)
    return daily_uptime(((h.hour, h.seconds) for h in hours), ZoneInfo(page.settings.timezone))


@router.get("/reports", response_class=HTMLResponse)
def reports(
    page: Page, session: SessionDep, area_id: int | None = None, period: str = "month",
    year: Annotated[int | None, Query()] = None, index: Annotated[int | None, Query()] = None,
    print: bool = False,  # noqa: A002 - the query name in the printable link
) -> Response:
    page.require(Action.read_reports)
    module = integrations.reports()
    if module is None:
        return page.render("pending.html", title_key="reports.title", module_key="reports.module")
    from camera_ops.reports.coverage import coverage_report
    from camera_ops.reports.periods import period as make_period

    areas = _areas(session, page)
    today = local_time(utcnow(), page.settings.timezone)
    period = period if period in PERIODS else "month"
    year = year or today.year
    index = index or {"month": today.month, "quarter": (today.month - 1) // 3 + 1,
                      "half": 1 if today.month <= 6 else 2, "year": 1}[period]
    chosen = area_id if area_id is not None else (next((a.id for a in areas if a.kind == AreaKind.commune),
                                                       areas[0].id if areas else None))
    report, error, days = None, None, []
    if chosen is not None:
        try:
            chosen_period = make_period(period, year, index, tz=page.settings.timezone)
            report = coverage_report(session, area_id=chosen, period=chosen_period, scope=page.scope,
                                     tz=page.settings.timezone)
            days = _daily(session, page, chosen, chosen_period.start, chosen_period.end)
        except CameraOpsError as exc:
            error = exc
    query: dict[str, Any] = {"area_id": chosen, "period": period, "year": year, "index": index}
    return page.render("reports.html", areas=areas, report=report, days=days, error=error, query=query, periods=PERIODS,
                       printable=print, export=lambda fmt: "/api/v1/reports/coverage?" + "&".join(
                           f"{k}={v}" for k, v in {**query, "format": fmt}.items()))
