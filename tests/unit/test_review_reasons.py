"""How long each reason held while a camera was not usable, within a window (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from camera_ops.health.vocabulary import Reason, Status
from camera_ops.monitor.history import ChangeRow
from camera_ops.reports.review import NO_REASON, reason_hours

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
H = timedelta(hours=1)
END = T0 + 100 * H


def row(hours: float, status: Status, *reasons: Reason) -> ChangeRow:
    return ChangeRow(T0 + hours * H, status, tuple(reasons))


@pytest.mark.parametrize(("opening", "rows", "now", "expected"), [
    (None, [], END, {}),  # no history: nothing known, nothing counted
    (row(-5, Status.ONLINE), [], END, {}),
    (row(-5, Status.OFFLINE, Reason.UNREACHABLE), [], END, {"unreachable": 100.0}),  # clipped at the start
    (row(-5, Status.ONLINE), [row(10, Status.OFFLINE, Reason.TIMEOUT), row(30, Status.ONLINE)], END,
     {"timeout": 20.0}),
    (row(-5, Status.ONLINE), [row(90, Status.DEGRADED, Reason.BLACK, Reason.FROZEN)], END,
     {"black": 10.0, "frozen": 10.0}),  # several reasons: the time counts under each
    (row(-5, Status.ONLINE), [row(40, Status.UNAUTHORIZED)], END, {NO_REASON: 60.0}),
    (row(-5, Status.ONLINE), [row(40, Status.OFFLINE, Reason.REFUSED)], T0 + 50 * H, {"refused": 10.0}),  # to now
    (row(-5, Status.MAINTENANCE), [row(20, Status.UNKNOWN)], END, {}),  # planned / unknown: not "down"
])
def test_reason_hours(opening, rows, now, expected):
    assert reason_hours(opening, rows, T0, END, now=now) == pytest.approx(expected)
