"""Status decision: table tests for each rule, and sequences for hysteresis and flapping."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from camera_ops.errors import CameraAuthFailed, CameraProtocolError, CameraTimeout, CameraUnreachable, NotOnvif
from camera_ops.health.labels import REASON_LABELS, STATUS_LABELS, reason_label, status_label
from camera_ops.health.status import (
    CameraHealthState,
    Decision,
    ProbeOutcome,
    StatusPolicy,
    decide,
    reason_for_error,
    set_maintenance,
)
from camera_ops.health.vocabulary import PictureProblem, Reason, Status, mask_to_reasons, reasons_to_mask

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
R, S = Reason, Status


def ok(**kw: object) -> ProbeOutcome:
    fields: dict[str, object] = dict(at=T0, tcp_ok=True, onvif_ok=True, auth_ok=True, rtsp_ok=True, clock_offset_s=0.4)
    return ProbeOutcome(**(fields | kw))  # type: ignore[arg-type]


def no_tcp(error: Reason | None = R.UNREACHABLE, **kw: object) -> ProbeOutcome:
    return ProbeOutcome(**(dict(at=T0, tcp_ok=False, error=error) | kw))  # type: ignore[arg-type]


def bad_password(**kw: object) -> ProbeOutcome:
    return ok(auth_ok=False, rtsp_ok=None, error=R.WRONG_PASSWORD, **kw)


ONLINE = CameraHealthState(status=S.ONLINE, since=T0 - timedelta(days=1))
ONLINE_ONE_FAILURE = replace(ONLINE, consecutive_failures=1)
OFFLINE = CameraHealthState(status=S.OFFLINE, reasons=(R.TIMEOUT,), consecutive_failures=3, since=T0 - timedelta(hours=1))
DEGRADED_BLACK = CameraHealthState(status=S.DEGRADED, reasons=(R.BLACK,), last_picture=(R.BLACK,), since=T0)
IN_MAINTENANCE = CameraHealthState(status=S.MAINTENANCE, in_maintenance=True, since=T0)

# name, prior state, outcome, expected status, expected reasons, expected changed, expected reprobe_after_s
CASES: list[tuple[str, CameraHealthState | None, ProbeOutcome, Status, tuple[Reason, ...], bool, float | None]] = [
    ("new camera answers cleanly", None, ok(), S.ONLINE, (), True, None),
    ("online stays online", ONLINE, ok(), S.ONLINE, (), False, None),
    ("first failure holds online and re-probes", ONLINE, no_tcp(), S.ONLINE, (), False, 10.0),
    ("second failure goes offline", ONLINE_ONE_FAILURE, no_tcp(R.TIMEOUT), S.OFFLINE, (R.TIMEOUT,), True, None),
    ("refused connection is its own reason", ONLINE_ONE_FAILURE, no_tcp(R.REFUSED), S.OFFLINE, (R.REFUSED,), True, None),
    ("failure without a kind is unreachable", ONLINE_ONE_FAILURE, no_tcp(None), S.OFFLINE, (R.UNREACHABLE,), True, None),
    ("one success recovers", OFFLINE, ok(), S.ONLINE, (), True, None),
    ("offline, new failure kind changes only the reason", OFFLINE, no_tcp(R.REFUSED), S.OFFLINE, (R.REFUSED,), True, None),
    ("offline, same failure again is no change", OFFLINE, no_tcp(R.TIMEOUT), S.OFFLINE, (R.TIMEOUT,), False, None),
    ("first wrong password holds and re-probes", ONLINE, bad_password(), S.ONLINE, (), False, 10.0),
    ("second wrong password is unauthorized", ONLINE_ONE_FAILURE, bad_password(), S.UNAUTHORIZED, (R.WRONG_PASSWORD,), True, None),
    (
        "port answers but not ONVIF, no video either",
        ONLINE_ONE_FAILURE,
        ok(onvif_ok=False, rtsp_ok=None, error=R.NOT_ONVIF),
        S.OFFLINE,
        (R.NOT_ONVIF,),
        True,
        None,
    ),
    (
        "ONVIF garbled but video works is degraded",
        ONLINE_ONE_FAILURE,
        ok(onvif_ok=False, error=R.PROTOCOL_ERROR),
        S.DEGRADED,
        (R.PROTOCOL_ERROR,),
        True,
        None,
    ),
    ("RTSP fails twice: degraded", ONLINE_ONE_FAILURE, ok(rtsp_ok=False), S.DEGRADED, (R.RTSP_FAILED,), True, None),
    ("RTSP fails once: held", ONLINE, ok(rtsp_ok=False), S.ONLINE, (), False, 10.0),
    ("camera without ONVIF, video fine", None, ok(onvif_ok=None, clock_offset_s=None), S.ONLINE, (), True, None),
    ("clock 45 s fast is degraded at once", ONLINE, ok(clock_offset_s=45.0), S.DEGRADED, (R.CLOCK_DRIFT,), True, None),
    ("clock 45 s slow is degraded at once", ONLINE, ok(clock_offset_s=-45.0), S.DEGRADED, (R.CLOCK_DRIFT,), True, None),
    ("clock 29 s off is fine", ONLINE, ok(clock_offset_s=29.0), S.ONLINE, (), False, None),
    ("black picture is degraded at once", ONLINE, ok(picture={PictureProblem.BLACK}), S.DEGRADED, (R.BLACK,), True, None),
    (
        "several picture problems, clock too, in a stable order",
        ONLINE,
        ok(picture=[PictureProblem.TURNED_AWAY, PictureProblem.FROZEN], clock_offset_s=120.0),
        S.DEGRADED,
        (R.FROZEN, R.TURNED_AWAY, R.CLOCK_DRIFT),
        True,
        None,
    ),
    ("no snapshot this cycle keeps the last verdict", DEGRADED_BLACK, ok(), S.DEGRADED, (R.BLACK,), False, None),
    ("a good snapshot clears the picture verdict", DEGRADED_BLACK, ok(picture=()), S.ONLINE, (), True, None),
    ("snapshot could not be fetched", ONLINE, ok(snapshot_failed=True), S.DEGRADED, (R.NO_SNAPSHOT,), True, None),
    ("first failure holds degraded too", DEGRADED_BLACK, no_tcp(), S.DEGRADED, (R.BLACK,), False, 10.0),
    (
        "RTSP failing keeps the picture reasons",
        replace(DEGRADED_BLACK, consecutive_failures=1),
        ok(rtsp_ok=False),
        S.DEGRADED,
        (R.RTSP_FAILED, R.BLACK),
        True,
        None,
    ),
    ("maintenance overrides a clean probe", IN_MAINTENANCE, ok(), S.MAINTENANCE, (), False, None),
    ("maintenance overrides failures", replace(IN_MAINTENANCE, consecutive_failures=5), no_tcp(), S.MAINTENANCE, (), False, None),
    ("maintenance overrides a black picture", IN_MAINTENANCE, ok(picture={PictureProblem.BLACK}), S.MAINTENANCE, (), False, None),
    ("new camera failing once stays unknown", None, no_tcp(), S.UNKNOWN, (), False, 10.0),
]


@pytest.mark.parametrize(("name", "prior", "outcome", "status", "reasons", "changed", "reprobe"), CASES, ids=[c[0] for c in CASES])
def test_decision(
    name: str,
    prior: CameraHealthState | None,
    outcome: ProbeOutcome,
    status: Status,
    reasons: tuple[Reason, ...],
    changed: bool,
    reprobe: float | None,
) -> None:
    decision = decide(prior, outcome)
    assert decision.new_state.status is status
    assert decision.new_state.reasons == reasons
    assert decision.changed is changed
    assert decision.reprobe_after_s == reprobe


def test_failure_count_is_configurable() -> None:
    policy = StatusPolicy(failures_to_offline=3)
    state = ONLINE
    statuses = []
    for _ in range(3):
        state = decide(state, no_tcp(), policy=policy).new_state
        statuses.append(state.status)
    assert statuses == [S.ONLINE, S.ONLINE, S.OFFLINE]


def test_since_moves_only_when_the_status_changes() -> None:
    t1 = T0 + timedelta(minutes=1)
    degraded = decide(ONLINE, ok(at=T0, picture={PictureProblem.BLACK})).new_state
    more = decide(degraded, ok(at=t1, picture={PictureProblem.BLACK, PictureProblem.FROZEN}))
    assert degraded.since == T0
    assert more.changed and not more.status_changed
    assert more.new_state.since == T0


def test_alternating_single_failures_never_change_the_status() -> None:
    """A flaky link (fail, ok, fail, ok ...) is damped: no history row at all."""
    state, rows = ONLINE, 0
    for i in range(20):
        outcome = no_tcp(at=T0 + timedelta(seconds=30 * i)) if i % 2 == 0 else ok(at=T0 + timedelta(seconds=30 * i))
        decision = decide(state, outcome)
        rows += decision.changed
        state = decision.new_state
    assert rows == 0 and state.status is S.ONLINE


def test_repeated_outages_mark_the_camera_flapping() -> None:
    state, decisions = ONLINE, []
    for i in range(11):  # down, down, up ... every minute: a change every 1-2 minutes; ends down
        at = T0 + timedelta(minutes=i)
        decision = decide(state, ok(at=at) if i % 3 == 2 else no_tcp(at=at))
        decisions.append(decision)
        state = decision.new_state
    assert sum(d.status_changed for d in decisions) == 7
    assert decisions[-1].flapping and state.status is S.OFFLINE
    recovered = decide(state, ok(at=T0 + timedelta(minutes=11)))
    assert recovered.next_snapshot_in_s == 30.0  # back from offline: look now
    steady = decide(recovered.new_state, ok(at=T0 + timedelta(minutes=12)))
    assert steady.flapping and steady.next_snapshot_in_s == 300.0


def test_flapping_ends_when_the_changes_leave_the_window() -> None:
    state = replace(ONLINE, recent_changes=tuple(T0 + timedelta(minutes=i) for i in range(5)))
    assert decide(state, ok(at=T0 + timedelta(minutes=10))).flapping
    assert not decide(state, ok(at=T0 + timedelta(hours=2))).flapping


@pytest.mark.parametrize(
    ("state", "outcome", "snapshot_in_s"),
    [
        (ONLINE, ok(), 900.0),
        (DEGRADED_BLACK, ok(), 300.0),
        (OFFLINE, ok(), 30.0),
        (OFFLINE, no_tcp(), None),
        (None, ok(), 30.0),
        (IN_MAINTENANCE, ok(), None),
    ],
    ids=["online", "degraded", "recovered", "offline", "first-probe", "maintenance"],
)
def test_snapshot_pace_follows_status(state: CameraHealthState | None, outcome: ProbeOutcome, snapshot_in_s: float | None) -> None:
    assert decide(state, outcome).next_snapshot_in_s == snapshot_in_s


def test_maintenance_on_and_off() -> None:
    on = set_maintenance(OFFLINE, True, T0)
    assert on.new_state.status is S.MAINTENANCE and on.changed and on.new_state.since == T0
    assert set_maintenance(on.new_state, True, T0).changed is False
    off = set_maintenance(on.new_state, False, T0 + timedelta(hours=2))
    assert off.new_state.status is S.UNKNOWN and off.reprobe_after_s == 0.0
    assert off.new_state.consecutive_failures == 0
    back: Decision = decide(off.new_state, ok(at=T0 + timedelta(hours=2, seconds=5)))
    assert back.new_state.status is S.ONLINE and back.changed


def test_maintenance_off_when_not_in_maintenance_changes_nothing() -> None:
    decision = set_maintenance(DEGRADED_BLACK, False, T0)
    assert not decision.changed and decision.new_state.reasons == (R.BLACK,)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        decide(ONLINE, ok(at=datetime(2026, 11, 21, 14, 0)))


def test_state_survives_a_json_round_trip() -> None:
    state = decide(replace(DEGRADED_BLACK, recent_changes=(T0,)), ok(clock_offset_s=99.0)).new_state
    assert CameraHealthState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (CameraAuthFailed("x"), R.WRONG_PASSWORD),
        (CameraTimeout("x"), R.TIMEOUT),
        (TimeoutError(), R.TIMEOUT),
        (ConnectionRefusedError(), R.REFUSED),
        (NotOnvif("x"), R.NOT_ONVIF),
        (CameraUnreachable("x"), R.UNREACHABLE),
        (OSError("no route"), R.UNREACHABLE),
        (CameraProtocolError("x"), R.PROTOCOL_ERROR),
        (ValueError("bad sdp"), R.PROTOCOL_ERROR),
    ],
)
def test_reason_for_error(error: BaseException, reason: Reason) -> None:
    assert reason_for_error(error) is reason


def test_every_status_and_reason_has_both_labels() -> None:
    assert set(STATUS_LABELS) == set(Status) and set(REASON_LABELS) == set(Reason)
    assert all(labels["vi"] and labels["en"] for labels in [*STATUS_LABELS.values(), *REASON_LABELS.values()])
    assert status_label("offline") == "Mất kết nối"
    assert reason_label(R.FROZEN) == "Đứng hình" and reason_label(R.FROZEN, "en") == "Frozen picture"


def test_reason_sets_pack_into_a_small_integer() -> None:
    reasons = (R.BLACK, R.FROZEN, R.CLOCK_DRIFT)
    mask = reasons_to_mask(reasons)
    assert mask < 2**15  # fits a smallint column
    assert mask_to_reasons(mask) == reasons
    assert reasons_to_mask(Reason) < 2**15
