"""Reports: coverage of an area over a review period, as JSON, CSV or XLSX."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Scope, SessionDep, SettingsDep, require
from camera_ops.access import Action
from camera_ops.reports.coverage import coverage_report
from camera_ops.reports.export import to_csv, to_json, to_xlsx
from camera_ops.reports.periods import period as make_period
from storage.models import User

router = APIRouter(prefix="/reports", tags=["reports"])
ReportReader = Annotated[User, Depends(require(Action.read_reports))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/coverage", summary="Coverage report for a period (month, quarter, half, year) and an area",
            responses={200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}}})
def coverage(
    session: SessionDep, settings: SettingsDep, _: ReportReader, scope: Scope,
    area_id: int, year: int,
    period: Annotated[Literal["month", "quarter", "half", "year"], Query()] = "month",
    index: Annotated[int, Query(description="month 1-12, quarter 1-4, half 1-2")] = 1,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",  # noqa: A002 — the query name users type
) -> Response:
    chosen = make_period(period, year, index, tz=settings.timezone)
    report = coverage_report(session, area_id=area_id, period=chosen, scope=scope, tz=settings.timezone)
    name = f"do-phu-camera-{report.area_code}-{chosen.kind}-{chosen.year}-{chosen.index}"
    if format == "csv":
        return Response(to_csv(report, settings.timezone, decimal_comma=settings.csv_decimal_comma),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(to_xlsx(report, settings.timezone), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(json.dumps(to_json(report, settings.timezone), ensure_ascii=False), media_type="application/json")
