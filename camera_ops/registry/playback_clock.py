"""Which clock a camera's playback URL and vendor recording search are written in, when nobody chose.

The rule (pure, table-tested in tests/unit/test_playback_clock.py):

- Dahua-style (``/cam/playback?starttime=YYYY_MM_DD_HH_MM_SS``, ``mediaFileFind``): the camera's
  **local** time. Dahua firmware and its OEMs (KBVision, Imou, Amcrest, Lorex…) write and read these
  times in the device's own local clock: the times mediaFileFind lists are the ones cam/playback
  takes back unchanged, and they carry no zone.
- Hikvision-style (``starttime=YYYYMMDDTHHMMSSZ``): **UTC** — the ``Z`` is honoured by the firmware
  seen in public reports (``12:00Z`` plays ``20:00`` local footage in UTC+8).
- ONVIF replay: **UTC** (``Range: clock=`` is UTC by the Streaming spec); no style at all: UTC.
- A custom template: **no default** — the person who typed it must say which clock it is written in.

A clock somebody chose is never changed by this rule (``Camera.playback_clock_auto`` is false).
"""

from __future__ import annotations

from typing import Literal

from storage.models import PlaybackClock, PlaybackStyle

AUTO = "auto"  # what the API and the web form send for "automatic (by the playback style)"
ClockChoice = PlaybackClock | Literal["auto"] | None  # None: not given (registration: automatic)

_BY_STYLE: dict[PlaybackStyle | None, PlaybackClock | None] = {
    PlaybackStyle.dahua: PlaybackClock.local,
    PlaybackStyle.hikvision: PlaybackClock.utc,
    PlaybackStyle.onvif_replay: PlaybackClock.utc,
    PlaybackStyle.none: PlaybackClock.utc,
    PlaybackStyle.custom: None,
    None: PlaybackClock.utc,  # no style and no known brand: live capture or ONVIF replay
}


def chosen(value: ClockChoice | str) -> PlaybackClock | None:
    """The clock a person chose, or None for "automatic" (``auto``, empty, not given)."""
    if value is None or value == AUTO or value == "":
        return None
    return PlaybackClock(value)


def style_in_use(chosen_style: PlaybackStyle | None, brand: PlaybackStyle | None) -> PlaybackStyle | None:
    """The style whose URLs the camera's footage is fetched with: the chosen one, else the brand's
    (the vendor template picked from the manufacturer), else none known."""
    return chosen_style if chosen_style is not None else brand


def default_clock(style: PlaybackStyle | None) -> PlaybackClock | None:
    """The clock of a style when nobody chose one; None: the person must choose (custom template)."""
    return _BY_STYLE[style]


def needs_choice(style: PlaybackStyle | None, clock: PlaybackClock | None) -> bool:
    """A custom template with the clock left automatic: refused, naming the clock field."""
    return clock is None and default_clock(style) is None


def resolved(style: PlaybackStyle | None, current: PlaybackClock, *, auto: bool) -> PlaybackClock:
    """The clock to store: the style's default while automatic, else what the camera has."""
    if not auto:
        return current
    return default_clock(style) or current


Hint = Literal["dahua_on_utc", "hikvision_on_local"]


def unusual_clock(style: PlaybackStyle | None, clock: PlaybackClock, *, auto: bool) -> Hint | None:
    """A clock chosen (or kept from before the rule) against its style's usual one: worth a look on
    the camera page, never changed silently (it may be right for that firmware)."""
    if auto:
        return None
    if style is PlaybackStyle.dahua and clock is PlaybackClock.utc:
        return "dahua_on_utc"
    if style is PlaybackStyle.hikvision and clock is PlaybackClock.local:
        return "hikvision_on_local"
    return None


__all__ = ["AUTO", "ClockChoice", "chosen", "default_clock", "needs_choice", "resolved", "style_in_use",
           "unusual_clock"]
