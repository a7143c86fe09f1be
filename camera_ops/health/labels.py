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


# What the commune police officer should do about each reason: short, concrete, in the order a
# person would try things. Never "change the camera's clock from the server": we only advise (the
# camera's clock is evidence; see DESIGN.md).
REASON_ADVICE: dict[Reason, dict[Lang, str]] = {
    Reason.UNREACHABLE: {
        "vi": "Kiểm tra nguồn điện và đường mạng tại điểm lắp; nếu cả thôn cùng mất, thường do mất điện hoặc "
              "đứt đường truyền — gọi trưởng thôn hoặc nhà mạng.",
        "en": "Check power and the network line at the site; if the whole hamlet is down it is usually a power "
              "cut or the uplink — call the hamlet head or the provider.",
    },
    Reason.TIMEOUT: {
        "vi": "Camera có mạng nhưng không trả lời: khởi động lại camera (rút điện 10 giây); kiểm tra đường truyền yếu.",
        "en": "The camera is on the network but does not answer: power-cycle it (unplug 10 s); check for a weak link.",
    },
    Reason.REFUSED: {
        "vi": "Địa chỉ đúng nhưng cổng bị đóng: camera vừa khởi động lại, hoặc bộ định tuyến của hộ gia đình đã đổi "
              "cấu hình chuyển cổng (port forward) — nhờ chủ hộ kiểm tra.",
        "en": "The address answers but the port is closed: the camera is restarting, or the household router's port "
              "forward changed — ask the household to check.",
    },
    Reason.NOT_ONVIF: {
        "vi": "Cổng đã nhập không phải cổng ONVIF: sửa cổng (thường 80, 8000, 8080, 2020, 8899) hoặc đăng ký camera "
              "theo luồng RTSP.",
        "en": "The port entered is not the ONVIF port: fix it (often 80, 8000, 8080, 2020, 8899) or register the "
              "camera by its RTSP stream.",
    },
    Reason.PROTOCOL_ERROR: {
        "vi": "Camera trả lời sai chuẩn: khởi động lại; nếu vẫn lỗi, cập nhật phần mềm camera hoặc báo kỹ thuật.",
        "en": "The camera answers out of spec: restart it; if it persists, update its firmware or call a technician.",
    },
    Reason.WRONG_PASSWORD: {
        "vi": "Mật khẩu camera đã bị đổi (thường do nhà hảo tâm hoặc người lắp đặt): hỏi họ mật khẩu mới rồi sửa "
              "trong trang camera.",
        "en": "The camera's password was changed (usually by the donor or installer): ask them for it and update "
              "it on the camera page.",
    },
    Reason.RTSP_FAILED: {
        "vi": "Camera trả lời nhưng không phát video: khởi động lại camera; kiểm tra số người xem cùng lúc (đầu ghi, "
              "ứng dụng điện thoại) chưa vượt giới hạn.",
        "en": "The camera answers but sends no video: restart it; check that other viewers (recorder, phone apps) "
              "do not exceed its limit.",
    },
    Reason.BLACK: {
        "vi": "Hình đen: đèn hồng ngoại hoặc cảm biến hỏng, hoặc ống kính bị che kín — cử người đến xem.",
        "en": "Black picture: infrared or sensor failure, or the lens is fully blocked — send someone to look.",
    },
    Reason.FROZEN: {
        "vi": "Hình đứng yên: khởi động lại camera; nếu lặp lại, camera có thể bị treo do nóng hoặc nguồn yếu.",
        "en": "Frozen picture: restart the camera; if it recurs, it may hang from heat or a weak power supply.",
    },
    Reason.COVERED: {
        "vi": "Ống kính bị che (cành cây, bao, mạng nhện, bụi): cử người đến vệ sinh hoặc tỉa cây.",
        "en": "Lens covered (branch, bag, cobweb, dust): send someone to clean it or trim the tree.",
    },
    Reason.BLURRED: {
        "vi": "Hình mờ: lau ống kính, kiểm tra hơi nước đọng bên trong vỏ; chỉnh lại tiêu cự nếu camera bị va chạm.",
        "en": "Blurred picture: wipe the lens, check for condensation inside the housing; refocus if it was knocked.",
    },
    Reason.TURNED_AWAY: {
        "vi": "Camera bị lệch hướng so với ảnh mẫu: cử người đến chỉnh lại góc quay; nếu cố ý dời, chụp lại ảnh mẫu.",
        "en": "The camera points away from its reference view: send someone to re-aim it; if it was moved on "
              "purpose, retake the reference.",
    },
    Reason.CLOCK_DRIFT: {
        "vi": "Giờ camera sai (thời gian trên video không đúng): bật đồng bộ giờ NTP trên camera — Hikvision: Cấu hình "
              "› Hệ thống › Cài đặt thời gian › NTP; Dahua/KBVision: Cài đặt › Hệ thống › Ngày giờ › NTP; "
              "Imou/Ezviz: ứng dụng › Cài đặt thiết bị › Múi giờ. Hệ thống không tự đổi giờ camera.",
        "en": "The camera's clock is wrong (times on footage are off): turn on NTP on the camera — Hikvision: "
              "Configuration › System › Time Settings › NTP; Dahua/KBVision: Setup › System › Date & Time › NTP; "
              "Imou/Ezviz: app › Device settings › Time zone. camera-ops never changes a camera's clock.",
    },
    Reason.NO_SNAPSHOT: {
        "vi": "Không lấy được ảnh chụp: kiểm tra tính năng chụp ảnh (snapshot) còn bật và tài khoản có quyền xem.",
        "en": "No snapshot: check that snapshots are enabled on the camera and the account may view them.",
    },
    Reason.NOT_RECORDING: {
        "vi": "Camera không ghi hình: kiểm tra thẻ nhớ (còn cắm, không hỏng, đã định dạng) hoặc ổ cứng đầu ghi.",
        "en": "The camera is not recording: check the SD card (present, not failed, formatted) or the recorder's disk.",
    },
}


def reason_advice(reason: Reason | str, lang: Lang = "vi") -> str:
    """What to do about ``reason``; empty for a reason the vocabulary does not know."""
    try:
        return REASON_ADVICE[Reason(reason)][lang]
    except (KeyError, ValueError):
        return ""


def status_label(status: Status | str, lang: Lang = "vi") -> str:
    return STATUS_LABELS[Status(status)][lang]


def reason_label(reason: Reason | str, lang: Lang = "vi") -> str:
    return REASON_LABELS[Reason(reason)][lang]
