"""Reading posted form fields into typed values; a bad value names its field (ValidationFailed)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, TypeVar

from camera_ops.errors import ValidationFailed
from camera_ops.registry.validation import check_text

E = TypeVar("E", bound=enum.Enum)


def text(form: dict[str, Any], name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = check_text(value.strip(), name)
    return value or None


def required(form: dict[str, Any], name: str) -> str:
    value = text(form, name)
    if value is None:
        raise ValidationFailed(f"{name} is required", field=name, key="err.field.required")
    return value


def integer(form: dict[str, Any], name: str) -> int | None:
    value = text(form, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(f"{name}: {value!r} is not a whole number", field=name, key="err.field.not_integer",
                               params={"value": value}) from None


def number(form: dict[str, Any], name: str) -> float | None:
    """Accepts a decimal comma as Vietnamese users type it (``21,0285``)."""
    value = text(form, name)
    if value is None:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise ValidationFailed(f"{name}: {value!r} is not a number", field=name, key="err.field.not_number",
                               params={"value": value}) from None


def day(form: dict[str, Any], name: str) -> date | None:
    """``dd/mm/yyyy`` as people here write it (the forms ask for it), or ISO ``yyyy-mm-dd``."""
    value = text(form, name)
    if value is None:
        return None
    try:
        if "/" in value:
            return datetime.strptime(value, "%d/%m/%Y").date()
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{name}: {value!r} is not a date", field=name, key="err.field.not_date",
                               params={"value": value}) from None


def choice(form: dict[str, Any], name: str, enum_cls: type[E], default: E | None = None) -> E | None:
    value = text(form, name)
    if value is None:
        return default
    try:
        return enum_cls(value)
    except ValueError:
        raise ValidationFailed(f"{name}: {value!r} is not allowed", field=name, key="err.field.choice",
                               params={"value": value}) from None


def checked(form: dict[str, Any], name: str) -> bool:
    return text(form, name) in ("1", "on", "true", "yes")
