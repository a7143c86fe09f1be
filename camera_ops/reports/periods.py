"""Review periods in Vietnam time, turned into UTC windows. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal
from zoneinfo import ZoneInfo

from camera_ops.errors import ValidationFailed

PeriodKind = Literal["month", "quarter", "half", "year"]
MONTHS_PER = {"month": 1, "quarter": 3, "half": 6, "year": 12}
INDEX_MAX = {"month": 12, "quarter": 4, "half": 2, "year": 1}


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    year: int
    index: int  # month 1-12, quarter 1-4, half 1-2, 1 for a year
    start: datetime  # UTC
    end: datetime  # UTC, exclusive
    label_vi: str
    label_en: str


def period(kind: str, year: int, index: int = 1, *, tz: str = "Asia/Ho_Chi_Minh") -> Period:
    if kind not in MONTHS_PER:
        raise ValidationFailed("period is month, quarter, half or year", field="period", key="err.report.period")
    index = 1 if kind == "year" else index
    if not 1 <= index <= INDEX_MAX[kind]:
        raise ValidationFailed(f"a {kind} index runs 1-{INDEX_MAX[kind]}", field="index",
                               key=f"err.report.index_{kind}",
                               params={"max": INDEX_MAX[kind]})
    if not 2000 <= year <= 2100:
        raise ValidationFailed("year out of range", field="year",
                               key="err.report.year", params={"low": 2000, "high": 2100})
    months = MONTHS_PER[kind]
    first_month = (index - 1) * months + 1
    zone = ZoneInfo(tz)
    start = datetime(year, first_month, 1, tzinfo=zone)
    end_month = first_month + months
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=zone)
    vi, en = _labels(kind, year, index)
    return Period(kind, year, index, start.astimezone(timezone.utc), end.astimezone(timezone.utc), vi, en)  # type: ignore[arg-type]


def _labels(kind: str, year: int, index: int) -> tuple[str, str]:
    if kind == "month":
        return f"Tháng {index}/{year}", f"{datetime(year, index, 1):%B} {year}"
    if kind == "quarter":
        return f"Quý {index}/{year}", f"Q{index} {year}"
    if kind == "half":
        return (f"6 tháng {'đầu' if index == 1 else 'cuối'} năm {year}",
                f"{'First' if index == 1 else 'Second'} half of {year}")
    return f"Năm {year}", f"Year {year}"
