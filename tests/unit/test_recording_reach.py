"""Recording reach rules as table tests: refuse outside the reach, warn near the oldest edge, not recording."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from camera_ops.errors import ValidationFailed
from camera_ops.footage.reach import (
    RecordingReach,
    check_window_reach,
    from_camera_clock,
    not_recording,
    overwrite_warning,
)

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=timezone.utc)  # 12:00 in Vietnam
H, M = timedelta(hours=1), timedelta(minutes=1)
TWO_HOUR_CARD = RecordingReach(earliest=NOW - 2 * H, latest=NOW - 5 * M, checked_at=NOW - 5 * M)


def check(start, end, reach=TWO_HOUR_CARD):
    return check_window_reach(start, end, reach, now=NOW, camera_code="K1", tz="Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("start_ago", "end_ago", "outcome"),
    [
        (3 * H, 2.5 * H, "refused"),  # the case: 3 h back on a 2 h card
        (2 * H, H, "refused"),  # the oldest footage moved on 5 min since the check
        (115 * M, 110 * M, "urgent"),  # at the edge: overwritten in ~0 min
        (75 * M, 70 * M, "urgent"),  # 40 min left
        (50 * M, 40 * M, "fine"),
        (10 * M, 5 * M, "fine"),
    ],
)
def test_window_against_a_two_hour_card(start_ago, end_ago, outcome) -> None:
    if outcome == "refused":
        with pytest.raises(ValidationFailed) as info:
            check(NOW - start_ago, NOW - end_ago)
        assert info.value.field == "start"
        assert "10:05 – 01/12/2026 12:00" in info.value.message  # the reach, in Vietnam time, in the message
        assert info.value.message.startswith("Camera K1 chỉ còn dữ liệu từ")
    else:
        verdict = check(NOW - start_ago, NOW - end_ago)
        assert verdict.urgent is (outcome == "urgent")


def test_near_edge_warning_says_the_minutes_left_in_vietnamese_first() -> None:
    verdict = check(NOW - 75 * M, NOW - 70 * M)  # oldest footage: 115 min back now (5 min since the check)
    assert verdict.overwritten_in == 40 * M
    text = overwrite_warning(verdict.overwritten_in)
    assert text.startswith("Dữ liệu này sẽ bị ghi đè trong khoảng 40 phút") and "about 40 min" in text


def test_a_camera_that_stopped_recording_refuses_windows_after_its_last_footage() -> None:
    stopped = RecordingReach(earliest=NOW - 30 * H, latest=NOW - 6 * H, checked_at=NOW - 10 * M)
    assert not_recording(stopped) and not not_recording(TWO_HOUR_CARD) and not not_recording(None)
    with pytest.raises(ValidationFailed) as info:
        check(NOW - 5 * H, NOW - 4 * H, stopped)
    assert info.value.field == "end" and "ngừng ghi hình lúc 01/12/2026 06:00" in info.value.message
    assert not check(NOW - 8 * H, NOW - 7 * H, stopped).urgent


def test_unknown_reach_leaves_the_general_rule_alone() -> None:
    assert not check(NOW - 30 * H, NOW - 29 * H, None).urgent


def test_camera_clock_times_become_true_utc() -> None:
    cam_earliest, cam_latest = NOW - 2 * H + 600 * timedelta(seconds=1), NOW + 600 * timedelta(seconds=1)
    reach = from_camera_clock(cam_earliest, cam_latest, clock_offset_s=600.0, checked_at=NOW)
    assert (reach.earliest, reach.latest) == (NOW - 2 * H, NOW)
