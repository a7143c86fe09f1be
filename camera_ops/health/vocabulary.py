"""The words health monitoring speaks: camera statuses, the reasons behind them, picture problems.

Kept free of heavy imports (no numpy/OpenCV) so the API and reports can use it cheaply.
Enum values are stable strings: they are stored in the database and sent to clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"  # answers, but the picture or clock is not usable as evidence
    OFFLINE = "offline"
    UNAUTHORIZED = "unauthorized"  # answers, refuses our username/password
    MAINTENANCE = "maintenance"  # planned: excluded from uptime and silenced
    UNKNOWN = "unknown"  # not probed yet / no data: excluded from uptime


class Reason(StrEnum):
    # why a camera is offline
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    NOT_ONVIF = "not_onvif"
    PROTOCOL_ERROR = "protocol_error"
    # why it is unauthorized
    WRONG_PASSWORD = "wrong_password"
    # why it is degraded
    RTSP_FAILED = "rtsp_failed"
    BLACK = "black"
    FROZEN = "frozen"
    COVERED = "covered"
    BLURRED = "blurred"
    TURNED_AWAY = "turned_away"
    CLOCK_DRIFT = "clock_drift"
    NO_SNAPSHOT = "no_snapshot"
    NOT_RECORDING = "not_recording"  # its newest recording is hours old (SD card missing, full, failed)


class PictureProblem(StrEnum):
    """What a snapshot can show wrong. Values are the same strings as the matching :class:`Reason`."""

    BLACK = "black"
    FROZEN = "frozen"
    COVERED = "covered"
    BLURRED = "blurred"
    TURNED_AWAY = "turned_away"
    # Judged by the status decision from the ONVIF clock offset, never by picture.py; listed so one
    # vocabulary serves both.
    CLOCK_DRIFT = "clock_drift"

    @property
    def reason(self) -> Reason:
        return Reason(self.value)


OFFLINE_REASONS = frozenset(
    {Reason.UNREACHABLE, Reason.TIMEOUT, Reason.REFUSED, Reason.NOT_ONVIF, Reason.PROTOCOL_ERROR}
)
PICTURE_REASONS = frozenset(
    {Reason.BLACK, Reason.FROZEN, Reason.COVERED, Reason.BLURRED, Reason.TURNED_AWAY, Reason.NO_SNAPSHOT}
)

# Stable bit positions for storing a set of reasons in one small integer column (2 bytes instead of
# ~16 bytes of text per status-history row). Never renumber: append new reasons at the end.
REASON_BIT: dict[Reason, int] = {
    Reason.UNREACHABLE: 0,
    Reason.TIMEOUT: 1,
    Reason.REFUSED: 2,
    Reason.NOT_ONVIF: 3,
    Reason.PROTOCOL_ERROR: 4,
    Reason.WRONG_PASSWORD: 5,
    Reason.RTSP_FAILED: 6,
    Reason.BLACK: 7,
    Reason.FROZEN: 8,
    Reason.COVERED: 9,
    Reason.BLURRED: 10,
    Reason.TURNED_AWAY: 11,
    Reason.CLOCK_DRIFT: 12,
    Reason.NO_SNAPSHOT: 13,
    Reason.NOT_RECORDING: 14,
}

_REASON_ORDER = {reason: i for i, reason in enumerate(Reason)}


def ordered(reasons: Iterable[Reason | str]) -> tuple[Reason, ...]:
    """Reasons without duplicates, in the enum's order (so equal sets compare and store equally)."""
    return tuple(sorted({Reason(r) for r in reasons}, key=_REASON_ORDER.__getitem__))


def reasons_to_mask(reasons: Iterable[Reason | str]) -> int:
    mask = 0
    for reason in reasons:
        mask |= 1 << REASON_BIT[Reason(reason)]
    return mask


def mask_to_reasons(mask: int) -> tuple[Reason, ...]:
    return ordered(reason for reason, bit in REASON_BIT.items() if mask >> bit & 1)
