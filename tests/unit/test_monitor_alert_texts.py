"""Alert texts speak Vietnamese first and English second, in Vietnam time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from camera_ops.alerts import messages
from camera_ops.health.vocabulary import Reason, Status


def test_hamlet_down_says_how_many_and_the_likely_cause_in_both_languages():
    text = messages.hamlet_down("Thôn Đông", 4, 4)
    assert text.vi == "Thôn Đông: 4/4 camera mất kết nối — có thể do mất điện hoặc mất đường truyền"
    assert text.en == "Thôn Đông: 4 of 4 cameras offline — likely power or uplink"


def test_camera_down_names_the_reasons_and_the_local_time():
    cam = messages.CameraFacts("CAM-1", "Cổng chợ", Status.DEGRADED, (Reason.COVERED,),
                               datetime(2026, 11, 20, 1, 5, tzinfo=timezone.utc))
    text = messages.camera_down(cam, "Thôn 1", "Asia/Ho_Chi_Minh")
    assert "bị che" in text.vi.lower() and "08:05 20/11/2026" in text.vi
    assert "lens covered" in text.en.lower() and "since 08:05" in text.en


def test_durations_read_naturally():
    assert messages.duration(timedelta(minutes=75), "vi") == "1 giờ 15 phút"
    assert messages.duration(timedelta(minutes=9), "en") == "9 min"


def test_camera_worse_says_the_new_status_the_old_one_and_when_the_problem_began():
    cam = messages.CameraFacts("CAM-2", "Ngã ba", Status.OFFLINE, (Reason.UNREACHABLE,),
                               datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    text = messages.camera_worse(cam, "Thôn Đông", Status.DEGRADED,
                                 datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc), "Asia/Ho_Chi_Minh")
    assert text.vi.startswith("Camera CAM-2 (Ngã ba, Thôn Đông) chuyển sang mất kết nối")
    assert "từ 09:00 20/11/2026" in text.vi and "sự cố từ 08:00 20/11/2026" in text.vi
    assert "is now offline" in text.en and "problem since 08:00 20/11/2026" in text.en


def test_hamlet_down_for_part_of_a_hamlet_says_how_many_of_how_many():
    text = messages.hamlet_down("Thôn Đông", 3, 4)
    assert text.vi.startswith("Thôn Đông: 3/4 camera mất kết nối")
    assert text.en.startswith("Thôn Đông: 3 of 4 cameras offline")
