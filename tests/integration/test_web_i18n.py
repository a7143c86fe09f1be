"""Vietnamese formats and the handshake view: pure functions, no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from api.web.csrf import csrf_token, token_matches
from api.web.handshake_view import describe
from camera_ops import i18n
from camera_ops.errors import CameraAuthFailed, Conflict


@pytest.mark.parametrize(("value", "decimals", "lang", "text"), [
    (1234.5, 1, "vi", "1.234,5"), (1234567, 0, "vi", "1.234.567"), (0.25, 2, "vi", "0,25"),
    (1234.5, 1, "en", "1,234.5"), (None, 0, "vi", "—"),
])
def test_numbers_use_the_vietnamese_separators(value, decimals, lang, text):
    assert i18n.fmt_number(value, decimals, lang) == text


def test_times_are_shown_in_vietnam_time_day_first():
    at = datetime(2025, 12, 31, 17, 30, tzinfo=timezone.utc)  # 00:30 on 1 January in Hanoi
    assert i18n.fmt_datetime(at) == "01/01/2026 00:30"
    assert i18n.fmt_date(at) == "01/01/2026" and i18n.fmt_date(date(2025, 6, 30)) == "30/06/2025"
    assert i18n.fmt_percent(97.26) == "97,3\u00a0%"


def test_a_time_typed_in_vietnam_is_stored_as_utc():
    assert i18n.parse_local_datetime("2026-01-01T07:00") == datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("span", "vi", "en"), [
    (timedelta(seconds=20), "vừa xong", "just now"), (timedelta(minutes=8), "8 phút", "8 min"),
    (timedelta(hours=5, minutes=12), "5 giờ 12 phút", "5 h 12 min"), (timedelta(hours=50), "2 ngày 2 giờ", "2 d 2 h"),
])
def test_durations_are_said_at_the_precision_a_person_needs(span, vi, en):
    assert i18n.fmt_duration(span, "vi") == vi and i18n.fmt_duration(span, "en") == en


def test_every_message_has_both_languages_and_unknown_keys_fail_loudly():
    assert all(all(i18n.texts(key)) for key in i18n.all_keys())
    with pytest.raises(KeyError):
        i18n.t("no.such.key")
    assert i18n.reason_text("wrong_password") == "Sai mật khẩu" and i18n.reason_text("covered", "en") == "Lens covered"


def test_the_csrf_token_is_bound_to_the_login():
    token = csrf_token("jwt-a", "key")
    assert token_matches(token, "jwt-a", "key")
    assert not token_matches(token, "jwt-b", "key") and not token_matches(None, "jwt-a", "key")


def test_a_refused_password_marks_the_login_step_and_says_what_to_fix():
    steps = describe(None, CameraAuthFailed("401", field="password"), host="h", port=80, username="u",
                     clock_warning_s=300)
    assert [(s.step, s.state) for s in steps[:4]] == [
        ("connect", "found"), ("onvif", "found"), ("login", "failed"), ("identity", "skipped")]
    assert steps[2].fix_key == "add.fix.password"


def test_a_duplicate_device_points_at_the_existing_camera():
    steps = describe(None, Conflict("already registered as 'A-1'", field="host"), host="h", port=80, username="u",
                     clock_warning_s=300)
    assert steps[0].step == "duplicate" and steps[0].fix_key == "add.fix.duplicate"


def test_a_successful_handshake_lists_every_field_found_and_warns_about_the_clock():
    handshake = {"manufacturer": "Hikvision", "model": "DS-2CD", "firmware": "V5", "mac": "aa:bb:cc:dd:ee:ff",
                 "serial": "S1", "profiles": [{"token": "p0", "name": "main", "encoding": "h264", "width": 1920,
                                               "height": 1080, "fps": 25.0}],
                 "main_stream_uri": "rtsp://h/1", "snapshot_uri": None, "profile_g": True, "replay_uri": "rtsp://h/r",
                 "clock_offset_s": 420.0, "auth_method": "digest"}
    steps = {s.step: s for s in describe(handshake, None, host="h", port=80, username="u", clock_warning_s=300)}
    assert "Hikvision" in steps["identity"].value and "MAC aa:bb:cc:dd:ee:ff" in steps["identity"].value
    assert steps["profiles"].value == "main H264 1920×1080 25 fps"
    assert steps["snapshot"].state == "warning" and steps["clock"].state == "warning"
    assert steps["replay"].state == "found"
