"""The alert job's decisions as table tests: when a hamlet outage is one alert, when a problem got worse."""

from __future__ import annotations

import pytest

from camera_ops.alerts.detector import escalated, hamlet_outage
from storage.models import CameraStatus as S


@pytest.mark.parametrize(
    ("down_together", "active", "grouped"),
    [
        (1, 1, False),  # a one-camera hamlet: a camera alert
        (2, 2, True),  # the whole (small) hamlet
        (4, 4, True),
        (3, 4, True),  # most of a hamlet: "3 of 4"
        (2, 4, False),  # half, but two cameras can be two separate faults
        (2, 3, False),
        (3, 6, True),  # three and half
        (3, 7, False),  # three, less than half
        (5, 10, True),
        (4, 10, False),
        (0, 4, False),
    ],
)
def test_hamlet_outage_threshold(down_together: int, active: int, grouped: bool) -> None:
    assert hamlet_outage(down_together, active) is grouped


@pytest.mark.parametrize(
    ("announced", "now", "worse"),
    [
        (S.degraded, S.offline, True),
        (S.degraded, S.unauthorized, True),
        (S.offline, S.unauthorized, True),  # back, but someone changed the password: a new job to do
        (S.unauthorized, S.offline, True),
        (S.offline, S.degraded, False),  # partial recovery: updated quietly
        (S.unauthorized, S.degraded, False),
        (S.offline, S.offline, False),
        (S.degraded, S.degraded, False),
    ],
)
def test_escalation(announced: S, now: S, worse: bool) -> None:
    assert escalated(announced, now) is worse
