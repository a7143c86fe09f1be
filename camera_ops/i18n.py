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
# The texts live in the gettext catalogs camera_ops/locale/{vi,en}/LC_MESSAGES/messages.po (Babel),
# one entry per key. New code may still add a key here — key: (Vietnamese, English), placeholders
# in str.format braces — and it works at once; ``camera-ops i18n sync`` moves such keys into the
# catalogs (a catalog entry wins over an entry here).

MESSAGES: dict[str, tuple[str, str]] = {
    # why a clip is not (wholly) archived (camera_ops.error_text.clip_reason_text)
    "clip_reason.gaps": ("Bản ghi của camera có {n} đoạn thiếu, tổng cộng {seconds} giây",
                         "The camera's recording has {n} gap(s), {seconds} s missing in all"),
    "clip_reason.retrying": ("Lần thử {n} không được ({detail}); thử lại lúc {at} UTC",
                             "Attempt {n} failed ({detail}); retrying at {at} UTC"),
    "clip_reason.worker_died": ("Dừng sau {n} lần thử (lần cuối bị ngắt: tiến trình {worker} dừng đột ngột)",
                                "Gave up after {n} attempts (the last was cut short: worker {worker} died)"),
    "clip_reason.gave_up": ("Dừng sau {n} lần thử: {detail}", "Gave up after {n} attempts: {detail}"),
    # registration warnings (camera_ops.error_text.warning_text)
    "warn.clock": ("Đồng hồ camera lệch {offset} giây so với giờ chuẩn: bật NTP trên camera (Cấu hình → Hệ thống → "
                   "Thời gian; Hikvision: Configuration → System → Time Settings → NTP; Dahua: Setting → System → "
                   "General → Date & Time → NTP)",
                   "The camera clock is {offset} s off true time: turn on NTP on the camera"),
    "warn.wsse_clock": ("Camera kiểm tra chữ ký theo đồng hồ của nó (lệch {offset} giây): đã ký theo giờ camera; "
                        "hãy đặt NTP trên camera kẻo nó từ chối thiết bị khác",
                        "The camera checks signatures against its own clock ({offset} s off): we signed on its "
                        "time; set NTP on the camera or it may refuse other clients"),
    "warn.no_mac": ("Camera không báo địa chỉ MAC; sẽ nhận dạng theo số sê-ri",
                    "The camera reported no MAC address; it will be identified by serial"),
    "warn.outside_networks": ("Camera báo một địa chỉ dịch vụ nằm ngoài các mạng được phép; không dùng địa chỉ đó",
                              "The camera reported a service address outside the camera networks; not used"),
    "warn.channel_profile": ("Kênh {channel} ({source}) không có luồng H.264/H.265; bỏ qua",
                             "Channel {channel} ({source}) has no H.264/H.265 profile; skipped"),
    "warn.search_failed": ("Không tìm được bản ghi trên camera: {detail}", "Recording search failed: {detail}"),
    "warn.no_recording": ("Camera hỗ trợ phát lại nhưng chưa có bản ghi nào",
                          "The camera offers replay but no recording was found"),
    "warn.no_sub_stream": ("Không có luồng phụ hay địa chỉ chụp ảnh: kiểm tra hình ảnh sẽ giải mã luồng chính",
                           "No sub stream and no snapshot URL: picture health decodes the main stream's keyframes"),
    "warn.step_failed": ("Bước {step} không được: {detail}", "{step} failed: {detail}"),
    # secauth (issue 12 part A): camera credentials, logins, passwords, users
    "error.code.password_required": ("Cần nhập lại mật khẩu", "The password is needed again"),
    "error.code.password_change_required": ("Cần đổi mật khẩu trước", "Change your password first"),
    "error.code.too_many_attempts": ("Thử quá nhiều lần", "Too many attempts"),
    "error.code.camera_network_refused": (
        "Địa chỉ camera nằm ngoài các mạng được phép", "The camera address is outside the allowed networks"),
    "err.camera.password_required": (
        "Đổi {fields} cần nhập lại mật khẩu camera (trừ quản trị viên)",
        "Changing {fields} needs the camera password entered again (except administrators)"),
    "err.camera.network_refused": (
        "{host} nằm ngoài các mạng mà máy chủ được phép kết nối camera (CAMERA_OPS_CAMERA_NETWORKS)",
        "{host} is outside the networks the server may connect cameras on (CAMERA_OPS_CAMERA_NETWORKS)"),
    "err.camera.no_name": ("Không tìm thấy tên máy {host}", "The host name {host} cannot be resolved"),
    "err.camera.plaintext_refused": (
        "Camera từ chối mật khẩu mã hóa (digest). Nếu camera chỉ nhận mật khẩu dạng rõ, hãy nhập lại mật khẩu camera",
        "The camera refused the digest password. If it accepts only plain-text passwords, enter its password again"),
    "err.login.throttled": (
        "Đăng nhập sai quá nhiều lần; thử lại sau {seconds} giây", "Too many failed logins; try again in {seconds} s"),
    "err.login.ended": ("Phiên đăng nhập đã kết thúc; hãy đăng nhập lại", "This login has ended; please log in again"),
    "err.login.idle": (
        "Đã tự đăng xuất vì lâu không sử dụng; hãy đăng nhập lại", "Logged out after a time without use; please log in again"),
    "err.login.password_change_required": (
        "Mật khẩu của bạn đã được đặt lại: hãy đổi mật khẩu trước", "Your password was reset: change it first"),
    "err.password.min_length": ("Mật khẩu cần ít nhất {min} ký tự", "The password needs at least {min} characters"),
    "err.password.max_length": ("Mật khẩu dài quá {max} ký tự", "The password is longer than {max} characters"),
    "err.password.common": (
        "Mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác",
        "This password is too common and easily guessed; choose another"),
    "err.password.username": ("Mật khẩu không được trùng tên đăng nhập", "The password must not be the username"),
    "err.password.current_wrong": ("Mật khẩu hiện tại không đúng", "The current password is wrong"),
    "err.password.same": ("Mật khẩu mới phải khác mật khẩu hiện tại", "The new password must differ from the current one"),
    "err.user.last_admin": (
        "Đây là quản trị viên cuối cùng còn hoạt động; hãy tạo quản trị viên khác trước",
        "This is the last active administrator; make another one first"),
    "import.template": ("Tải tệp mẫu (CSV)", "Download the template (CSV)"),
    "import.formats": (
        "Nhận tệp CSV (UTF-8, UTF-16 hoặc Windows-1258 do Excel lưu) và Excel (.xlsx); ngày ghi dd/mm/yyyy.",
        "CSV (UTF-8, UTF-16 or Windows-1258 as Excel saves it) and Excel (.xlsx) are accepted; dates as dd/mm/yyyy.",
    ),
    "err.import.not_xlsx": ("Tệp không phải bảng tính Excel (.xlsx)", "The file is not an Excel workbook (.xlsx)"),
    # the clip page: which key signs evidence packages (evidence, issue 11)
    "clip.package_key": (
        "Gói chứng cứ được ký bằng khóa có dấu vân tay (SHA-256) {fingerprint}; bên nhận đối chiếu với giá trị này.",
        "Evidence packages are signed with the key whose fingerprint (SHA-256) is {fingerprint}; the receiver "
        "compares it with this value.",
    ),
    # the review report of a model dossier (báo cáo sơ kết / tổng kết; helper `review`)
    "review.page_title": ("Báo cáo sơ kết / tổng kết", "Review report"),
    "review.form_title": ("Lập báo cáo sơ kết / tổng kết", "Write a review report"),
    "review.form_intro": (
        "Số liệu (camera, độ phủ, tỷ lệ hoạt động, camera hỏng, dữ liệu đã cung cấp) được lấy từ hệ thống cho kỳ đã "
        "chọn. Báo cáo được lưu vào hồ sơ kèm tệp Word (.docx) để chỉnh sửa, ký và nộp.",
        "The figures (cameras, coverage, uptime, cameras down, footage supplied) are taken from the system for the "
        "chosen period. The report is stored on the dossier with a Word file (.docx) to edit, sign and hand in.",
    ),
    "review.from": ("Từ ngày", "From"),
    "review.to": ("Đến ngày", "To"),
    "review.number": ("Số báo cáo", "Report number"),
    "review.number_hint": ("ví dụ 12/BC-CAX", "e.g. 12/BC-CAX"),
    "review.choose": ("— Chọn —", "— Choose —"),
    "review.preview": ("Xem bản in", "Printable preview"),
    "review.generate": ("Lập báo cáo và lưu vào hồ sơ", "Generate and store on the dossier"),
    "review.download": ("Tải báo cáo (.docx)", "Download the report (.docx)"),
    "review.printable": ("Bản in", "Printable page"),
    "review.back": ("Về hồ sơ mô hình", "Back to the dossier"),
    "review.report": ("BÁO CÁO", "REPORT"),
    "review.nation": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIETNAM"),
    "review.motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "review.number_line": ("Số: {number}", "No.: {number}"),
    "review.place_date": ("{place}, ngày {day} tháng {month} năm {year}", "{place}, {day}/{month}/{year}"),
    "review.title_interim": ("Sơ kết mô hình {name}", "Interim review: {name}"),
    "review.title_final": ("Tổng kết mô hình {name}", "Final review: {name}"),
    "review.period": ("(Kỳ báo cáo từ ngày {start} đến ngày {end})", "(Period from {start} to {end})"),
    "review.s1": ("TÌNH HÌNH MÔ HÌNH", "THE MODEL"),
    "review.s2": ("CAMERA VÀ ĐỘ PHỦ", "CAMERAS AND COVERAGE"),
    "review.s3": ("TỶ LỆ HOẠT ĐỘNG THEO THÔN VÀ THEO NHÀ HẢO TÂM", "UPTIME BY HAMLET AND BY DONOR"),
    "review.s4": ("CAMERA HỎNG, KHÔNG DÙNG ĐƯỢC VÀ NGUYÊN NHÂN", "CAMERAS DOWN OR UNUSABLE AND WHY"),
    "review.s5": ("DỮ LIỆU ĐÃ CUNG CẤP CHO VỤ VIỆC, VỤ ÁN", "FOOTAGE SUPPLIED TO CASES"),
    "review.s6": ("KIẾN NGHỊ, ĐỀ XUẤT", "RECOMMENDATION"),
    "review.decision": (
        "Thành lập theo Quyết định số {number} ngày {date}; đơn vị quản lý: {unit}.",
        "Established by decision no. {number} of {date}; managed by {unit}.",
    ),
    "review.area": ("Địa bàn: {area}; số thôn trên địa bàn: {hamlets}.", "Area: {area}; hamlets in the area: {hamlets}."),
    "review.members": ("Thành viên ({n} người):", "Members ({n}):"),
    "review.cameras_line": (
        "Số camera của mô hình trong kỳ: {total}; trong đó hoạt động (tỷ lệ hoạt động từ 50% trở lên): {working}.",
        "Cameras of the model in the period: {total}; working (uptime 50% or more): {working}.",
    ),
    "review.hamlets_line": (
        "Số thôn có camera hoạt động: {covered}/{total}; điểm lắp đặt được giám sát: {watched}/{points}.",
        "Hamlets with a working camera: {covered}/{total}; install points watched: {watched}/{points}.",
    ),
    "review.uptime_line": (
        "Tỷ lệ hoạt động chung: {uptime}; tỷ lệ dùng được (hình ảnh, thời gian đều tốt): {useful}; tổng số giờ "
        "camera hoạt động: {hours} giờ.",
        "Overall uptime: {uptime}; usable (good picture and clock): {useful}; camera-hours up: {hours}.",
    ),
    "review.by_hamlet": ("Theo thôn", "By hamlet"),
    "review.by_donor": ("Theo nhà hảo tâm", "By donor"),
    "review.col_hamlet": ("Thôn", "Hamlet"),
    "review.col_donor": ("Nhà hảo tâm", "Donor"),
    "review.col_camera": ("Camera", "Camera"),
    "review.col_cameras": ("Số camera", "Cameras"),
    "review.col_hours_up": ("Giờ hoạt động", "Hours up"),
    "review.col_offline": ("Giờ mất kết nối", "Hours offline"),
    "review.col_degraded": ("Giờ hình ảnh, thời gian không dùng được", "Hours with a bad picture or clock"),
    "review.col_reasons": ("Nguyên nhân", "Reasons"),
    "review.col_now": ("Hiện nay", "Now"),
    "review.hours": ("{h} giờ", "{h} h"),
    "review.no_reason": ("Không ghi nguyên nhân", "No reason recorded"),
    "review.no_down": (
        "Trong kỳ không có camera nào bị mất kết nối hoặc không dùng được.",
        "No camera was offline or unusable in the period.",
    ),
    "review.down_line": (
        "Số camera có thời gian mất kết nối hoặc không dùng được: {n}.",
        "Cameras offline or unusable for some of the period: {n}.",
    ),
    "review.clips_line": (
        "Số đoạn video đã trích xuất, lưu trữ phục vụ điều tra: {clips}; cho {cases} vụ việc, vụ án.",
        "Clips extracted and archived for investigations: {clips}; for {cases} cases.",
    ),
    "review.verdict_maintain": ("Đề nghị tiếp tục duy trì mô hình.", "We recommend maintaining the model."),
    "review.verdict_replicate": ("Đề nghị duy trì và nhân rộng mô hình.", "We recommend maintaining and replicating the model."),
    "review.verdict_end": ("Đề nghị kết thúc mô hình.", "We recommend ending the model."),
    "review.verdict_none": ("Kiến nghị: (chưa chọn)", "Recommendation: (not chosen yet)"),
    "review.recipients": ("Nơi nhận:", "Recipients:"),
    "review.to_commune": ("UBND {commune} (để báo cáo);", "People's Committee of {commune} (for report);"),
    "review.to_police": ("Công an cấp trên (để báo cáo);", "Police at the level above (for report);"),
    "review.to_file": ("Lưu: VT.", "File: records."),
    "review.title_blank": ("Chức vụ", "Title"),
    "review.sign_hint": ("(Ký, ghi rõ họ tên, đóng dấu)", "(Signature, full name, seal)"),
    "review.period_col": ("Kỳ", "Period"),
    "err.review.end_before_start": ("Ngày kết thúc kỳ trước ngày bắt đầu ({start})", "The period ends before it starts ({start})"),
    "err.review.future": ("Kỳ báo cáo chưa kết thúc: ngày cuối phải từ hôm nay ({today}) trở về trước",
                          "The period has not ended: its last day must be today ({today}) or earlier"),
    "err.review.verdict": ("Chọn kiến nghị: duy trì, nhân rộng hoặc kết thúc", "Choose the recommendation: maintain, replicate or end"),
    "err.review.missing": ("Không có báo cáo này trong hồ sơ", "This dossier has no such report"),
    "err.review.no_file": ("Lần sơ kết này không có tệp báo cáo", "This review has no report file"),
    # the morning board's filters and advice, the camera page's uptime help (coordinator)
    "board.filter_hint": ("Bấm để xem danh sách các camera này", "Click to list these cameras"),
    "board.pending": ("Chưa kết nối", "Not connected yet"),
    "board.pending_hint": (
        "Camera đã lưu nhưng chưa kết nối lần nào: không tính là mất kết nối; bấm để xem và bấm “Kết nối ngay”",
        "Cameras saved but never connected: not counted as offline; click to list them and use “Connect now”",
    ),
    "board.what_to_do": ("Cần làm", "What to do"),
    "camera.uptime_help": (
        "Tỷ lệ hoạt động: thời gian camera còn trả lời, kể cả khi hình ảnh có vấn đề. Dùng được: thời gian camera "
        "trả lời và hình ảnh, giờ đều tốt (dùng được làm chứng cứ). Không tính thời gian bảo trì và chưa rõ.",
        "Uptime: time the camera answered, even with a bad picture. Usable: time it answered with a good picture "
        "and clock (usable as evidence). Maintenance and unknown time are not counted.",
    ),
    "recorder.title": ("Thêm đầu ghi (DVR/NVR)", "Add a recorder (DVR/NVR)"),
    "recorder.intro": (
        "Đầu ghi được kết nối một lần; mỗi kênh thành một camera (mã …-K1, -K2…) dùng chung tài khoản và nhận dạng của đầu ghi.",
        "The recorder is connected once; each channel becomes a camera (code …-K1, -K2…) sharing the recorder's account and identity.",
    ),
    "recorder.reach": ("Kết nối tới đầu ghi", "Reaching the recorder"),
    "recorder.channels_legend": ("Kênh", "Channels"),
    "recorder.channels": ("Các kênh (để trống: tất cả kênh ONVIF)", "Channels (empty: every ONVIF channel)"),
    "recorder.stream_template": ("Đầu ghi chỉ RTSP: địa chỉ luồng chính có {channel}",
                                 "RTSP-only recorder: main stream address with {channel}"),
    "recorder.sub_template": ("Địa chỉ luồng phụ có {channel} (không bắt buộc)",
                              "Sub stream address with {channel} (optional)"),
    "recorder.saved": ("Đã lưu {n} kênh thành camera.", "{n} channels saved as cameras."),
    "common.required_note": ("Mục có dấu * là bắt buộc.", "Fields marked * are required."),
    "case.datetime_hint": ("dd/mm/yyyy HH:MM (24 giờ, giờ Việt Nam)", "dd/mm/yyyy HH:MM (24 h, Vietnam time)"),
    # secauth (issue 12 part A): login lockout, own password
    "login.locked": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {seconds} giây.",
        "Too many failed logins. Please try again in {seconds} seconds.",
    ),
    # user administration
    "nav.users": ("Người dùng", "Users"),
    "users.title": ("Người dùng", "Users"),
    "users.add": ("Thêm người dùng", "Add a user"),
    "users.role": ("Vai trò", "Role"),
    "users.areas": ("Địa bàn", "Areas"),
    "users.unit": ("Đơn vị", "Unit"),
    "users.state": ("Trạng thái", "State"),
    "users.active": ("Đang hoạt động", "Active"),
    "users.disabled": ("Đã khóa", "Disabled"),
    "users.must_change": ("Phải đổi mật khẩu", "Must change password"),
    "users.must_change_next": ("Bắt đổi mật khẩu khi đăng nhập lần đầu", "Must change the password at first login"),
    "users.password": ("Mật khẩu", "Password"),
    "users.created": ("Ngày tạo", "Created"),
    "users.password_changed": ("Đổi mật khẩu lần cuối", "Password last changed"),
    "users.saved": ("Đã lưu.", "Saved."),
    "users.actions": ("Thao tác", "Actions"),
    "users.disable": ("Khóa tài khoản (đăng xuất mọi nơi)", "Disable the account (logs out everywhere)"),
    "users.enable": ("Mở khóa tài khoản", "Enable the account"),
    "users.end_sessions": ("Đăng xuất mọi nơi", "Log out everywhere"),
    "users.temporary_password": ("Mật khẩu tạm thời", "Temporary password"),
    "users.reset_password": (
        "Đặt lại mật khẩu (người dùng phải đổi khi đăng nhập)", "Reset the password (changed at the next login)"),
    "users.role_change_note": (
        "Đổi vai trò sẽ đăng xuất người dùng ở mọi nơi.", "Changing the role logs the user out everywhere."),
    # audit log
    "nav.audit": ("Nhật ký quản trị", "Audit log"),
    "audit.title": ("Nhật ký quản trị", "Audit log"),
    "audit.intro": (
        "Ai đã thay đổi danh mục camera, người dùng, hoặc bị từ chối: khi nào, từ đâu, thay đổi gì (không bao giờ ghi mật khẩu). "
        "Việc truy xuất dữ liệu hình ảnh được ghi ở nhật ký truy xuất của vụ việc.",
        "Who changed the camera registry or users, or was refused: when, from where, what changed (never a password). "
        "Footage retrievals are in each case's custody log.",
    ),
    "audit.for_user": ("Nhật ký của người dùng này", "Audit entries about this user"),
    "audit.since": ("Từ ngày", "From"),
    "audit.until": ("Đến ngày", "Until"),
    "audit.export": ("Xuất CSV", "Export CSV"),
    "audit.col.at": ("Thời điểm", "When"),
    "audit.col.actor": ("Người thực hiện", "Who"),
    "audit.col.role": ("Vai trò", "Role"),
    "audit.col.address": ("Địa chỉ máy", "Client address"),
    "audit.col.action": ("Thao tác", "Action"),
    "audit.col.outcome": ("Kết quả", "Outcome"),
    "audit.col.target": ("Đối tượng", "Target"),
    "audit.col.changes": ("Thay đổi", "Changes"),
    "audit.col.message": ("Ghi chú", "Note"),
    "audit.outcome.ok": ("Thực hiện", "Done"),
    "audit.outcome.denied": ("Bị từ chối", "Refused"),
    "audit.outcome.failed": ("Thất bại", "Failed"),
    # own password
    "nav.password": ("Đổi mật khẩu", "Change password"),
    "password.title": ("Đổi mật khẩu", "Change password"),
    "password.forced": (
        "Quản trị viên đã đặt lại mật khẩu của bạn. Hãy đặt mật khẩu mới trước khi tiếp tục.",
        "An administrator reset your password. Choose a new one before going on.",
    ),
    "password.rules": (
        "Ít nhất {n} ký tự, không phải mật khẩu phổ biến, không trùng tên đăng nhập. Đổi mật khẩu sẽ đăng xuất mọi nơi khác.",
        "At least {n} characters, not a common password, not the username. Changing it logs you out everywhere else.",
    ),
    "password.current": ("Mật khẩu hiện tại", "Current password"),
    "password.new": ("Mật khẩu mới", "New password"),
    "password.new_again": ("Nhập lại mật khẩu mới", "New password again"),
    "password.submit": ("Đổi mật khẩu", "Change password"),
    "password.current_wrong": ("Mật khẩu hiện tại không đúng", "The current password is wrong"),
    "password.mismatch": ("Hai mật khẩu mới không giống nhau", "The two new passwords differ"),
    "password.rule.min_length": ("Mật khẩu phải có ít nhất {n} ký tự", "The password must have at least {n} characters"),
    "password.rule.max_length": ("Mật khẩu quá dài", "The password is too long"),
    "password.rule.common": (
        "Mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác",
        "This password is too common and easily guessed; choose another",
    ),
    "password.rule.username": ("Mật khẩu không được trùng tên đăng nhập", "The password must not be the username"),
}


def _text(key: str, lang: Lang) -> str | None:
    from camera_ops.catalogs import translations

    found = translations(lang).gettext(key)
    if found != key:
        return found
    pending = MESSAGES.get(key)
    if pending is not None:
        return pending[0] if lang == "vi" else pending[1]
    return None


def has(key: str) -> bool:
    return _text(key, "vi") is not None and _text(key, "en") is not None


def texts(key: str) -> tuple[str, str]:
    """(Vietnamese, English) of ``key``; KeyError when either is missing."""
    vi, en = _text(key, "vi"), _text(key, "en")
    if vi is None or en is None:
        raise KeyError(key)
    return vi, en


def all_keys() -> set[str]:
    from camera_ops.catalogs import texts as catalog_texts

    return set(catalog_texts("vi")) | set(catalog_texts("en")) | set(MESSAGES)


def t(key: str, lang: Lang = DEFAULT_LANG, **values: object) -> str:
    """The message ``key`` in ``lang`` (gettext catalog compiled by Babel at start); raises
    KeyError for an unknown key."""
    text = _text(key, lang)
    if text is None:
        raise KeyError(key)
    return text.format(**values) if values else text


def label(value: enum.Enum | str | None, prefix: str, lang: Lang = DEFAULT_LANG) -> str:
    """The label of an enum value, e.g. ``label(Role.officer, "role")``; the raw value if unknown."""
    if value is None:
        return DASH
    raw = value.value if isinstance(value, enum.Enum) else str(value)
    key = f"{prefix}.{raw}"
    return t(key, lang) if has(key) else raw


# --- numbers -------------------------------------------------------------------------------------


def fmt_number(value: float | int | None, decimals: int = 0, lang: Lang = DEFAULT_LANG) -> str:
    """``1234.5`` → ``1.234,5`` (vi) or ``1,234.5`` (en): Babel's locale data, fixed decimals."""
    if value is None:
        return DASH
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=lang, decimal_quantization=True)


# Byte sizes in decimal units, as storage and networks count them (1 MB = 1,000,000 bytes).
_SIZE_UNITS = (("digital-terabyte", 10**12), ("digital-gigabyte", 10**9), ("digital-megabyte", 10**6),
               ("digital-kilobyte", 10**3))


def fmt_size(size_bytes: int | None, lang: Lang = DEFAULT_LANG) -> str:
    """``93893061`` → ``93,9 MB`` (vi) / ``93.9 MB`` (en), with Babel's unit data; under 1 kB in bytes."""
    if size_bytes is None:
        return DASH
    from babel.units import format_unit

    for unit, factor in _SIZE_UNITS:
        if abs(size_bytes) >= factor:
            return format_unit(round(size_bytes / factor, 1), unit, length="short", locale=lang,
                               format="#,##0.#")
    return format_unit(size_bytes, "digital-byte", length="short", locale=lang)


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


# How people here write a date and time, whatever the browser's locale: day first, 24 hours.
LOCAL_INPUT_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d-%m-%Y %H:%M")
LOCAL_INPUT_PATTERN = r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}(:\d{2})?"  # the form's pattern attribute


def fmt_input_datetime(at: datetime, tz: str = DISPLAY_TZ, *, seconds: bool = False) -> str:
    """What a date-time field shows: ``07/12/2026 14:30`` in Vietnam time."""
    return local_time(at, tz).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def parse_local_datetime(text: str, tz: str = DISPLAY_TZ) -> datetime:
    """A date-time typed in Vietnam time → aware UTC: ``dd/mm/yyyy HH:MM[:SS]`` (24 h, what the
    forms ask for) or ISO ``2025-03-01T14:30`` (API clients, older forms). ValueError otherwise."""
    text = " ".join(text.split())
    for form in LOCAL_INPUT_FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=_zone(tz)).astimezone(timezone.utc)
        except ValueError:
            continue
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
