"""Review periods are Vietnam-time calendar periods, stored and queried as UTC windows."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from camera_ops.errors import ValidationFailed
from camera_ops.reports.periods import period


def test_a_month_starts_at_local_midnight_which_is_17h_utc_the_day_before():
    p = period("month", 2026, 11)
    assert p.start == datetime(2026, 10, 31, 17, tzinfo=timezone.utc)
    assert p.end == datetime(2026, 11, 30, 17, tzinfo=timezone.utc)
    assert p.label_vi == "Tháng 11/2026"


def test_quarter_half_and_year_windows():
    assert period("quarter", 2026, 4).end == datetime(2026, 12, 31, 17, tzinfo=timezone.utc)
    half = period("half", 2026, 1)
    assert (half.start.month, half.end.month, half.label_vi) == (12, 6, "6 tháng đầu năm 2026")
    year = period("year", 2026, 7)  # index ignored for a year
    assert (year.end - year.start).days == 365


@pytest.mark.parametrize("kind,index", [("month", 13), ("quarter", 0), ("half", 3), ("week", 1)])
def test_bad_periods_are_refused_with_the_field_to_fix(kind, index):
    with pytest.raises(ValidationFailed):
        period(kind, 2026, index)
