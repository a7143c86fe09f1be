"""Recording reach: how far back a camera's SD card (or recorder disk) holds footage, as pure rules.

The camera tells us its oldest and newest recording (ONVIF GetRecordingSummary / FindRecordings) on
its own clock; we store them in true UTC with the time we asked. Between two checks the card keeps
recording in a loop, so the oldest footage moves forward as time passes: the reach *now* is the
stored one shifted by the time since the check. (A card that is not full yet does not lose its
oldest footage, so this errs on the side of "older footage is gone": a request is refused or
hurried, never promised footage that may be overwritten.)

- A clip request older than the reach is refused at once, with the reach in the message.
- One that starts less than ``NEAR_EDGE`` after the oldest footage is accepted with a warning
  ("this footage will be overwritten in about 40 min") and jumps the archive queue.
- A camera whose newest recording was already ``STALE_AFTER`` old when we asked is "not recording"
  (SD card missing, full and not looping, or failed): a status reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from camera_ops.errors import ValidationFailed
from camera_ops.i18n import fmt_datetime

NEAR_EDGE = timedelta(hours=1)  # an hour before overwrite: enough for the queue, but hurry
STALE_AFTER = timedelta(hours=2)  # a recording camera's newest footage is seconds old; hours = stopped
REFRESH_EVERY = timedelta(days=1)  # the daily refresh of every camera's reach


@dataclass(frozen=True, slots=True)
class RecordingReach:
    earliest: datetime  # true UTC, when checked
    latest: datetime
    checked_at: datetime

    def oldest_at(self, now: datetime) -> datetime:
        """The oldest footage still on the card at ``now`` (the loop went on since the check)."""
        return self.earliest + max(timedelta(0), now - self.checked_at)

    @property
    def recording(self) -> bool:
        return self.checked_at - self.latest <= STALE_AFTER


def from_camera_clock(earliest: datetime, latest: datetime, *, clock_offset_s: float | None,
                      checked_at: datetime) -> RecordingReach:
    """Times the camera reported on its own clock, in true UTC (offset = camera clock - true time)."""
    shift = timedelta(seconds=clock_offset_s or 0.0)
    return RecordingReach(earliest=earliest - shift, latest=latest - shift, checked_at=checked_at)


@dataclass(frozen=True, slots=True)
class ReachVerdict:
    overwritten_in: timedelta | None  # set when the window is near the oldest edge: hurry

    @property
    def urgent(self) -> bool:
        return self.overwritten_in is not None


def check_window_reach(start: datetime, end: datetime, reach: RecordingReach | None, *, now: datetime,
                       camera_code: str, tz: str) -> ReachVerdict:
    """Refuse a recorded-footage window the camera cannot hold; flag one about to be overwritten.

    Raises :class:`ValidationFailed` (field ``start`` or ``end``) naming the camera and its reach.
    """
    if reach is None:
        return ReachVerdict(None)  # the camera cannot tell: the general footage-hours rule applies
    oldest = reach.oldest_at(now)
    newest = now if reach.recording else reach.latest
    span = f"{fmt_datetime(oldest, tz)} – {fmt_datetime(newest, tz)}"
    if start < oldest:
        raise ValidationFailed(
            f"Camera {camera_code} chỉ còn dữ liệu từ {span}; khoảng thời gian yêu cầu bắt đầu sớm hơn. "
            f"Camera {camera_code} holds footage from {span} (Vietnam time); this window starts before it.",
            field="start", key="err.reach.before", params={"camera": camera_code, "span": span})
    if not reach.recording and end > reach.latest:
        stopped = fmt_datetime(reach.latest, tz)
        raise ValidationFailed(
            f"Camera {camera_code} đã ngừng ghi hình lúc {stopped}; dữ liệu có từ {span}. "
            f"Camera {camera_code} stopped recording at {stopped}; it holds footage from {span}.", field="end",
            key="err.reach.stopped", params={"camera": camera_code, "span": span, "stopped": stopped})
    left = start - oldest
    return ReachVerdict(left if left < NEAR_EDGE else None)


def overwrite_warning(left: timedelta) -> str:
    """Vietnamese first, English second: stored as the queued clip's reason and shown as is."""
    minutes = max(1, int(left.total_seconds() // 60))
    return (f"Dữ liệu này sẽ bị ghi đè trong khoảng {minutes} phút — được ưu tiên lấy trước. "
            f"This footage will be overwritten in about {minutes} min — fetched first.")


def not_recording(reach: RecordingReach | None) -> bool:
    return reach is not None and not reach.recording


# why a vendor search left the reach unknown or found the camera not recording (``camera.recording_problem``)
NOT_RECORDING_CODES = frozenset({"card_missing", "card_unformatted", "card_failed", "no_recordings"})
UNKNOWN_CODES = frozenset({"auth", "unsupported", "malformed", "timeout", "unreachable", "custom_template",
                           "clock_zone"})


def problem_stops_recording(problem: dict[str, Any] | None) -> bool:
    """The camera said it records nothing (card missing, unformatted or failed; no recordings)."""
    return bool(problem) and problem.get("code") in NOT_RECORDING_CODES  # type: ignore[union-attr]


_STOPPED = {  # code: (message key, Vietnamese, English)
    "card_missing": ("err.reach.card_missing", "không có thẻ nhớ", "has no SD card"),
    "card_unformatted": ("err.reach.card_unformatted", "có thẻ nhớ chưa được định dạng", "has an unformatted SD card"),
    "card_failed": ("err.reach.card_failed", "có thẻ nhớ bị lỗi", "has a failed SD card"),
    "no_recordings": ("err.reach.no_recordings", "không có dữ liệu ghi hình nào", "holds no recording at all"),
}


def check_problem(problem: dict[str, Any] | None, *, camera_code: str) -> None:
    """Refuse recorded footage from a camera that said it records nothing (field ``camera_ids``)."""
    if not problem_stops_recording(problem):
        return
    key, vi, en = _STOPPED[problem["code"]]  # type: ignore[index]
    raise ValidationFailed(
        f"Camera {camera_code} {vi}: không có dữ liệu ghi hình để lấy. "
        f"Camera {camera_code} {en}: there is no recorded footage to fetch.",
        field="camera_ids", key=key, params={"camera": camera_code})


def reach_of(earliest: datetime | None, latest: datetime | None, checked_at: datetime | None) -> RecordingReach | None:
    if earliest is None or latest is None or checked_at is None:
        return None
    return RecordingReach(earliest, latest, checked_at)
