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
    # (moved to the catalogs by ``camera-ops i18n sync``; add new keys here)
}


@lru_cache(maxsize=4)
def _catalog(lang: str) -> dict[str, str]:
    """The language's catalog, read by Babel at first use (``camera_ops.catalogs``): key → text."""
    from camera_ops.catalogs import texts

    return texts(lang)


def _text(key: str, lang: Lang) -> str | None:
    found = _catalog(lang).get(key)
    if found is not None:
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
    return set(_catalog("vi")) | set(_catalog("en")) | set(MESSAGES)


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
    decimal, group = _number_symbols(lang)
    return f"{value:,.{max(decimals, 0)}f}".translate({ord(","): group, ord("."): decimal})


@lru_cache(maxsize=4)
def _number_symbols(lang: str) -> tuple[str, str]:
    """(decimal mark, group separator) of the language from Babel's CLDR data (vi: ``,`` and ``.``)."""
    from babel import Locale

    symbols = Locale.parse(lang).number_symbols["latn"]
    return symbols["decimal"], symbols["group"]


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
