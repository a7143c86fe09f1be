"""What can be wrong with a simulated camera.

A :class:`Faults` value is immutable; a camera swaps in a new one when faults change at runtime, so
a streaming task that read ``camera.faults`` once sees one consistent set. Picture faults are
ordered by what a viewer would see first: ``black`` wins over ``covered`` wins over
``turned_away`` wins over ``defocused``; ``frozen`` holds whatever picture was on screen when it
started; ``night_ir`` changes the look (grayscale, dim, textured), it is not a failure.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Faults:
    # --- network / protocol -------------------------------------------------------------------
    offline: bool = False  # listening sockets closed: connection refused
    black_hole: bool = False  # accepts connections, never answers
    latency_s: float = 0.0  # added before every HTTP/RTSP response
    password: str | None = None  # the camera's password was changed to this
    clock_skew_s: float = 0.0  # camera clock = true UTC + skew
    stream_drop_after_s: float | None = None  # RTSP sessions are cut after this long
    stream_drop_after_units: int | None = None  # ... or after this many access units (deterministic)
    replay_unsupported: bool = False  # RTSP 551 on replay / playback
    recording_gap: tuple[datetime, datetime] | None = None  # (start, end) in camera time: no footage
    flapping: tuple[float, float] | None = None  # (up seconds, down seconds), repeating
    time_needs_auth: bool = False  # GetSystemDateAndTime demands WS-Security (SOAP fault, no HTTP challenge)
    silent_to_http: bool = False  # the RTSP port says nothing to an HTTP request (waits for more, as many do)
    mjpeg_only: bool = False  # the streams are Motion JPEG (old or misconfigured cameras): no H.264/H.265
    sd_card: str = "ok"  # ok | missing | unformatted | failed: no recording at all when not ok
    vendor_search: str = "normal"  # normal | malformed | unsupported (404) | track_id_list (newer Hikvision
    # firmware: <trackIDList> only, badXmlContent for <trackList>): the vendor's recording search
    # --- picture ------------------------------------------------------------------------------
    black: bool = False
    frozen: bool = False
    covered: bool = False
    defocused: bool = False
    turned_away: bool = False
    night_ir: bool = False

    def replace(self, **changes: Any) -> Faults:
        """A copy with ``changes`` applied; unknown names raise ``TypeError``, values are parsed."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **{k: _parse(k, v) for k, v in changes.items()})

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Faults:
        return cls().replace(**(data or {}))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "recording_gap" and value is not None:
                value = [v.isoformat().replace("+00:00", "Z") for v in value]
            elif f.name == "flapping" and value is not None:
                value = list(value)
            out[f.name] = value
        return out

    @property
    def picture_fault(self) -> str | None:
        """The one picture fault a viewer would name, or None for a normal picture."""
        for name in ("black", "covered", "turned_away", "defocused", "frozen"):
            if getattr(self, name):
                return name
        return None


CHOICES = {"sd_card": ("ok", "missing", "unformatted", "failed"),
           "vendor_search": ("normal", "malformed", "unsupported", "track_id_list")}


def _parse(name: str, value: Any) -> Any:
    """Accept JSON/YAML-friendly spellings (ISO strings, lists) for the structured faults."""
    if value is None:
        return None
    if name == "recording_gap":
        start, end = (_parse_time(v) for v in value)
        if end <= start:
            raise ValueError("recording_gap end must be after start")
        return (start, end)
    if name == "flapping":
        up, down = (float(v) for v in value)
        if up <= 0 or down <= 0:
            raise ValueError("flapping periods must be positive")
        return (up, down)
    if name in ("latency_s", "clock_skew_s", "stream_drop_after_s"):
        return float(value)
    if name == "stream_drop_after_units":
        return int(value)
    if name == "password":
        return str(value)
    if name in CHOICES:
        text = str(value)
        if text not in CHOICES[name]:
            raise ValueError(f"{name} is one of {', '.join(CHOICES[name])}")
        return text
    return bool(value)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("recording_gap times must carry a time zone (camera clock, UTC)")
    return moment.astimezone(timezone.utc)
