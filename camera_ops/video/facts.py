"""Facts about a delivered clip: first/last frame times, frame count, gaps, codec, size.

Frame times come from the ONVIF replay extension (camera wall clock) when present, else from the
RTP/container timestamps anchored at a known start time. A gap is a timestamp jump of more than
``GAP_FACTOR`` nominal frame intervals, or an interval the camera itself flagged (replay E/D).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

GAP_FACTOR = 2.0  # a jump over 2 nominal frame intervals is a gap, not jitter
MIN_FRAME_INTERVAL_S = 1e-3


@dataclass(frozen=True)
class Gap:
    start: datetime | float  # time of the last frame before the gap
    end: datetime | float  # time of the first frame after it
    reason: str  # "timestamp_jump" | "camera_flagged" | "packet_loss"

    @property
    def seconds(self) -> float:
        delta = self.end - self.start  # type: ignore[operator]
        return delta.total_seconds() if isinstance(delta, timedelta) else float(delta)


@dataclass(frozen=True)
class ClipFacts:
    codec: str
    width: int | None
    height: int | None
    frame_count: int
    keyframe_count: int
    first_frame_time: datetime | float | None  # datetime when anchored to a clock, else seconds
    last_frame_time: datetime | float | None
    duration_s: float  # last frame end − first frame start
    time_source: str  # "onvif_ntp" | "rtp_anchored" | "requested_start" (unverified) | "relative"
    gaps: list[Gap] = field(default_factory=list)
    damaged_frames: int = 0  # access units with lost packets
    packets_lost: int = 0
    skipped_before_keyframe: int = 0

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, datetime) else value

        data = asdict(self)
        for key in ("first_frame_time", "last_frame_time"):
            data[key] = plain(data[key])
        data["gaps"] = [
            {"start": plain(g.start), "end": plain(g.end), "reason": g.reason, "seconds": g.seconds}
            for g in self.gaps
        ]
        return data


class ClipFactsBuilder:
    """Accumulates per-frame timing as frames are written; :meth:`build` at the end."""

    def __init__(
        self, codec: str, *, clock_rate: int = 90_000, start_time: datetime | None = None,
        anchored_source: str = "rtp_anchored",
    ) -> None:
        self.codec = codec
        self.anchored_source = anchored_source  # names what start_time is when no NTP arrives
        self.clock_rate = clock_rate
        self.start_time = start_time
        self._seconds: list[float] = []  # frame times relative to the first frame's timestamp
        self._flag_after: list[bool] = []  # camera says a gap follows this frame
        self._damaged = 0
        self._keyframes = 0
        self._first_ts: int | None = None
        self._ntp_anchor: tuple[datetime, int] | None = None
        self._first_ntp: datetime | None = None
        self._last_frame_s = 0.0
        self.packets_lost = 0
        self.skipped_before_keyframe = 0

    def add(
        self, timestamp: int, *, ntp_time: datetime | None = None, keyframe: bool = False,
        discontinuity: bool = False, end_of_section: bool = False, damaged: bool = False,
    ) -> None:
        if self._first_ts is None:
            self._first_ts = timestamp
        if ntp_time is not None:
            self._ntp_anchor = (ntp_time, timestamp)
            if self._first_ntp is None and not self._seconds:
                self._first_ntp = ntp_time
        seconds = self._frame_seconds(timestamp)
        if discontinuity and self._flag_after:
            self._flag_after[-1] = True
        self._seconds.append(seconds)
        self._flag_after.append(end_of_section)
        self._keyframes += keyframe
        self._damaged += damaged

    def add_seconds(self, seconds: float, *, keyframe: bool = False) -> None:
        """A frame known only by its container time (seconds from the first frame)."""
        self._seconds.append(seconds)
        self._flag_after.append(False)
        self._keyframes += keyframe

    def _frame_seconds(self, timestamp: int) -> float:
        assert self._first_ts is not None
        if self._ntp_anchor is not None and self._first_ntp is not None:
            anchor_time, anchor_ts = self._ntp_anchor
            anchor_s = (anchor_time - self._first_ntp).total_seconds()
            return anchor_s + (timestamp - anchor_ts) / self.clock_rate
        return (timestamp - self._first_ts) / self.clock_rate

    def _to_time(self, seconds: float) -> datetime | float:
        origin = self._first_ntp or self.start_time
        return origin + timedelta(seconds=seconds) if origin is not None else seconds

    def build(self, *, width: int | None = None, height: int | None = None, last_duration_s: float | None = None) -> ClipFacts:
        times = self._seconds
        deltas = [b - a for a, b in zip(times, times[1:]) if b - a > MIN_FRAME_INTERVAL_S]
        nominal = median(deltas) if deltas else 0.0
        gaps: list[Gap] = []
        for index in range(len(times) - 1):
            jump = times[index + 1] - times[index]
            flagged = self._flag_after[index]
            if flagged or (nominal and jump > GAP_FACTOR * nominal):
                reason = "camera_flagged" if flagged else "timestamp_jump"
                gaps.append(Gap(self._to_time(times[index]), self._to_time(times[index + 1]), reason))
        last = last_duration_s if last_duration_s is not None else nominal
        source = "onvif_ntp" if self._first_ntp else (self.anchored_source if self.start_time else "relative")
        return ClipFacts(
            codec=self.codec,
            width=width,
            height=height,
            frame_count=len(times),
            keyframe_count=self._keyframes,
            first_frame_time=self._to_time(times[0]) if times else None,
            last_frame_time=self._to_time(times[-1]) if times else None,
            duration_s=(times[-1] - times[0] + last) if times else 0.0,
            time_source=source,
            gaps=gaps,
            damaged_frames=self._damaged,
            packets_lost=self.packets_lost,
            skipped_before_keyframe=self.skipped_before_keyframe,
        )
