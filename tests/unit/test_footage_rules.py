"""Pure rules of the footage module: windows, backoff, byte ranges, request status."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from camera_ops.errors import ValidationFailed
from camera_ops.footage.jobs import backoff_s
from camera_ops.footage.requests import Window, check_window, request_status
from camera_ops.footage.retrieval import RangeNotSatisfiable, parse_range
from storage.models_evidence import Clip, ClipStatus

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=timezone.utc)
M = timedelta(minutes=1)


def check(start, end, live=False):
    check_window(Window(start, end), now=NOW, live=live, max_minutes=120, keeps_hours=24)


@pytest.mark.parametrize("start,end,live,field", [
    (NOW - 30 * M, NOW - 10 * M, False, None),
    (NOW - 122 * M, NOW - M, False, "end"),  # too long (121 min)
    (NOW - 10 * M, NOW + M, False, "end"),  # future end, not live
    (NOW - 10 * M, NOW - 10 * M, False, "end"),  # empty
    (NOW - 25 * 60 * M, NOW - 24 * 60 * M - M, False, "start"),  # older than the card keeps
    (NOW, NOW + 30 * M, True, None),  # live from now
    (NOW + 60 * M, NOW + 90 * M, True, None),  # live, booked ahead
    (NOW - 10 * M, NOW + 10 * M, True, "start"),  # live cannot reach back
    (NOW - 20 * M, NOW - 10 * M, True, "end"),  # live in the past
    (NOW + 25 * 60 * M, NOW + 25 * 60 * M + M, True, "start"),  # too far ahead
])
def test_window_rules(start, end, live, field):
    if field is None:
        check(start, end, live)
    else:
        with pytest.raises(ValidationFailed) as caught:
            check(start, end, live)
        assert caught.value.field == field


def test_naive_times_are_refused():
    with pytest.raises(ValidationFailed):
        check(datetime(2026, 11, 21, 14, 0), NOW)


def test_backoff_doubles_and_is_capped():
    assert [backoff_s(n, base_s=30, cap_s=200) for n in (1, 2, 3, 4)] == [30, 60, 120, 200]


@pytest.mark.parametrize("header,expected", [
    (None, (0, 999, False)), ("bytes=0-99", (0, 99, True)), ("bytes=900-", (900, 999, True)),
    ("bytes=-100", (900, 999, True)), ("bytes=990-5000", (990, 999, True)), ("bytes=0-1,5-6", (0, 999, False)),
    ("items=0-1", (0, 999, False)),
])
def test_byte_ranges(header, expected):
    span = parse_range(header, 1000)
    assert (span.start, span.end, span.partial) == expected


def test_range_past_the_end_is_416():
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=1000-", 1000)


def test_request_status_waits_for_every_clip_then_summarises():
    def clips(*statuses):
        return [Clip(status=s) for s in statuses]

    assert request_status(clips(ClipStatus.archived, ClipStatus.acquiring)) == "acquiring"
    assert request_status(clips(ClipStatus.archived, ClipStatus.archived)) == "archived"
    assert request_status(clips(ClipStatus.archived, ClipStatus.failed)) == "partial"
    assert request_status(clips(ClipStatus.failed)) == "failed"


@pytest.mark.parametrize(("ranges", "merged"), [
    ([], []),
    ([[0, 99]], [[0, 99]]),
    ([[100, 199], [0, 99]], [[0, 199]]),  # touching
    ([[0, 99], [50, 150], [1000, 1999]], [[0, 150], [1000, 1999]]),  # overlapping, and a seek away
    ([[5, 5], [5, 5]], [[5, 5]]),
])
def test_viewing_byte_ranges_are_merged(ranges, merged):
    from camera_ops.footage.viewings import merge_ranges

    assert merge_ranges(ranges) == merged
