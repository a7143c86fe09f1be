"""A camera's status from one probe and what we knew before: a pure function with hysteresis.

Rules (each has a table test in ``tests/unit/test_status.py``):

- **Maintenance overrides everything.** While in maintenance the status is ``maintenance`` whatever
  the probe says (the probe still updates counters, picture and clock). Leaving maintenance sets
  ``unknown`` and asks for a probe right away.
- **Probe problems need confirmation.** A connection, protocol, password or RTSP failure changes the
  status only on the ``failures_to_offline``-th consecutive failed probe (default 2); before that the
  status is held and a quick re-probe is asked for (``reprobe_after_s``). This holds for a wrong
  password too: cameras answer 401 transiently (stale digest nonce, brief lock-out after a reboot),
  and one quick re-probe costs ~10 s of delay for a real password change.
- **One clean probe recovers** (to ``online``, or ``degraded`` if the picture or clock is bad).
- **Picture and clock verdicts apply at once**: they are measurements, not network luck. A probe
  without a snapshot keeps the last picture verdict. A failed snapshot is ``no_snapshot``.
- Which failure gives which status: wrong password -> ``unauthorized``; no TCP, or ONVIF failing
  with RTSP not working either -> ``offline``; RTSP failing while the camera answers, or ONVIF
  failing while RTSP works -> ``degraded`` (alive, but not usable / not manageable).
- **Flapping**: ``flap_min_changes`` status changes within ``flap_window_s`` mark the camera as
  flapping; flapping and degraded cameras get snapshots sooner.

The caller writes a status-history row only when ``Decision.changed`` (status or reasons changed).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from camera_ops.errors import (
    CameraAuthFailed,
    CameraNetworkRefused,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    NotOnvif,
)
from camera_ops.health.vocabulary import OFFLINE_REASONS, PictureProblem, Reason, Status, ordered

# Statuses that say nothing about the picture: coming back from one of them, look at it soon.
_BLIND_STATUSES = frozenset({Status.OFFLINE, Status.UNAUTHORIZED, Status.MAINTENANCE, Status.UNKNOWN})


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    failures_to_offline: int = 2  # consecutive failed probes before the status changes
    quick_reprobe_s: float = 10.0  # re-probe delay after an unconfirmed failure (short vs a 60 s cycle)
    clock_drift_max_s: float = 30.0  # |camera clock - true time| beyond this makes footage times doubtful
    snapshot_interval_s: float = 900.0  # routine picture check for a healthy camera (15 min)
    snapshot_soon_s: float = 300.0  # degraded or flapping cameras: check the picture more often
    snapshot_after_recovery_s: float = 30.0  # back from offline/unknown: the picture may have changed
    flap_window_s: float = 3600.0  # look-back for the flapping detector
    flap_min_changes: int = 4  # status changes within the window that count as flapping


DEFAULT_POLICY = StatusPolicy()


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """What one probe found. ``None`` means "not tried / not applicable"."""

    at: datetime  # UTC-aware
    tcp_ok: bool
    onvif_ok: bool | None = None  # None: camera has no ONVIF (or it was not tried)
    auth_ok: bool | None = None
    rtsp_ok: bool | None = None
    error: Reason | None = None  # kind of the first failure, see reason_for_error()
    clock_offset_s: float | None = None  # camera clock minus true time
    rtt_ms: float | None = None
    picture: Collection[PictureProblem | Reason] | None = None  # None: no snapshot assessed this time
    snapshot_failed: bool = False  # a snapshot was tried and could not be fetched or decoded
    not_recording: bool = False  # the camera's newest recording is hours old (its reach, checked daily)


@dataclass(frozen=True, slots=True)
class CameraHealthState:
    status: Status = Status.UNKNOWN
    reasons: tuple[Reason, ...] = ()
    since: datetime | None = None  # when the current status began
    consecutive_failures: int = 0
    last_picture: tuple[Reason, ...] = ()  # verdict of the last snapshot (empty: fine or never taken)
    last_clock_offset_s: float | None = None
    in_maintenance: bool = False
    recent_changes: tuple[datetime, ...] = ()  # status-change times within the flap window

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reasons": [r.value for r in self.reasons],
            "since": self.since.isoformat() if self.since else None,
            "consecutive_failures": self.consecutive_failures,
            "last_picture": [r.value for r in self.last_picture],
            "last_clock_offset_s": self.last_clock_offset_s,
            "in_maintenance": self.in_maintenance,
            "recent_changes": [t.isoformat() for t in self.recent_changes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraHealthState:
        return cls(
            status=Status(data.get("status", Status.UNKNOWN)),
            reasons=ordered(data.get("reasons", ())),
            since=datetime.fromisoformat(data["since"]) if data.get("since") else None,
            consecutive_failures=int(data.get("consecutive_failures", 0)),
            last_picture=ordered(data.get("last_picture", ())),
            last_clock_offset_s=data.get("last_clock_offset_s"),
            in_maintenance=bool(data.get("in_maintenance", False)),
            recent_changes=tuple(datetime.fromisoformat(t) for t in data.get("recent_changes", ())),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    new_state: CameraHealthState
    changed: bool  # status or reasons changed: write a status-history row
    status_changed: bool  # the status itself changed (uptime intervals, alerts)
    reprobe_after_s: float | None = None  # probe again this soon instead of waiting for the cycle
    next_snapshot_in_s: float | None = None  # take a snapshot no later than this; None: don't
    flapping: bool = False


@dataclass(frozen=True, slots=True)
class _Failure:
    status: Status
    reasons: tuple[Reason, ...]


def decide(state: CameraHealthState | None, outcome: ProbeOutcome, *, policy: StatusPolicy = DEFAULT_POLICY) -> Decision:
    """The camera's new health state after ``outcome``."""
    _require_aware(outcome.at)
    state = state or CameraHealthState()
    picture = _picture_verdict(state, outcome)
    clock = outcome.clock_offset_s if outcome.clock_offset_s is not None else state.last_clock_offset_s
    failure = _failure(outcome)
    failures = state.consecutive_failures + 1 if failure else 0
    reprobe: float | None = None
    if state.in_maintenance:
        status, reasons = Status.MAINTENANCE, ()
    elif failure is None:
        reasons = ordered((*picture, *_clock_reasons(clock, policy), *_recording_reasons(outcome)))
        status = Status.DEGRADED if reasons else Status.ONLINE
    elif failures >= policy.failures_to_offline:
        status, reasons = failure.status, failure.reasons
        if status is Status.DEGRADED:
            reasons = ordered((*reasons, *picture, *_clock_reasons(clock, policy), *_recording_reasons(outcome)))
    else:  # unconfirmed: hold the status, look again soon
        status, reasons = state.status, state.reasons
        reprobe = policy.quick_reprobe_s
    new_state = replace(
        state,
        consecutive_failures=failures,
        last_picture=picture,
        last_clock_offset_s=clock,
    )
    return _conclude(state, new_state, status, reasons, outcome.at, policy, reprobe=reprobe)


def set_maintenance(
    state: CameraHealthState | None, on: bool, at: datetime, *, policy: StatusPolicy = DEFAULT_POLICY
) -> Decision:
    """Put a camera into maintenance (silenced, excluded from uptime) or take it out (probe it now)."""
    _require_aware(at)
    state = replace(state or CameraHealthState(), in_maintenance=on)
    if on:
        return _conclude(state, state, Status.MAINTENANCE, (), at, policy)
    if state.status is not Status.MAINTENANCE:
        return _conclude(state, state, state.status, state.reasons, at, policy)
    fresh = replace(state, consecutive_failures=0)
    return _conclude(state, fresh, Status.UNKNOWN, (), at, policy, reprobe=0.0)


def reason_for_error(error: BaseException) -> Reason:
    """Map an error from a probe to the reason we show (the prober reports this as ``error``)."""
    match error:
        case CameraAuthFailed():
            return Reason.WRONG_PASSWORD
        case CameraNetworkRefused():
            return Reason.UNREACHABLE  # outside CAMERA_OPS_CAMERA_NETWORKS: never contacted
        case CameraTimeout() | TimeoutError():
            return Reason.TIMEOUT
        case ConnectionRefusedError():
            return Reason.REFUSED
        case NotOnvif():
            return Reason.NOT_ONVIF
        case CameraUnreachable() | OSError():
            return Reason.UNREACHABLE
        case CameraProtocolError():
            return Reason.PROTOCOL_ERROR
        case _:
            return Reason.PROTOCOL_ERROR  # anything else the camera made us choke on


def is_flapping(recent_changes: Collection[datetime], at: datetime, policy: StatusPolicy = DEFAULT_POLICY) -> bool:
    window_start = at - timedelta(seconds=policy.flap_window_s)
    return sum(1 for t in recent_changes if t > window_start) >= policy.flap_min_changes


# --- helpers --------------------------------------------------------------------------------------


def _failure(o: ProbeOutcome) -> _Failure | None:
    if o.auth_ok is False or o.error is Reason.WRONG_PASSWORD:
        return _Failure(Status.UNAUTHORIZED, (Reason.WRONG_PASSWORD,))
    offline_reason = o.error if o.error in OFFLINE_REASONS else None
    if not o.tcp_ok:
        return _Failure(Status.OFFLINE, (offline_reason or Reason.UNREACHABLE,))
    if o.onvif_ok is False and o.rtsp_ok is not True:
        return _Failure(Status.OFFLINE, (offline_reason or Reason.PROTOCOL_ERROR,))
    if o.rtsp_ok is False:
        return _Failure(Status.DEGRADED, (Reason.RTSP_FAILED,))
    if o.onvif_ok is False:  # video works, management does not
        return _Failure(Status.DEGRADED, (offline_reason or Reason.PROTOCOL_ERROR,))
    return None


def _picture_verdict(state: CameraHealthState, o: ProbeOutcome) -> tuple[Reason, ...]:
    if o.picture is not None:
        return ordered(Reason(p.value) for p in o.picture if p != PictureProblem.CLOCK_DRIFT)
    if o.snapshot_failed:
        return (Reason.NO_SNAPSHOT,)
    return state.last_picture


def _recording_reasons(o: ProbeOutcome) -> tuple[Reason, ...]:
    return (Reason.NOT_RECORDING,) if o.not_recording else ()


def _clock_reasons(offset_s: float | None, policy: StatusPolicy) -> tuple[Reason, ...]:
    if offset_s is not None and abs(offset_s) > policy.clock_drift_max_s:
        return (Reason.CLOCK_DRIFT,)
    return ()


def _conclude(
    old: CameraHealthState,
    new: CameraHealthState,
    status: Status,
    reasons: tuple[Reason, ...],
    at: datetime,
    policy: StatusPolicy,
    *,
    reprobe: float | None = None,
) -> Decision:
    status_changed = status is not old.status
    window_start = at - timedelta(seconds=policy.flap_window_s)
    recent = tuple(t for t in new.recent_changes if t > window_start)
    if status_changed:
        recent = (*recent, at)
    new = replace(
        new,
        status=status,
        reasons=reasons,
        since=at if status_changed or new.since is None else new.since,
        recent_changes=recent,
    )
    flapping = len(recent) >= policy.flap_min_changes
    return Decision(
        new_state=new,
        changed=status_changed or reasons != old.reasons,
        status_changed=status_changed,
        reprobe_after_s=reprobe,
        next_snapshot_in_s=_next_snapshot(old.status, status, flapping, policy),
        flapping=flapping,
    )


def _next_snapshot(old: Status, new: Status, flapping: bool, policy: StatusPolicy) -> float | None:
    if new in _BLIND_STATUSES:
        return None  # nothing to look at (or not our business during maintenance)
    if old in _BLIND_STATUSES:
        return policy.snapshot_after_recovery_s
    if new is Status.DEGRADED or flapping:
        return policy.snapshot_soon_s
    return policy.snapshot_interval_s


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass UTC-aware times")


__all__ = [
    "DEFAULT_POLICY",
    "CameraHealthState",
    "Decision",
    "ProbeOutcome",
    "Reason",
    "Status",
    "StatusPolicy",
    "decide",
    "is_flapping",
    "reason_for_error",
    "set_maintenance",
]
