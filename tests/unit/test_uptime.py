"""Uptime from status-change rows, exact to the second on constructed histories."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from camera_ops.health.uptime import (
    StatusChange,
    StatusTimeline,
    aggregate,
    aggregate_by,
    hourly_rollup,
    sum_rollups,
    uptime,
)
from camera_ops.health.vocabulary import Status

S = Status
T = datetime(2026, 11, 1, tzinfo=UTC)  # registration: the first row
NOW = T + timedelta(days=1)


def at(hours: float = 0, *, seconds: int = 0) -> datetime:
    return T + timedelta(hours=hours, seconds=seconds)


HISTORY = [
    StatusChange(at(0), S.ONLINE),
    StatusChange(at(2), S.OFFLINE),
    StatusChange(at(2.5), S.ONLINE),
    StatusChange(at(5), S.DEGRADED),
    StatusChange(at(6), S.MAINTENANCE),
    StatusChange(at(8), S.ONLINE),
    StatusChange(at(10), S.UNAUTHORIZED),
    StatusChange(at(10.25), S.ONLINE),
]

# name, start, end, now, expected non-zero seconds per status, uptime %, useful %
CASES: list[tuple[str, datetime, datetime, datetime, dict[Status, float], float | None, float | None]] = [
    (
        "the whole first day",
        at(0),
        at(24),
        NOW,
        {S.ONLINE: 72_900, S.OFFLINE: 1_800, S.DEGRADED: 3_600, S.MAINTENANCE: 7_200, S.UNAUTHORIZED: 900},
        100 * 76_500 / 79_200,
        100 * 72_900 / 79_200,
    ),
    ("window before the first row is unknown", at(-2), at(0), NOW, {S.UNKNOWN: 7_200}, None, None),
    ("window across registration", at(-1), at(1), NOW, {S.UNKNOWN: 3_600, S.ONLINE: 3_600}, 100.0, 100.0),
    ("window exactly on two changes", at(2), at(2.5), NOW, {S.OFFLINE: 1_800}, 0.0, 0.0),
    ("window ending exactly on a change", at(1), at(2), NOW, {S.ONLINE: 3_600}, 100.0, 100.0),
    ("rows after the window are ignored", at(0), at(1), NOW, {S.ONLINE: 3_600}, 100.0, 100.0),
    ("zero-length window", at(2.5), at(2.5), NOW, {}, None, None),
    ("one second either side of a change", at(2, seconds=-1), at(2, seconds=1), NOW, {S.ONLINE: 1, S.OFFLINE: 1}, 50.0, 50.0),
    ("maintenance only: no uptime to speak of", at(6), at(8), NOW, {S.MAINTENANCE: 7_200}, None, None),
    ("degraded is up but not useful", at(5), at(6), NOW, {S.DEGRADED: 3_600}, 100.0, 0.0),
    ("window wholly in the future counts nothing", at(48), at(72), NOW, {}, None, None),
    ("window running into the future is clipped to now", at(23), at(25), NOW, {S.ONLINE: 3_600}, 100.0, 100.0),
    ("window inside one long interval", at(12), at(13), NOW, {S.ONLINE: 3_600}, 100.0, 100.0),
]


@pytest.mark.parametrize(("name", "start", "end", "now", "seconds", "up", "useful"), CASES, ids=[c[0] for c in CASES])
def test_uptime(
    name: str,
    start: datetime,
    end: datetime,
    now: datetime,
    seconds: dict[Status, float],
    up: float | None,
    useful: float | None,
) -> None:
    for report in (uptime(HISTORY, start, end, now=now), StatusTimeline(HISTORY).uptime(start, end, now=now)):
        assert report.seconds == {s: seconds.get(s, 0.0) for s in Status}
        assert report.uptime_pct == pytest.approx(up)
        assert report.useful_pct == pytest.approx(useful)


def test_clipped_window_reports_its_real_end() -> None:
    report = uptime(HISTORY, at(23), at(25), now=NOW)
    assert report.end == NOW
    assert uptime(HISTORY, at(48), at(72), now=NOW).end == at(48)


def test_status_before_the_fetched_rows_is_used() -> None:
    """The caller fetched only the rows inside the window plus what was in force before it."""
    rows = [row for row in HISTORY if row.at >= at(9)]
    report = uptime(rows, at(9), at(11), now=NOW, before=S.ONLINE)
    assert report.seconds[S.ONLINE] == 3_600 + 2_700 and report.seconds[S.UNAUTHORIZED] == 900


def test_plain_string_statuses_from_the_database_work() -> None:
    rows = [(row.at, row.status.value) for row in HISTORY]
    assert uptime(rows, at(0), at(24), now=NOW) == uptime(HISTORY, at(0), at(24), now=NOW)


def test_rows_at_the_same_instant_last_one_wins() -> None:
    rows = [StatusChange(at(0), S.OFFLINE), StatusChange(at(0), S.ONLINE), StatusChange(at(1), S.OFFLINE)]
    assert uptime(rows, at(0), at(2), now=NOW).seconds[S.ONLINE] == 3_600


def test_sub_second_changes_are_exact() -> None:
    rows = [StatusChange(at(0), S.ONLINE), StatusChange(at(0) + timedelta(microseconds=250_000), S.OFFLINE)]
    report = uptime(rows, at(0), at(0, seconds=1), now=NOW)
    assert report.seconds[S.ONLINE] == 0.25 and report.seconds[S.OFFLINE] == 0.75


@pytest.mark.parametrize(
    ("start", "end", "now"),
    [(datetime(2026, 11, 1), at(1), NOW), (at(0), datetime(2026, 11, 2), NOW), (at(0), at(1), datetime(2026, 11, 2))],
    ids=["naive-start", "naive-end", "naive-now"],
)
def test_naive_datetimes_are_refused(start: datetime, end: datetime, now: datetime) -> None:
    with pytest.raises(ValueError, match="naive"):
        uptime(HISTORY, start, end, now=now)


def test_naive_rows_are_refused() -> None:
    rows = [(datetime(2026, 11, 1), S.ONLINE)]
    with pytest.raises(ValueError, match="naive"):
        uptime(rows, at(0), at(1), now=NOW)
    with pytest.raises(ValueError, match="naive"):
        StatusTimeline(rows)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        uptime(HISTORY, at(2), at(1), now=NOW)
    with pytest.raises(ValueError, match="order"):
        uptime([StatusChange(at(1), S.ONLINE), StatusChange(at(0.5), S.OFFLINE)], at(0), at(2), now=NOW)
    with pytest.raises(ValueError, match="unknown status"):
        uptime([(at(0), "exploded")], at(0), at(1), now=NOW)


def test_timeline_agrees_with_direct_computation_on_random_windows() -> None:
    rng = random.Random(20261121)
    rows, t = [], T
    for _ in range(500):
        t += timedelta(seconds=rng.randint(0, 7_200))
        rows.append(StatusChange(t, rng.choice(list(Status))))
    timeline = StatusTimeline(rows, before=S.UNKNOWN)
    span = int((t - T).total_seconds()) + 7_200
    for _ in range(300):
        a = T + timedelta(seconds=rng.randint(-7_200, span))
        b = a + timedelta(seconds=rng.randint(0, span // 3))
        now = T + timedelta(seconds=rng.randint(0, span))
        direct = uptime(rows, a, b, now=now)
        assert timeline.uptime(a, b, now=now) == direct
        assert sum(direct.seconds.values()) == (direct.end - direct.start).total_seconds()


def test_hourly_rollup_splits_intervals_at_hour_boundaries() -> None:
    buckets = hourly_rollup(HISTORY, at(0.5), at(2.25), now=NOW)
    assert [b.hour for b in buckets] == [at(0), at(1), at(2)]
    assert [dict(b.seconds) for b in buckets] == [{S.ONLINE: 1_800}, {S.ONLINE: 3_600}, {S.OFFLINE: 900}]


def test_hourly_rollup_adds_up_to_the_uptime_of_the_window() -> None:
    buckets = hourly_rollup(HISTORY, at(-1), at(30), now=NOW)
    assert len(buckets) == 25  # -1h .. 23h; the future is cut off at now
    total = {s: sum(b.seconds.get(s, 0.0) for b in buckets) for s in Status}
    assert total == uptime(HISTORY, at(-1), at(30), now=NOW).seconds
    assert all(sum(b.seconds.values()) == 3_600 for b in buckets)


def test_hourly_rollup_of_an_empty_window_is_empty() -> None:
    assert hourly_rollup(HISTORY, at(3), at(3), now=NOW) == []


def test_fleet_aggregation_sums_seconds_and_camera_hours() -> None:
    day = uptime(HISTORY, at(0), at(24), now=NOW)
    always_online = uptime([StatusChange(at(-5), S.ONLINE)], at(0), at(24), now=NOW)
    fleet = aggregate([day, always_online])
    assert fleet.cameras == 2
    assert fleet.seconds[S.ONLINE] == 72_900 + 86_400
    assert fleet.camera_hours_up == pytest.approx((72_900 + 3_600 + 86_400) / 3600)
    assert fleet.camera_hours_useful == pytest.approx((72_900 + 86_400) / 3600)
    assert fleet.uptime_pct == pytest.approx(100 * (76_500 + 86_400) / (79_200 + 86_400))
    by_hamlet = aggregate_by([("Ấp 1", day), ("Ấp 2", always_online), ("Ấp 2", always_online)])
    assert by_hamlet["Ấp 2"].cameras == 2 and by_hamlet["Ấp 2"].uptime_pct == 100.0
    assert aggregate([]).uptime_pct is None


def test_rollups_of_several_cameras_add_hour_by_hour() -> None:
    one = hourly_rollup(HISTORY, at(0), at(3), now=NOW)
    two = hourly_rollup([StatusChange(at(1), S.OFFLINE)], at(0), at(3), now=NOW)
    total = sum_rollups([one, two])
    assert [b.hour for b in total] == [at(0), at(1), at(2)]
    assert total[0].seconds[S.UNKNOWN] == 3_600 and total[2].seconds[S.OFFLINE] == 1_800 + 3_600


def test_daily_uptime_sums_hours_into_local_days_with_the_uptime_rules():
    from datetime import timedelta, timezone

    from camera_ops.health.uptime import daily_uptime

    ict = timezone(timedelta(hours=7))
    h = datetime(2026, 11, 1, 16, tzinfo=timezone.utc)  # 23:00 on 1 Nov in Vietnam
    hours = [
        (h, {Status.ONLINE: 1800.0, Status.OFFLINE: 1800.0}),
        (h + timedelta(hours=1), {Status.ONLINE: 3600.0, Status.MAINTENANCE: 3600.0}),  # 00:00 on 2 Nov
        (h + timedelta(hours=2), {Status.DEGRADED: 1800.0, Status.UNAUTHORIZED: 1800.0, Status.UNKNOWN: 3600.0}),
        (h + timedelta(hours=3), {Status.UNKNOWN: 3600.0}),
    ]
    first, second = daily_uptime(hours, ict)
    assert (first.day.day, first.uptime_pct, first.useful_pct) == (1, 50.0, 50.0)
    # 2 Nov: up 3600 + 1800 of counted 7200 (maintenance and unknown excluded)
    assert (second.day.day, second.uptime_pct, second.useful_pct) == (2, 75.0, 50.0)
    assert daily_uptime([(h, {Status.UNKNOWN: 3600.0})], ict)[0].uptime_pct is None
