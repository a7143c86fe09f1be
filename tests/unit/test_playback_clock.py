"""The playback clock when nobody chose one: by the playback style, never over a person's choice."""

from __future__ import annotations

import pytest

from camera_ops.registry import playback_clock as rule
from camera_ops.registry.cameras import brand_style
from storage.models import PlaybackClock, PlaybackStyle

UTC, LOCAL = PlaybackClock.utc, PlaybackClock.local


@pytest.mark.parametrize("style, clock", [
    (PlaybackStyle.dahua, LOCAL),  # Dahua firmware and its OEMs: local time, no zone in the URL
    (PlaybackStyle.hikvision, UTC),  # ...Z honoured as UTC
    (PlaybackStyle.onvif_replay, UTC),  # Range: clock= is UTC by the spec
    (PlaybackStyle.none, UTC),
    (None, UTC),  # no style and no known brand
    (PlaybackStyle.custom, None),  # the person who typed the template must say
])
def test_the_default_clock_of_each_style(style, clock) -> None:
    assert rule.default_clock(style) is clock


@pytest.mark.parametrize("manufacturer, clock", [
    ("Dahua", LOCAL), ("KBVISION", LOCAL), ("Imou", LOCAL), ("Amcrest", LOCAL),
    ("HIKVISION", UTC), ("HiWatch", UTC), ("Vantech", UTC), (None, UTC),
])
def test_a_style_chosen_from_the_brand_brings_its_clock(manufacturer, clock) -> None:
    style = rule.style_in_use(None, brand_style(manufacturer))
    assert rule.resolved(style, UTC, auto=True) is clock


@pytest.mark.parametrize("chosen_style, brand, expected", [
    (PlaybackStyle.dahua, PlaybackStyle.hikvision, PlaybackStyle.dahua),  # the person's pick wins
    (None, PlaybackStyle.dahua, PlaybackStyle.dahua),
    (None, None, None),
    (PlaybackStyle.custom, PlaybackStyle.dahua, PlaybackStyle.custom),
])
def test_the_style_in_use(chosen_style, brand, expected) -> None:
    assert rule.style_in_use(chosen_style, brand) is expected


@pytest.mark.parametrize("style, current, auto, expected", [
    (PlaybackStyle.dahua, UTC, True, LOCAL),
    (PlaybackStyle.dahua, UTC, False, UTC),  # chosen (or kept from before the rule): never changed
    (PlaybackStyle.hikvision, LOCAL, True, UTC),
    (PlaybackStyle.hikvision, LOCAL, False, LOCAL),
    (PlaybackStyle.custom, LOCAL, True, LOCAL),  # no default: what it has stays
])
def test_only_an_automatic_clock_is_resolved(style, current, auto, expected) -> None:
    assert rule.resolved(style, current, auto=auto) is expected


@pytest.mark.parametrize("value, expected", [
    (None, None), ("auto", None), ("", None), ("utc", UTC), ("local", LOCAL), (LOCAL, LOCAL),
])
def test_what_counts_as_a_choice(value, expected) -> None:
    assert rule.chosen(value) is expected


def test_an_unknown_clock_is_refused() -> None:
    with pytest.raises(ValueError):
        rule.chosen("cet")


@pytest.mark.parametrize("style, clock, needs", [
    (PlaybackStyle.custom, None, True), (PlaybackStyle.custom, UTC, False),
    (PlaybackStyle.dahua, None, False), (None, None, False),
])
def test_a_custom_template_needs_a_clock(style, clock, needs) -> None:
    assert rule.needs_choice(style, clock) is needs


@pytest.mark.parametrize("style, clock, auto, hint", [
    (PlaybackStyle.dahua, UTC, False, "dahua_on_utc"),  # an existing Dahua camera on the old default
    (PlaybackStyle.dahua, UTC, True, None),
    (PlaybackStyle.dahua, LOCAL, False, None),
    (PlaybackStyle.hikvision, LOCAL, False, "hikvision_on_local"),
    (PlaybackStyle.hikvision, UTC, False, None),
    (PlaybackStyle.custom, UTC, False, None),
    (None, LOCAL, False, None),
])
def test_an_unusual_clock_is_pointed_out_not_changed(style, clock, auto, hint) -> None:
    assert rule.unusual_clock(style, clock, auto=auto) == hint
