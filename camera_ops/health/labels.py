"""Plain-language labels for statuses and reasons, in Vietnamese (default) and English.

Written for commune police and hamlet heads, not engineers: say what is wrong with the camera,
not which protocol failed.
"""

from __future__ import annotations

from typing import Literal

from camera_ops.health.vocabulary import Reason, Status

Lang = Literal["vi", "en"]

STATUS_LABELS: dict[Status, dict[Lang, str]] = {
    Status.ONLINE: {"vi": "Hoạt động", "en": "Online"},
    Status.DEGRADED: {"vi": "Hoạt động kém", "en": "Degraded"},
    Status.OFFLINE: {"vi": "Mất kết nối", "en": "Offline"},
    Status.UNAUTHORIZED: {"vi": "Không đăng nhập được", "en": "Cannot log in"},
    Status.MAINTENANCE: {"vi": "Đang bảo trì", "en": "In maintenance"},
    Status.UNKNOWN: {"vi": "Chưa rõ", "en": "Unknown"},
}

REASON_LABELS: dict[Reason, dict[Lang, str]] = {
    Reason.UNREACHABLE: {"vi": "Không liên lạc được", "en": "Cannot be reached"},
    Reason.TIMEOUT: {"vi": "Không phản hồi", "en": "Not responding"},
    Reason.REFUSED: {"vi": "Từ chối kết nối", "en": "Connection refused"},
    Reason.NOT_ONVIF: {"vi": "Không hỗ trợ ONVIF", "en": "Not an ONVIF camera"},
    Reason.PROTOCOL_ERROR: {"vi": "Lỗi giao tiếp", "en": "Communication error"},
    Reason.WRONG_PASSWORD: {"vi": "Sai mật khẩu", "en": "Wrong password"},
    Reason.RTSP_FAILED: {"vi": "Không lấy được video", "en": "No video stream"},
    Reason.BLACK: {"vi": "Hình ảnh đen", "en": "Black picture"},
    Reason.FROZEN: {"vi": "Đứng hình", "en": "Frozen picture"},
    Reason.COVERED: {"vi": "Bị che", "en": "Lens covered"},
    Reason.BLURRED: {"vi": "Hình ảnh mờ", "en": "Blurred picture"},
    Reason.TURNED_AWAY: {"vi": "Lệch hướng", "en": "Turned away"},
    Reason.CLOCK_DRIFT: {"vi": "Sai giờ", "en": "Clock wrong"},
    Reason.NO_SNAPSHOT: {"vi": "Không lấy được ảnh", "en": "No snapshot"},
    Reason.NOT_RECORDING: {"vi": "Không ghi hình (thẻ nhớ?)", "en": "Not recording (SD card?)"},
}


def status_label(status: Status | str, lang: Lang = "vi") -> str:
    return STATUS_LABELS[Status(status)][lang]


def reason_label(reason: Reason | str, lang: Lang = "vi") -> str:
    return REASON_LABELS[Reason(reason)][lang]
