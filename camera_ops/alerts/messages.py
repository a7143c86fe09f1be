"""Alert texts in Vietnamese (first) and English. Times are shown in Vietnam time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from camera_ops.health.labels import reason_label, status_label
from camera_ops.health.vocabulary import Reason, Status


@dataclass(frozen=True, slots=True)
class Text:
    vi: str
    en: str


@dataclass(frozen=True, slots=True)
class CameraFacts:
    code: str
    name: str
    status: Status
    reasons: tuple[Reason, ...]
    since: datetime


def local(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y")


def duration(span: timedelta, lang: str) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if lang == "vi":
        return f"{hours} giờ {minutes} phút" if hours else f"{minutes} phút"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _reasons(reasons: tuple[Reason, ...], lang: str) -> str:
    return ", ".join(reason_label(r, lang) for r in reasons)  # type: ignore[arg-type]


def camera_down(cam: CameraFacts, hamlet: str, tz: str) -> Text:
    why_vi = f": {_reasons(cam.reasons, 'vi')}" if cam.reasons else ""
    why_en = f": {_reasons(cam.reasons, 'en')}" if cam.reasons else ""
    return Text(
        f"Camera {cam.code} ({cam.name}, {hamlet}) {status_label(cam.status, 'vi').lower()}{why_vi} "
        f"từ {local(cam.since, tz)}",
        f"Camera {cam.code} ({cam.name}, {hamlet}) {status_label(cam.status, 'en').lower()}{why_en} "
        f"since {local(cam.since, tz)}",
    )


def camera_worse(cam: CameraFacts, hamlet: str, was: Status, problem_since: datetime, tz: str) -> Text:
    why_vi = f": {_reasons(cam.reasons, 'vi')}" if cam.reasons else ""
    why_en = f": {_reasons(cam.reasons, 'en')}" if cam.reasons else ""
    return Text(
        f"Camera {cam.code} ({cam.name}, {hamlet}) chuyển sang {status_label(cam.status, 'vi').lower()}{why_vi} "
        f"từ {local(cam.since, tz)} (trước đó: {status_label(was, 'vi').lower()}; sự cố từ {local(problem_since, tz)})",
        f"Camera {cam.code} ({cam.name}, {hamlet}) is now {status_label(cam.status, 'en').lower()}{why_en} "
        f"since {local(cam.since, tz)} (before: {status_label(was, 'en').lower()}; problem since {local(problem_since, tz)})",
    )


def camera_recovered(cam: CameraFacts, hamlet: str, down_for: timedelta) -> Text:
    return Text(
        f"Camera {cam.code} ({cam.name}, {hamlet}) hoạt động trở lại sau {duration(down_for, 'vi')}",
        f"Camera {cam.code} ({cam.name}, {hamlet}) is back after {duration(down_for, 'en')}",
    )


def hamlet_down(hamlet: str, down: int, total: int) -> Text:
    return Text(
        f"{hamlet}: {down}/{total} camera mất kết nối — có thể do mất điện hoặc mất đường truyền",
        f"{hamlet}: {down} of {total} cameras offline — likely power or uplink",
    )


def hamlet_recovered(hamlet: str, total: int, down_for: timedelta) -> Text:
    return Text(
        f"{hamlet}: {total} camera hoạt động trở lại sau {duration(down_for, 'vi')}",
        f"{hamlet}: {total} cameras back after {duration(down_for, 'en')}",
    )


def daily_digest(commune: str, day: str, counts: dict[Status, int], open_problems: int, uptime_pct: float | None) -> Text:
    up = counts.get(Status.ONLINE, 0) + counts.get(Status.DEGRADED, 0)
    total = sum(counts.values())
    pct = "—" if uptime_pct is None else f"{uptime_pct:.1f}"
    return Text(
        f"{commune} — ngày {day}: {up}/{total} camera hoạt động, {open_problems} sự cố chưa xử lý, "
        f"tỷ lệ hoạt động hôm qua {pct.replace('.', ',')}%",
        f"{commune} — {day}: {up} of {total} cameras working, {open_problems} open problems, "
        f"uptime yesterday {pct}%",
    )


def custody_anchor_failed(error: str, since: datetime, tz: str) -> Text:
    from camera_ops.i18n import t

    values = {"error": error, "since": local(since, tz)}
    return Text(_fit(t("alert.custody_anchor_failed", "vi", **values)), _fit(t("alert.custody_anchor_failed", "en", **values)))


def custody_anchor_recovered(seq: int | None, down_for: timedelta) -> Text:
    from camera_ops.i18n import t

    def text(lang: str) -> str:
        return t("alert.custody_anchor_recovered", lang, seq=seq if seq is not None else "-",  # type: ignore[arg-type]
                 down_for=duration(down_for, lang))

    return Text(text("vi"), text("en"))


TITLE_MAX = 300  # alert.title_vi / title_en


def _fit(text: str) -> str:
    """An error text from a library may be long: the title keeps its first part (the payload has it all)."""
    return text if len(text) <= TITLE_MAX else text[:TITLE_MAX - 1] + "…"
