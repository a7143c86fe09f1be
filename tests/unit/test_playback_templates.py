"""Playback URL templates: brand → style, style → template per channel, filling in UTC or local time."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from camera_ops.footage.acquire import playback_url
from camera_ops.registry.cameras import brand_style, style_template
from storage.models import PlaybackStyle

START = datetime(2026, 11, 21, 14, 10, tzinfo=timezone.utc)
END = datetime(2026, 11, 21, 14, 40, tzinfo=timezone.utc)


@pytest.mark.parametrize(("manufacturer", "style"), [
    ("HIKVISION", PlaybackStyle.hikvision), ("HiWatch", PlaybackStyle.hikvision),
    ("Dahua", PlaybackStyle.dahua), ("KBVISION", PlaybackStyle.dahua), ("Imou", PlaybackStyle.dahua),
    ("Vantech", None), (None, None), ("", None),
])
def test_the_brand_picks_a_style_where_it_is_known(manufacturer, style):
    assert brand_style(manufacturer) is style


@pytest.mark.parametrize(("style", "channel", "expected"), [
    (PlaybackStyle.hikvision, 0, "rtsp://10.0.0.5:554/Streaming/tracks/101?starttime=20261121T141000Z&endtime=20261121T144000Z"),
    (PlaybackStyle.hikvision, 3, "rtsp://10.0.0.5:554/Streaming/tracks/301?starttime=20261121T141000Z&endtime=20261121T144000Z"),
    (PlaybackStyle.dahua, 2, "rtsp://10.0.0.5:554/cam/playback?channel=2&starttime=2026_11_21_14_10_00&endtime=2026_11_21_14_40_00"),
])
def test_vendor_styles_give_a_template_per_channel(style, channel, expected):
    template = style_template(style, "rtsp://10.0.0.5/Streaming/Channels/101", channel)
    assert playback_url(template, START, END, None) == expected


def test_local_time_templates_are_filled_in_the_camera_zone():
    template = style_template(PlaybackStyle.dahua, "rtsp://10.0.0.5:10554/x", 1)
    url = playback_url(template, START, END, "Asia/Ho_Chi_Minh")
    assert "starttime=2026_11_21_21_10_00&endtime=2026_11_21_21_40_00" in url and ":10554/" in url
