"""The words and formats of the user interface: Vietnamese first, English second.

- ``t(key, lang)`` looks a message up; an unknown key raises ``KeyError`` (tests render every page
  in both languages, so a missing string is a failing test, never a silently shown key).
- Numbers in Vietnamese style (``1.234,5``: dot groups thousands, comma marks decimals); English
  pages use ``1,234.5``.
- Dates and times are shown in Vietnam time (Asia/Ho_Chi_Minh, UTC+7, no daylight saving) as
  ``dd/mm/yyyy HH:MM`` in both languages: storage stays UTC, conversion happens only here.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"
DISPLAY_TZ = "Asia/Ho_Chi_Minh"
DASH = "—"


def parse_lang(value: str | None) -> Lang | None:
    if value == "vi":
        return "vi"
    if value == "en":
        return "en"
    return None


# --- messages ------------------------------------------------------------------------------------
# key: (Vietnamese, English). Placeholders use str.format names.

MESSAGES: dict[str, tuple[str, str]] = {
    # recording reach (camera page)
    "camera.recording_reach": ("Dữ liệu ghi trên camera", "Footage on the camera"),
    "camera.recording_reach_value": ("từ {earliest} đến {latest}", "from {earliest} to {latest}"),
    "camera.recording_checked": ("kiểm tra lúc {at}", "checked {at}"),
    "camera.recording_reach_unknown": ("Camera không cho biết", "The camera does not tell"),
    # WS-Discovery (find cameras on a network)
    "discover.title": ("Tìm camera trên mạng", "Find cameras on the network"),
    "discover.intro": (
        "Gửi yêu cầu WS-Discovery: trong mạng nội bộ (multicast) hoặc tới một dải địa chỉ (qua VPN, "
        "qua router). Camera đã đăng ký được đánh dấu.",
        "Sends a WS-Discovery probe: on the local network (multicast) or to an address range (through a "
        "VPN or a router). Cameras already registered are marked.",
    ),
    "discover.range": ("Dải địa chỉ", "Address range"),
    "discover.range_hint": ("ví dụ 192.168.1.10-192.168.1.60 hoặc 10.8.0.0/24", "e.g. 192.168.1.10-192.168.1.60 or 10.8.0.0/24"),
    "discover.multicast": ("Cả mạng nội bộ (multicast)", "Local network too (multicast)"),
    "discover.timeout": ("Chờ trả lời (giây)", "Wait for answers (seconds)"),
    "discover.run": ("Tìm", "Search"),
    "discover.found": ("Tìm thấy {count} thiết bị (đã dò {probed} địa chỉ)", "{count} devices found ({probed} addresses probed)"),
    "discover.none": ("Không thiết bị nào trả lời.", "No device answered."),
    "discover.address": ("Địa chỉ", "Address"),
    "discover.device": ("Thiết bị", "Device"),
    "discover.registered": ("Đã đăng ký", "Registered"),
    "discover.registered_as": ("Đã đăng ký: {code} (theo {how})", "Registered: {code} (by {how})"),
    "discover.registered_elsewhere": ("Đã đăng ký ở địa bàn khác (theo {how})", "Registered in another area (by {how})"),
    "discover.not_registered": ("Chưa đăng ký", "Not registered"),
    "discover.register": ("Đăng ký", "Register"),
    "discover.how.mac": ("địa chỉ MAC", "MAC address"),
    "discover.how.serial": ("số sê-ri", "serial number"),
    "discover.how.endpoint": ("địa chỉ và cổng", "address and port"),
    "discover.warning.reported_other_address": (
        "Thiết bị báo một địa chỉ khác ({xaddrs}); dùng địa chỉ đã trả lời",
        "The device reports another address ({xaddrs}); the address that answered is used",
    ),
    "discover.rejected_title": ("Trả lời bị bỏ qua", "Ignored answers"),
    "discover.rejected.malformed": ("{source}: trả lời không đúng định dạng WS-Discovery — bỏ qua",
                                    "{source}: the answer is not valid WS-Discovery — ignored"),
    "discover.rejected.too_large": ("{source}: trả lời quá lớn — bỏ qua", "{source}: the answer is too large — ignored"),
    "discover.rejected.not_ours": ("{source}: trả lời không khớp với yêu cầu đã gửi — bỏ qua",
                                   "{source}: the answer does not relate to our probe — ignored"),
    "discover.rejected.outside_range": ("{source}: trả lời từ địa chỉ nằm ngoài dải đã dò — bỏ qua",
                                        "{source}: answer from an address outside the probed range — ignored"),
    "app.title": ("Camera an ninh", "Security cameras"),
    "app.subtitle": ("Quản lý camera an ninh cộng đồng", "Community security camera operations"),
    # navigation
    "nav.board": ("Tình trạng", "Health"),
    "nav.map": ("Bản đồ", "Map"),
    "nav.cameras": ("Camera", "Cameras"),
    "nav.areas": ("Thôn / tổ", "Hamlets"),
    "nav.donors": ("Nhà hảo tâm", "Donors"),
    "nav.dossiers": ("Hồ sơ mô hình", "Model dossiers"),
    "nav.cases": ("Vụ việc", "Cases"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "nav.menu": ("Danh mục", "Menu"),
    "nav.switch_lang": ("English", "Tiếng Việt"),
    # login
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.failed": ("Sai tên đăng nhập hoặc mật khẩu", "Wrong username or password"),
    "login.as": ("{name} · {role}", "{name} · {role}"),
    # generic
    "common.save": ("Lưu", "Save"),
    "common.cancel": ("Hủy", "Cancel"),
    "common.search": ("Tìm", "Search"),
    "common.filter": ("Lọc", "Filter"),
    "common.all": ("Tất cả", "All"),
    "common.yes": ("Có", "Yes"),
    "common.no": ("Không", "No"),
    "common.none": ("Chưa có", "None"),
    "common.total": ("Tổng", "Total"),
    "common.edit": ("Sửa", "Edit"),
    "common.view": ("Xem", "View"),
    "common.back": ("Quay lại", "Back"),
    "common.next": ("Trang sau", "Next page"),
    "common.prev": ("Trang trước", "Previous page"),
    "common.showing": ("{shown} / {total}", "{shown} of {total}"),
    "common.name": ("Tên", "Name"),
    "common.code": ("Mã", "Code"),
    "common.kind": ("Loại", "Kind"),
    "common.note": ("Ghi chú", "Note"),
    "common.phone": ("Điện thoại", "Phone"),
    "common.address": ("Địa chỉ", "Address"),
    "common.area": ("Địa bàn", "Area"),
    "common.hamlet": ("Thôn / tổ", "Hamlet"),
    "common.commune": ("Xã / phường", "Commune"),
    "common.status": ("Trạng thái", "Status"),
    "common.since": ("Từ", "Since"),
    "common.cameras": ("Số camera", "Cameras"),
    "common.actions": ("Thao tác", "Actions"),
    "common.not_yet": (
        "Chưa có: phần này chờ mô-đun {module} (đang xây dựng).",
        "Not yet available: this part waits for the {module} module (being built).",
    ),
    "common.error": ("Có lỗi", "Something went wrong"),
    "common.field": ("Mục cần sửa: {field}", "Field to fix: {field}"),
    "common.print": ("In", "Print"),
    # errors
    "error.not_found": ("Không tìm thấy", "Not found"),
    "api.busy": ("Máy chủ đang bận, vui lòng thử lại sau giây lát.", "The server is busy; try again in a moment."),
    "error.not_found_text": (
        "Trang này không có, hoặc nằm ngoài địa bàn của bạn.",
        "This page does not exist, or is outside your area.",
    ),
    "error.forbidden": ("Không có quyền", "Not allowed"),
    "error.forbidden_text": ("Vai trò của bạn không được xem trang này.", "Your role may not open this page."),
    "error.csrf": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.",
        "The form expired or is invalid. Reload the page and try again.",
    ),
    # roles
    "role.admin": ("Quản trị", "Administrator"),
    "role.commune_police": ("Công an xã", "Commune police"),
    "role.officer": ("Cán bộ điều tra", "Investigating officer"),
    "role.manager": ("Ban chỉ đạo", "Model manager"),
    "role.auditor": ("Kiểm sát / thanh tra", "Auditor"),
    # camera status (same words as camera_ops.health.labels)
    "status.online": ("Hoạt động", "Online"),
    "status.degraded": ("Hoạt động kém", "Degraded"),
    "status.offline": ("Mất kết nối", "Offline"),
    "status.unauthorized": ("Không đăng nhập được", "Cannot log in"),
    "status.maintenance": ("Đang bảo trì", "In maintenance"),
    "status.unknown": ("Chưa rõ", "Unknown"),
    # lifecycle, registration, recording, watches
    "lifecycle.active": ("Đang dùng", "Active"),
    "lifecycle.maintenance": ("Bảo trì", "Maintenance"),
    "lifecycle.retired": ("Đã thu hồi", "Retired"),
    "registration.pending": ("Chờ kết nối", "Pending handshake"),
    "status.not_connected": ("Chưa kết nối", "Not connected yet"),
    "camera.connect_now": ("Kết nối ngay", "Connect now"),
    "camera.not_connected_text": (
        "Camera chưa kết nối lần nào: không theo dõi, không cảnh báo, không tính vào tỷ lệ hoạt động cho tới khi kết nối được.",
        "This camera was never connected: not monitored, never alerted on, not counted in uptime until it connects.",
    ),
    "camera.kind": ("Loại kết nối", "Connection kind"),
    "camera_kind.onvif": ("ONVIF", "ONVIF"),
    "camera_kind.rtsp": ("Chỉ RTSP (không ONVIF)", "RTSP only (no ONVIF)"),
    "camera_kind.recorder_channel": ("Kênh đầu ghi (DVR/NVR)", "Recorder channel (DVR/NVR)"),
    "camera.channel": ("Kênh", "Channel"),
    "camera.stream_url": ("Địa chỉ luồng chính (rtsp://)", "Main stream address (rtsp://)"),
    "camera.sub_stream_url": ("Địa chỉ luồng phụ (rtsp://, không bắt buộc)", "Sub stream address (rtsp://, optional)"),
    "camera.snapshot_url": ("Địa chỉ chụp ảnh (http://, không bắt buộc)", "Snapshot address (http://, optional)"),
    "camera.rtsp_port": ("Cổng RTSP bên ngoài (nếu chuyển cổng)", "Outside RTSP port (port forward)"),
    "camera.http_port": ("Cổng HTTP bên ngoài (nếu chuyển cổng)", "Outside HTTP port (port forward)"),
    "camera.rtsp_legend": ("Camera chỉ có RTSP (ONVIF tắt hoặc không có)", "RTSP-only camera (ONVIF off or absent)"),
    "camera.reach_legend": ("Đường vào camera (chuyển cổng / VPN)", "Reaching the camera (port forward / VPN)"),
    "camera.playback_legend": ("Lấy dữ liệu ghi hình", "Recorded footage"),
    "camera.playback_style": ("Cách phát lại", "Playback"),
    "camera.playback_template": ("Mẫu địa chỉ phát lại ({start}, {end})", "Playback URL template ({start}, {end})"),
    "camera.playback_clock": ("Giờ trong mẫu", "Times in the template"),
    "playback_style.auto": ("Tự chọn theo hãng", "Automatic (from the brand)"),
    "playback_style.onvif_replay": ("ONVIF Profile G", "ONVIF Profile G"),
    "playback_style.hikvision": ("Kiểu Hikvision", "Hikvision-style"),
    "playback_style.dahua": ("Kiểu Dahua (KBVision, Imou…)", "Dahua-style (KBVision, Imou…)"),
    "playback_style.custom": ("Mẫu tự nhập", "Custom template"),
    "playback_style.none": ("Không (chỉ ghi trực tiếp)", "None (live capture only)"),
    "playback_clock.utc": ("Giờ UTC của camera", "Camera clock, UTC"),
    "playback_clock.local": ("Giờ địa phương của camera", "Camera clock, local time"),
    "camera.streams_list": ("Luồng chính / phụ / ảnh", "Main / sub / snapshot"),
    "registration.registered": ("Đã đăng ký", "Registered"),
    "recording.onvif_replay": ("ONVIF Profile G", "ONVIF Profile G"),
    "recording.vendor_playback": ("Phát lại của hãng", "Vendor playback"),
    "recording.none": ("Không ghi hình", "No recording"),
    "watches.entrance": ("Cổng thôn / lối vào", "Entrance"),
    "watches.crossroads": ("Ngã ba / ngã tư", "Crossroads"),
    "watches.market": ("Chợ", "Market"),
    "watches.school": ("Trường học", "School"),
    "watches.road": ("Đường", "Road"),
    "watches.public_place": ("Nơi công cộng", "Public place"),
    "watches.other": ("Khác", "Other"),
    "donor_kind.household": ("Hộ gia đình", "Household"),
    "donor_kind.business": ("Doanh nghiệp", "Business"),
    "donor_kind.organisation": ("Tổ chức", "Organisation"),
    "donor_kind.person": ("Cá nhân", "Person"),
    "area_kind.province": ("Tỉnh / thành phố", "Province"),
    "area_kind.commune": ("Xã / phường", "Commune"),
    "area_kind.hamlet": ("Thôn / tổ dân phố", "Hamlet"),
    "model_status.active": ("Đang hoạt động", "Active"),
    "model_status.ended": ("Đã kết thúc", "Ended"),
    "review_kind.interim": ("Sơ kết", "Interim review"),
    "review_kind.final": ("Tổng kết", "Final review"),
    "verdict.maintain": ("Duy trì", "Maintain"),
    "verdict.replicate": ("Nhân rộng", "Replicate"),
    "verdict.end": ("Kết thúc", "End"),
    # health board
    "board.title": ("Tình trạng camera", "Camera health"),
    "board.rollup": ("Theo xã và thôn", "By commune and hamlet"),
    "board.open_commune": ("Xem các thôn của xã này", "Show this commune's hamlets"),
    "board.problems": ("Camera đang có sự cố", "Cameras with problems"),
    "board.no_problems": ("Không có camera nào gặp sự cố.", "No camera has a problem."),
    "board.duration": ("Đã kéo dài", "Lasting"),
    "board.reason": ("Lý do", "Reason"),
    "board.snapshot": ("Ảnh gần nhất", "Last snapshot"),
    "board.no_snapshot": ("Chưa có ảnh", "No snapshot"),
    "board.acknowledge": ("Đã biết", "Acknowledge"),
    "board.assign": ("Giao cho", "Assign to"),
    "board.close": ("Đóng", "Close"),
    "board.acknowledged_by": ("{name} đã biết", "acknowledged by {name}"),
    "board.assigned_to": ("Giao: {name}", "Assigned: {name}"),
    "board.maintenance_on": ("Chuyển bảo trì", "Start maintenance"),
    "board.maintenance_off": ("Hết bảo trì", "End maintenance"),
    "board.useful": ("Dùng được", "Usable"),
    "board.problem_count": ("{n} sự cố", "{n} problems"),
    "board.actions_pending": (
        "Chưa có: xác nhận / giao việc / đóng sự cố chờ mô-đun giám sát.",
        "Not yet: acknowledge / assign / close wait for the monitoring module.",
    ),
    "problem_state.open": ("Mới", "Open"),
    "assignee.hamlet_head": ("Trưởng thôn", "Hamlet head"),
    "assignee.donor": ("Nhà hảo tâm", "Donor"),
    "assignee.technician": ("Thợ kỹ thuật", "Technician"),
    "assignee.police": ("Công an viên", "Police"),
    "problem_state.acknowledged": ("Đã biết", "Acknowledged"),
    "problem_state.closed": ("Đã đóng", "Closed"),
    # map
    "map.title": ("Bản đồ camera", "Camera map"),
    "map.no_tiles": (
        "Chưa cấu hình máy chủ bản đồ nền: chỉ hiện vị trí camera.",
        "No map tile server is configured: camera positions only.",
    ),
    "map.no_position": ("{n} camera chưa có tọa độ.", "{n} cameras have no coordinates."),
    "map.open": ("Mở trang camera", "Open camera page"),
    "map.legend": ("Chú giải", "Legend"),
    # cameras
    "cameras.title": ("Danh sách camera", "Cameras"),
    "cameras.add": ("Thêm camera", "Add camera"),
    "cameras.import": ("Nhập từ CSV", "Import CSV"),
    "cameras.search_hint": ("Mã, tên, địa chỉ, MAC…", "Code, name, address, MAC…"),
    "cameras.empty": ("Chưa có camera nào.", "No cameras yet."),
    "camera.identity": ("Nhận dạng thiết bị", "Device identity"),
    "camera.install": ("Điểm lắp đặt", "Install point"),
    "camera.donor": ("Nhà hảo tâm", "Donor"),
    "camera.donated_on": ("Ngày tặng", "Donated on"),
    "camera.model_dossier": ("Mô hình", "Security model"),
    "camera.manufacturer": ("Hãng", "Manufacturer"),
    "camera.device_model": ("Model thiết bị", "Device model"),
    "camera.firmware": ("Phần mềm", "Firmware"),
    "camera.serial": ("Số sê-ri", "Serial number"),
    "camera.mac": ("Địa chỉ MAC", "MAC address"),
    "camera.host": ("Địa chỉ IP / tên máy", "IP address / host"),
    "camera.onvif_port": ("Cổng ONVIF", "ONVIF port"),
    "camera.username": ("Tài khoản camera", "Camera username"),
    "camera.password": ("Mật khẩu camera", "Camera password"),
    "camera.password_keep": ("Để trống nếu không đổi", "Leave empty to keep"),
    "camera.password_for_move": (
        "Đổi địa chỉ, cổng hoặc đường dẫn luồng cần nhập lại mật khẩu camera (trừ quản trị viên).",
        "Changing the address, a port or a stream address needs the camera password again (except administrators).",
    ),
    "camera.auth": ("Xác thực ONVIF", "ONVIF authentication"),
    "camera.auth_digest": ("Mã hóa (digest)", "Digest (password never sent in clear)"),
    "camera.auth_plaintext": (
        "Mật khẩu gửi dạng rõ (camera chỉ chấp nhận kiểu này khi đăng ký)",
        "Plain-text password (the camera accepted only this at registration)",
    ),
    "camera.latitude": ("Vĩ độ", "Latitude"),
    "camera.longitude": ("Kinh độ", "Longitude"),
    "camera.watches": ("Quan sát", "Watches"),
    "camera.bearing": ("Hướng (độ, 0 = bắc)", "Bearing (degrees, 0 = north)"),
    "camera.recording": ("Ghi hình", "Recording"),
    "camera.lifecycle": ("Sử dụng", "Lifecycle"),
    "camera.registration": ("Đăng ký", "Registration"),
    "camera.clock_offset": ("Lệch giờ", "Clock offset"),
    "camera.streams": ("Luồng video", "Streams"),
    "camera.timeline": ("Diễn biến trạng thái", "Status timeline"),
    "camera.days": ("{n} ngày", "{n} days"),
    "camera.uptime": ("Tỷ lệ hoạt động", "Uptime"),
    "camera.notes": ("Ghi chú bảo trì", "Maintenance notes"),
    "camera.edit": ("Sửa thông tin camera", "Edit camera"),
    "camera.reasons": ("Lý do", "Reasons"),
    "camera.handshake_error": ("Lần kết nối gần nhất lỗi", "Last handshake failed"),
    "camera.retire": ("Thu hồi", "Retire"),
    # add camera / handshake
    "add.title": ("Thêm camera (kết nối ONVIF)", "Add a camera (ONVIF handshake)"),
    "add.pending": ("Lưu chờ kết nối sau (không kết nối ngay)", "Save as pending (no handshake now)"),
    "add.keep_unreachable": (
        "Vẫn lưu nếu camera chưa liên lạc được",
        "Save anyway if the camera cannot be reached",
    ),
    "add.submit": ("Kết nối và lưu", "Connect and save"),
    "add.result": ("Kết quả kết nối", "Handshake result"),
    "add.found": ("Đã đọc được", "Found"),
    "add.failed": ("Không được", "Failed"),
    "add.fix": ("Cần sửa", "What to fix"),
    "add.skipped": ("Chưa tới bước này", "Not reached"),
    "add.warning": ("Thiếu / cần lưu ý", "Missing / check"),
    "add.saved": ("Đã lưu camera {code}.", "Camera {code} saved."),
    "add.not_saved": ("Chưa lưu camera.", "The camera was not saved."),
    "add.warnings": ("Lưu ý", "Warnings"),
    "add.step.connect": ("Kết nối tới camera", "Reach the camera"),
    "add.step.onvif": ("Dịch vụ ONVIF", "ONVIF service"),
    "add.step.login": ("Đăng nhập camera", "Log in to the camera"),
    "add.step.identity": ("Thông tin thiết bị", "Device information"),
    "add.step.profiles": ("Cấu hình video", "Media profiles"),
    "add.step.stream": ("Địa chỉ luồng video", "Stream address"),
    "add.step.snapshot": ("Địa chỉ chụp ảnh", "Snapshot address"),
    "add.step.replay": ("Phát lại (Profile G)", "Replay (Profile G)"),
    "add.step.clock": ("Đồng hồ camera", "Camera clock"),
    "add.step.duplicate": ("Trùng thiết bị", "Duplicate device"),
    "add.step.input": ("Thông tin nhập", "Input"),
    "add.step.rtsp_main": ("Luồng chính (DESCRIBE + khung hình)", "Main stream (DESCRIBE + keyframe)"),
    "add.step.rtsp_sub": ("Luồng phụ", "Sub stream"),
    "add.step.rtsp_snapshot": ("Ảnh chụp HTTP", "HTTP snapshot"),
    "add.fix.stream_url": (
        "Kiểm tra đường dẫn luồng (ví dụ /Streaming/Channels/101, /cam/realmonitor?channel=1&subtype=0) và bật H.264/H.265.",
        "Check the stream path (e.g. /Streaming/Channels/101, /cam/realmonitor?channel=1&subtype=0) and enable H.264/H.265.",
    ),
    "add.fix.rtsp_port": (
        "Không có gì nghe ở cổng RTSP này: kiểm tra cổng (thường 554) hoặc cổng chuyển tiếp trên router.",
        "Nothing listens on this RTSP port: check the port (usually 554) or the router's forwarded port.",
    ),
    "add.fix.snapshot_url": ("Kiểm tra địa chỉ chụp ảnh hoặc bỏ trống.", "Check the snapshot address or leave it empty."),
    "add.fix.rtsp_port_onvif": (
        "Cổng này là cổng RTSP, không phải ONVIF. Thử cổng ONVIF thường gặp: 80, 8000, 8080, 2020, 8899.",
        "This is the RTSP port, not ONVIF. Try the usual ONVIF ports: 80, 8000, 8080, 2020, 8899.",
    ),
    "add.fix.clock": (
        "Đồng hồ camera lệch quá xa nên camera từ chối chữ ký; đã thử lại theo giờ của camera. Hãy bật NTP trên camera.",
        "The camera's clock is far off so it rejected the signature; we retried on the camera's time. Turn on NTP on the camera.",
    ),
    "add.fix.host": ("Kiểm tra địa chỉ IP, nguồn điện và mạng của camera.", "Check the camera's IP, power and network."),
    "add.fix.port": (
        "Kiểm tra cổng ONVIF (thường là 80, 8000 hoặc 8899) và bật ONVIF trên camera.",
        "Check the ONVIF port (usually 80, 8000 or 8899) and enable ONVIF on the camera.",
    ),
    "add.fix.password": (
        "Kiểm tra tài khoản và mật khẩu; nhiều camera cần tạo tài khoản ONVIF riêng.",
        "Check the username and password; many cameras need a separate ONVIF user.",
    ),
    "add.fix.profile": (
        "Bật luồng H.264 hoặc H.265 trên camera.",
        "Enable an H.264 or H.265 stream on the camera.",
    ),
    "add.fix.duplicate": (
        "Thiết bị này đã được đăng ký; mở camera đã có thay vì thêm mới.",
        "This device is already registered; open the existing camera instead.",
    ),
    "add.fix.other": ("Sửa mục được đánh dấu rồi thử lại.", "Fix the marked field and try again."),
    # import
    "import.title": ("Nhập camera từ tệp CSV", "Import cameras from CSV"),
    "import.file": ("Tệp CSV (UTF-8)", "CSV file (UTF-8)"),
    "import.handshake": ("Kết nối ONVIF từng camera (chậm)", "Handshake every camera (slow)"),
    "import.columns": ("Cột bắt buộc: {required}. Cột thêm: {optional}.", "Required columns: {required}. Optional: {optional}."),
    "import.submit": ("Nhập", "Import"),
    "import.row": ("Dòng", "Row"),
    "import.outcome": ("Kết quả", "Outcome"),
    "import.message": ("Chi tiết", "Details"),
    "import.summary": ("{created} tạo mới, {duplicate} trùng, {error} lỗi", "{created} created, {duplicate} duplicates, {error} errors"),
    "outcome.created": ("Tạo mới", "Created"),
    "outcome.duplicate": ("Đã có", "Duplicate"),
    "outcome.error": ("Lỗi", "Error"),
    "outcome.unchanged": ("Không đổi", "Unchanged"),
    "outcome.renamed": ("Đổi tên", "Renamed"),
    # areas / donors / dossiers
    "areas.title": ("Địa bàn: xã và thôn", "Areas: communes and hamlets"),
    "areas.renamed_from": ("Tên cũ: {names}", "Former names: {names}"),
    "areas.add": ("Thêm xã / thôn", "Add a commune or hamlet"),
    "areas.parent": ("Thuộc đơn vị", "Belongs to"),
    "areas.edit": ("Đổi tên / sáp nhập", "Rename / merge"),
    "areas.names": ("Các tên qua thời gian", "Names over time"),
    "areas.now": ("nay", "now"),
    "areas.rename": ("Đổi tên", "Rename"),
    "areas.new_name": ("Tên mới", "New name"),
    "areas.reason": ("Căn cứ / lý do", "Basis / reason"),
    "areas.reason_hint": ("VD: Nghị quyết số …/NQ-HĐND", "e.g. Resolution no. …/NQ-HĐND"),
    "areas.merge": ("Sáp nhập", "Merge"),
    "areas.merge_help": (
        "Các thôn và camera của đơn vị này chuyển sang đơn vị được chọn; đơn vị này đóng lại nhưng vẫn giữ mã, "
        "tên cũ và lịch sử.",
        "This unit's hamlets and cameras move to the chosen unit; this unit closes but keeps its code, "
        "former names and history.",
    ),
    "areas.merge_into": ("Sáp nhập vào", "Merge into"),
    "areas.merge_confirm": ("Tôi xác nhận sáp nhập “{name}”", "I confirm merging “{name}”"),
    "areas.closed": ("Đơn vị này đã được sáp nhập và không còn hoạt động.", "This unit was merged and is closed."),
    "donors.title": ("Nhà hảo tâm", "Donors"),
    "donors.add": ("Thêm nhà hảo tâm", "Add donor"),
    "donors.contact": ("Người liên hệ", "Contact"),
    "dossiers.title": ("Hồ sơ mô hình “Camera an ninh”", "“Camera an ninh” model dossiers"),
    "dossier.decision": ("Quyết định thành lập", "Establishing decision"),
    "dossier.decision_value": ("Số {number} ngày {date}", "No. {number} of {date}"),
    "dossier.unit": ("Đơn vị quản lý", "Managing unit"),
    "dossier.members": ("Thành viên phụ trách", "Responsible people"),
    "dossier.member_role": ("Vai trò", "Role"),
    "dossier.reviews": ("Sơ kết / tổng kết", "Reviews"),
    "dossier.review_date": ("Ngày", "Date"),
    "dossier.findings": ("Đánh giá", "Findings"),
    "dossier.verdict": ("Kết luận", "Verdict"),
    "dossier.add_review": ("Thêm kỳ sơ kết / tổng kết", "Add a review"),
    "dossier.ended": ("Kết thúc ngày {date}: {reason}", "Ended on {date}: {reason}"),
    "dossier.no_reviews": ("Chưa có kỳ đánh giá nào.", "No reviews yet."),
    "dossier.create": ("Lập hồ sơ mô hình mới", "New model dossier"),
    "dossier.name_hint": ("VD: Mô hình “Camera an ninh” thôn Đông", "e.g. “Camera an ninh” model of Thôn Đông"),
    "dossier.decision_number": ("Số quyết định", "Decision number"),
    "dossier.decision_date": ("Ngày quyết định", "Decision date"),
    "dossier.unit_hint": ("VD: Công an xã", "e.g. Commune police"),
    "dossier.members_hint": (
        "Mỗi người một dòng: Họ tên; vai trò; điện thoại",
        "One person per line: name; role; phone",
    ),
    "dossier.end": ("Kết thúc mô hình", "End the model"),
    "dossier.ended_on": ("Ngày kết thúc", "End date"),
    "dossier.end_reason": ("Lý do kết thúc", "Reason for ending"),
    # cases and footage
    "cases.title": ("Vụ việc và trích xuất dữ liệu camera", "Cases and footage extraction"),
    "cases.module": ("trích xuất dữ liệu camera", "footage extraction"),
    "cases.open": ("Mở hồ sơ vụ việc", "Open a case"),
    "cases.none": ("Chưa có vụ việc nào.", "No cases yet."),
    "case.manage": ("Quản lý vụ việc", "Manage the case"),
    "case.add_member": ("Thêm cán bộ vào vụ việc", "Add an officer to the case"),
    "case.add_member_button": ("Thêm", "Add"),
    "case.hold_reason": ("Lý do đặt / bỏ giữ pháp lý", "Reason for placing / releasing the hold"),
    "case.hold_place": ("Đặt giữ pháp lý", "Place the legal hold"),
    "case.hold_release": ("Bỏ giữ pháp lý", "Release the legal hold"),
    "case.close_confirm": (
        "Tôi xác nhận kết thúc vụ việc (không yêu cầu thêm dữ liệu; dữ liệu đã lưu vẫn được giữ)",
        "I confirm closing the case (no further requests; archived footage is kept)",
    ),
    "case.close": ("Kết thúc vụ việc", "Close the case"),
    "case.number": ("Số hồ sơ", "Case number"),
    "case.title": ("Tên vụ việc", "Title"),
    "case.unit": ("Đơn vị", "Unit"),
    "case.legal_basis": ("Căn cứ pháp lý", "Legal basis"),
    "case.officer": ("Cán bộ thụ lý", "Officer in charge"),
    "case.legal_hold": ("Giữ pháp lý (không xóa khi hết hạn)", "Legal hold (not deleted at expiry)"),
    "case.status.open": ("Đang thụ lý", "Open"),
    "case.status.closed": ("Đã đóng", "Closed"),
    "case.request": ("Yêu cầu trích xuất dữ liệu camera", "Request footage"),
    "case.pick_list": ("Chọn camera theo thôn", "Pick cameras by hamlet"),
    "case.pick_map": ("Chọn camera trên bản đồ", "Pick cameras on the map"),
    "case.pick": ("Chọn camera này", "Pick this camera"),
    "case.picked": ("Đã chọn", "Picked"),
    "case.start": ("Từ (giờ Việt Nam)", "From (Vietnam time)"),
    "case.end": ("Đến (giờ Việt Nam)", "To (Vietnam time)"),
    "case.purpose": ("Mục đích", "Purpose"),
    "case.live": ("Ghi trực tiếp (khung giờ sắp tới)", "Live capture (upcoming window)"),
    "case.submit": ("Gửi yêu cầu", "Send request"),
    "case.requests": ("Các yêu cầu", "Requests"),
    "case.request_n": ("Yêu cầu #{n}", "Request #{n}"),
    "case.trail": ("Nhật ký truy xuất", "Custody trail"),
    "case.trail_csv": ("Tải CSV", "Download CSV"),
    "case.trail_print": ("Bản in", "Printable"),
    "case.no_requests": ("Chưa có yêu cầu nào.", "No requests yet."),
    "clip.title": ("Đoạn video #{n}", "Clip #{n}"),
    "clip.window": ("Khung giờ yêu cầu", "Requested window"),
    "clip.method": ("Cách lấy", "Method"),
    "clip.clock": ("Lệch giờ camera trước / sau", "Camera clock offset before / after"),
    "clip.frames": ("Khung hình đầu / cuối (giờ camera)", "First / last frame (camera clock)"),
    "clip.frame_count": ("Số khung hình", "Frames"),
    "clip.gaps": ("Đoạn thiếu", "Gaps"),
    "clip.size": ("Dung lượng", "Size"),
    "clip.object": ("Đối tượng lưu trữ", "Stored object"),
    "clip.manifest": ("Bản kê (manifest)", "Manifest"),
    "clip.verified_at": ("Kiểm tra mã băm lúc", "Hashes verified at"),
    "clip.retention": ("Lưu đến", "Retained until"),
    "clip.legal_hold": ("Giữ pháp lý", "Legal hold"),
    "clip.play": ("Xem video", "Play"),
    "clip.purpose_hint": ("Nhập mục đích xem (được ghi vào nhật ký truy xuất)", "Enter the purpose (it is written to the custody trail)"),
    "clip.package": ("Tải gói chứng cứ", "Download evidence package"),
    "clip.verify": ("Kiểm tra toàn vẹn ngay", "Check integrity now"),
    "clip.check_ok": ("Toàn vẹn: dữ liệu lưu trữ khớp mã băm.", "Intact: the stored bytes match the hashes."),
    "clip.check_bad": ("KHÔNG toàn vẹn: {problem}", "NOT intact: {problem}"),
    "clip.not_archived": ("Đoạn video chưa được lưu trữ.", "The clip is not archived."),
    "clip_status.queued": ("Đang chờ", "Queued"),
    "clip_status.acquiring": ("Đang lấy từ camera", "Acquiring"),
    "clip_status.verifying": ("Đang kiểm tra", "Verifying"),
    "clip_status.archived": ("Đã lưu trữ", "Archived"),
    "clip_status.partial": ("Lưu trữ một phần", "Partly archived"),
    "clip_status.failed": ("Thất bại", "Failed"),
    "method.onvif_replay": ("ONVIF Profile G", "ONVIF Profile G"),
    "method.vendor_playback": ("Phát lại của hãng", "Vendor playback"),
    "method.live": ("Ghi trực tiếp", "Live capture"),
    "case.member_other_commune": ("xã khác", "other commune"),
    "case.member_other_commune_help": ("Cán bộ thuộc xã khác được thêm vào vụ việc (đã ghi vào nhật ký truy xuất)",
                                       "An officer from another commune was added to the case (recorded on the custody trail)"),
    "custody.title": ("Kiểm tra nhật ký truy xuất", "Custody ledger verification"),
    "custody.ok": ("Chuỗi băm toàn vẹn: {n} sự kiện đã kiểm tra.", "Hash chain intact: {n} events checked."),
    "custody.broken": ("Chuỗi băm bị phá vỡ tại sự kiện #{seq}: {reason}", "Hash chain broken at event #{seq}: {reason}"),
    "custody.checkpoint": ("Đối chiếu mốc khóa trong kho lưu trữ: sự kiện #{seq}", "Checked against the locked checkpoint at event #{seq}"),
    "custody.no_checkpoint": ("Chưa có mốc khóa trong kho lưu trữ.", "No locked checkpoint in the store yet."),
    "custody.checkpoints": ("Đã đối chiếu với {n} mốc có chữ ký trong kho lưu trữ khóa.",
                            "Checked against {n} signed checkpoints in the locked store."),
    "custody.unanchored": ("Cảnh báo: {warning}", "Warning: {warning}"),
    "custody.anchor_title": ("Ghi mốc định kỳ", "Checkpoint writing"),
    "custody.anchor_ok": ("Mốc gần nhất: {at}, sự kiện #{seq}.", "Last checkpoint: {at}, event #{seq}."),
    "custody.anchor_bad": ("Lỗi ghi mốc: {problem}", "Checkpoint problem: {problem}"),
    "custody.keys_title": ("Khóa ký (Ed25519)", "Signing keys (Ed25519)"),
    "custody.keys_help": ("Mốc và gói chứng cứ được ký bằng khóa này. Tòa án đối chiếu dấu vân tay (SHA-256 của khóa công khai) với gói chứng cứ.",
                          "Checkpoints and evidence packages are signed with this key. A court compares the fingerprint (SHA-256 of the public key) with the package's."),
    "custody.key_current": ("Khóa hiện tại", "Current key"),
    "custody.key_retired": ("Khóa cũ (vẫn dùng để kiểm tra)", "Retired key (still verifies)"),
    "custody.fingerprint": ("Dấu vân tay", "Fingerprint"),
    "custody.event": ("Sự kiện", "Event"),
    "custody.actor": ("Người thực hiện", "Actor"),
    "custody.time": ("Thời điểm", "Time"),
    "event.case_opened": ("Mở hồ sơ vụ việc", "Case opened"),
    "event.case_closed": ("Đóng hồ sơ", "Case closed"),
    "event.member_added": ("Thêm cán bộ", "Officer added"),
    "event.requested": ("Yêu cầu trích xuất", "Footage requested"),
    "event.acquired": ("Đã lấy dữ liệu từ camera", "Acquired from camera"),
    "event.verified": ("Đã kiểm tra mã băm", "Hashes verified"),
    "event.archived": ("Đã lưu trữ (khóa)", "Archived (locked)"),
    "event.acquisition_failed": ("Trích xuất thất bại", "Acquisition failed"),
    "event.attempt_aborted": ("Lần trích xuất bị gián đoạn", "Archive attempt cut short"),
    "event.viewed": ("Xem", "Viewed"),
    "event.streamed": ("Phát trực tuyến", "Streamed"),
    "event.downloaded": ("Tải xuống", "Downloaded"),
    "event.link_issued": ("Cấp liên kết tạm thời", "Temporary link issued"),
    "event.package_exported": ("Xuất gói chứng cứ", "Evidence package exported"),
    "event.hold_placed": ("Đặt giữ pháp lý", "Legal hold placed"),
    "event.hold_released": ("Bỏ giữ pháp lý", "Legal hold released"),
    "event.retention_changed": ("Đổi thời hạn lưu", "Retention changed"),
    "event.metadata_edited": ("Sửa thông tin", "Metadata edited"),
    "event.integrity_checked": ("Kiểm tra toàn vẹn", "Integrity checked"),
    "event.trail_read": ("Xem nhật ký truy xuất", "Trail read"),
    "event.access_denied": ("Truy cập bị từ chối", "Access denied"),
    # reports
    "reports.title": ("Báo cáo độ phủ và tỷ lệ hoạt động", "Coverage and uptime reports"),
    "reports.module": ("báo cáo", "reports"),
    "reports.period": ("Kỳ báo cáo", "Period"),
    "reports.index": ("Tháng / quý / nửa năm số", "Month / quarter / half number"),
    "reports.year": ("Năm", "Year"),
    "reports.xlsx": ("Xuất Excel (XLSX)", "Export Excel (XLSX)"),
    "reports.csv": ("Xuất CSV", "Export CSV"),
    "reports.printable": ("Bản in cho cuộc họp", "Printable view"),
    "reports.generated": ("Lập lúc {at}", "Generated {at}"),
    "reports.working": ("Hoạt động", "Working"),
    "reports.cameras_working": ("camera hoạt động (≥ 50 % thời gian)", "cameras working (≥ 50 % of the time)"),
    "reports.hamlets_covered": ("thôn có camera hoạt động", "hamlets covered"),
    "reports.points_watched": ("điểm lắp đặt được giám sát", "install points watched"),
    "reports.hours_up": ("giờ-camera hoạt động", "camera-hours up"),
    "reports.worst": ("Camera hoạt động kém nhất", "Least available cameras"),
    "reports.daily": ("Tỷ lệ hoạt động theo ngày", "Uptime by day"),
    "reports.clips_supplied": ("đoạn video cung cấp cho {cases} vụ việc", "clips supplied to {cases} cases"),
    "period.month": ("Tháng", "Month"),
    "period.quarter": ("Quý", "Quarter"),
    "period.half": ("6 tháng (sơ kết)", "6 months (interim review)"),
    "period.year": ("Năm (tổng kết)", "Year (final review)"),
    "health.module": ("giám sát tình trạng", "health monitoring"),
    # health endpoints and monitors sharing the fleet (issue 14)
    "health_check.database_unreachable": ("Không kết nối được cơ sở dữ liệu ({error})",
                                          "The database does not answer ({error})"),
    "health_check.schema_behind": ("Lược đồ cơ sở dữ liệu chưa cập nhật (đang ở {current}, cần {head}); chạy camera-ops db upgrade",
                                   "The database schema is not at head (at {current}, head {head}); run camera-ops db upgrade"),
    "health_check.check_error": ("Lỗi khi kiểm tra ({error})", "The check itself failed ({error})"),
    "health_check.loop_stalled": ("Vòng xử lý không chạy đã {seconds} giây", "The event loop has not turned for {seconds} s"),
    "health_check.not_member": ("Máy giám sát chưa tham gia (hoặc đã mất) danh sách thành viên",
                                "This monitor is not (or no longer) a member of the monitor group"),
    "health_check.clip_store_unreachable": ("Không kết nối được kho lưu video ({error})",
                                            "The clip store does not answer ({error})"),
    "health_check.checkpoint_old": ("Điểm kiểm tra chuỗi lưu giữ cuối cùng đã cũ {seconds} giây",
                                    "The last custody checkpoint is {seconds} s old"),
    "ops.token_required": ("Địa chỉ {bind} không phải loopback: cần đặt CAMERA_OPS_OPS_TOKEN để bảo vệ /metrics",
                           "{bind} is not a loopback address: set CAMERA_OPS_OPS_TOKEN to protect /metrics"),
    "ops.cannot_bind": ("Không mở được cổng sức khỏe/chỉ số {bind}:{port} ({error})",
                        "Cannot open the health/metrics port {bind}:{port} ({error})"),
    "monitor.sqlite_single": ("Cơ sở dữ liệu SQLite chỉ cho phép một tiến trình giám sát; một tiến trình khác đang chạy "
                              "(khóa {path}). Muốn chạy nhiều máy giám sát, hãy dùng PostgreSQL.",
                              "An SQLite database allows one monitor only; another monitor is running "
                              "(lock {path}). To run several monitors, use PostgreSQL."),
    # durations
    "duration.days": ("{n} ngày", "{n} d"),
    "duration.hours": ("{n} giờ", "{n} h"),
    "duration.minutes": ("{n} phút", "{n} min"),
    "duration.now": ("vừa xong", "just now"),
    # security of the HTTP surface (issue 12 part B)
    "api.csrf_failed": (
        "Yêu cầu bị từ chối: thao tác bằng cookie đăng nhập cần mã chống giả mạo (X-CSRF-Token) và phải đến "
        "từ chính trang camera-ops.",
        "Refused: a change made with the login cookie needs the anti-forgery token (X-CSRF-Token) and must "
        "come from camera-ops' own pages.",
    ),
    "api.payload_too_large": (
        "Dữ liệu gửi lên quá lớn ({kind}): tối đa {limit}.",
        "The request body is too large ({kind}): at most {limit}.",
    ),
    "api.body_kind.json": ("JSON", "JSON"),
    "api.body_kind.form": ("biểu mẫu", "form"),
    "api.body_kind.upload": ("tệp tải lên", "file upload"),
    "api.control_chars": (
        "{field}: có ký tự điều khiển không được phép (mã {code}).",
        "{field}: contains a control character that is not allowed (code {code}).",
    ),
    "api.csv_encoding": (
        "Tệp CSV không đọc được: hãy lưu ở dạng UTF-8 (hoặc UTF-16 có BOM).",
        "The CSV file cannot be read: save it as UTF-8 (or UTF-16 with a BOM).",
    ),
    "api.not_null": ("{field}: không được để null (bỏ trường này nếu không đổi).",
                     "{field}: may not be null (leave the field out to keep it unchanged)."),
    "api.text_too_long": ("{field}: dài quá {limit} ký tự.", "{field}: longer than {limit} characters."),
    "api.int_range": (
        "{field}: số nằm ngoài khoảng cho phép ({low} … {high}).",
        "{field}: the number is outside the allowed range ({low} … {high}).",
    ),
    "api.csv_malformed": ("Tệp CSV hỏng ở dòng {line}: {reason}", "The CSV file is malformed at line {line}: {reason}"),
}


def _merge_error_messages() -> None:
    from camera_ops.error_messages import ERROR_MESSAGES

    for key, texts in ERROR_MESSAGES.items():
        MESSAGES.setdefault(key, texts)


_merge_error_messages()


def has(key: str) -> bool:
    return key in MESSAGES


def t(key: str, lang: Lang = DEFAULT_LANG, **values: object) -> str:
    """The message ``key`` in ``lang``; raises KeyError for an unknown key."""
    vi, en = MESSAGES[key]
    text = vi if lang == "vi" else en
    return text.format(**values) if values else text


def label(value: enum.Enum | str | None, prefix: str, lang: Lang = DEFAULT_LANG) -> str:
    """The label of an enum value, e.g. ``label(Role.officer, "role")``; the raw value if unknown."""
    if value is None:
        return DASH
    raw = value.value if isinstance(value, enum.Enum) else str(value)
    key = f"{prefix}.{raw}"
    return t(key, lang) if key in MESSAGES else raw


# --- numbers -------------------------------------------------------------------------------------


def fmt_number(value: float | int | None, decimals: int = 0, lang: Lang = DEFAULT_LANG) -> str:
    """``1234.5`` → ``1.234,5`` (vi) or ``1,234.5`` (en)."""
    if value is None:
        return DASH
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def fmt_percent(value: float | None, decimals: int = 1, lang: Lang = DEFAULT_LANG) -> str:
    """``97.25`` (already a percentage) → ``97,3 %`` (vi, with the space Vietnamese typesetting uses)."""
    if value is None:
        return DASH
    sep = "\u00a0" if lang == "vi" else ""
    return f"{fmt_number(value, decimals, lang)}{sep}%"


# --- dates and times -----------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(at: datetime, tz: str = DISPLAY_TZ) -> datetime:
    """A UTC-aware time in the display zone. A naive time is taken as UTC (SQLite returns naive
    values only through raw SQL; our column type always re-attaches UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(_zone(tz))


def fmt_datetime(at: datetime | None, tz: str = DISPLAY_TZ, *, seconds: bool = False) -> str:
    if at is None:
        return DASH
    return local_time(at, tz).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def fmt_date(day: date | datetime | None, tz: str = DISPLAY_TZ) -> str:
    if day is None:
        return DASH
    if isinstance(day, datetime):
        day = local_time(day, tz).date()
    return day.strftime("%d/%m/%Y")


def fmt_duration(span: timedelta | float | None, lang: Lang = DEFAULT_LANG) -> str:
    """A duration at the precision a person needs: ``3 ngày 4 giờ``, ``5 giờ 12 phút``, ``8 phút``."""
    if span is None:
        return DASH
    seconds = int(span.total_seconds() if isinstance(span, timedelta) else span)
    if seconds < 60:
        return t("duration.now", lang)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts: list[str] = []
    if days:
        parts = [t("duration.days", lang, n=days)] + ([t("duration.hours", lang, n=hours)] if hours else [])
    elif hours:
        parts = [t("duration.hours", lang, n=hours)] + ([t("duration.minutes", lang, n=minutes)] if minutes else [])
    else:
        parts = [t("duration.minutes", lang, n=minutes)]
    return " ".join(parts)


def parse_local_datetime(text: str, tz: str = DISPLAY_TZ) -> datetime:
    """A ``datetime-local`` form value (``2025-03-01T14:30``), typed in Vietnam time → aware UTC."""
    naive = datetime.fromisoformat(text.strip())
    if naive.tzinfo is not None:
        return naive.astimezone(timezone.utc)
    return naive.replace(tzinfo=_zone(tz)).astimezone(timezone.utc)


# --- health reasons ------------------------------------------------------------------------------


def reason_text(reason: str, lang: Lang = DEFAULT_LANG) -> str:
    """A probe reason (``unreachable``, ``black``…) in plain words, from the health vocabulary."""
    from camera_ops.health.labels import reason_label

    try:
        return reason_label(reason, lang)
    except (KeyError, ValueError):
        return reason
