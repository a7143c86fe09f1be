"""Errors as a person reads them: the catalog text of the error's key (or of its code), in the
user's language, with the form's own label for the field to fix.

An error carries ``code`` (stable, for clients), ``key`` + ``params`` (the message) and ``field``
(the form field / JSON attribute). Nothing here reads ``CameraOpsError.message``, which is the
English developer text for logs — except as the last resort for an error raised without a key,
where the code's generic text comes first and the English detail follows in parentheses.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from dataclasses import dataclass, field
from typing import Any

from camera_ops import i18n
from camera_ops.errors import CameraOpsError

# Field name → the message key of the label the forms show for it. A page may pass its own
# labels (``field_labels=``) when its form words a field differently.
FIELD_LABELS: dict[str, str] = {
    "start": "case.start", "end": "case.end", "camera_ids": "field.camera_ids", "purpose": "case.purpose",
    "unit": "case.unit", "number": "case.number", "title": "case.title", "legal_basis": "case.legal_basis",
    "officer_id": "case.officer", "member_ids": "field.member_ids", "case_id": "field.case_id",
    "clip_id": "field.clip_id", "request_id": "field.request_id",
    "code": "common.code", "name": "common.name", "kind": "common.kind", "note": "common.note",
    "phone": "common.phone", "address": "common.address", "area_id": "common.area", "hamlet_code": "field.hamlet_code",
    "parent_id": "field.parent_id", "into_id": "field.into_id", "parent_code": "field.parent_id",
    "host": "camera.host", "onvif_port": "camera.onvif_port", "port": "camera.onvif_port",
    "username": "camera.username", "password": "camera.password", "profile": "field.profile",
    "latitude": "camera.latitude", "longitude": "camera.longitude", "bearing_deg": "camera.bearing",
    "watches": "camera.watches", "donor_id": "camera.donor", "donor_name": "camera.donor",
    "donor_kind": "field.donor_kind", "donated_on": "camera.donated_on", "install_point": "camera.install",
    "lifecycle": "camera.lifecycle", "security_model_id": "camera.model_dossier", "camera_id": "field.camera_id",
    "contact_name": "donors.contact", "model_id": "camera.model_dossier", "reason": "field.reason",
    "ended_on": "field.ended_on", "review_date": "dossier.review_date", "findings": "dossier.findings",
    "verdict": "dossier.verdict", "file": "field.file", "period": "reports.period", "index": "reports.index",
    "year": "reports.year", "stream_url": "field.stream_url", "members": "field.members", "decision_date": "field.decision_date",
    "confirm": "field.confirm", "sub_stream_url": "field.sub_stream_url",
    "snapshot_url": "field.snapshot_url", "rtsp_port": "field.rtsp_port", "http_port": "field.http_port",
    "channels": "field.channels", "stream_url_template": "field.stream_url_template", "range": "field.range", "timeout_s": "field.timeout_s",
    "playback_template": "field.playback_template", "playback_style": "field.playback_style", "area_ids": "field.area_ids", "role": "field.role", "action": "common.actions",
    "full_name": "common.name", "current_password": "password.current", "new_password": "password.new",
    "new_password_again": "password.new_again",
}

# Parameters that are enum values, shown with their label (``area_kind.commune`` → "Xã / phường").
PARAM_LABELS: dict[str, str] = {"kind": "area_kind", "parent": "area_kind", "role": "role"}


def field_label(field: str | None, lang: i18n.Lang, labels: Mapping[str, str] | None = None) -> str | None:
    """The label the user sees for ``field``; the field's own name when no label is known."""
    if field is None:
        return None
    if labels and field in labels:
        return labels[field]
    key = FIELD_LABELS.get(field) or FIELD_LABELS.get(field.split(".")[-1])
    return i18n.t(key, lang) if key and i18n.has(key) else field


def _param(name: str, value: Any, lang: i18n.Lang) -> object:
    """Enum values as their label; a decimal number with the language's decimal mark (ids, ports
    and years stay as plain digits)."""
    if name in PARAM_LABELS and isinstance(value, str):
        return i18n.label(value, PARAM_LABELS[name], lang)
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",") if lang == "vi" else text
    return value


def render_message(code: str, key: str | None, params: Mapping[str, Any] | None, message: str, lang: i18n.Lang,
                   *, field: str | None = None, labels: Mapping[str, str] | None = None) -> str:
    """The text of an error (or of an error stored as a dict) in ``lang``."""
    values = {name: _param(name, value, lang) for name, value in (params or {}).items()}
    values.setdefault("field", field_label(field, lang, labels) or "")
    if key and i18n.has(key):
        return i18n.t(key, lang, **values)
    generic_key = f"error.code.{code}"
    generic = i18n.t(generic_key, lang) if i18n.has(generic_key) else i18n.t("error.code.error", lang)
    if lang == "en" and message:
        return message[:1].upper() + message[1:]
    return f"{generic} ({message})" if message else generic


def error_message(exc: CameraOpsError, lang: i18n.Lang, labels: Mapping[str, str] | None = None) -> str:
    return render_message(exc.code, exc.key, exc.params, exc.message, lang, field=exc.field, labels=labels)


@dataclass(frozen=True)
class ShownError:
    """An error as a page shows it: templates read ``message``, ``field`` and ``field_label``."""

    code: str
    message: str
    field: str | None
    field_label: str | None
    key: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, exc: CameraOpsError | Mapping[str, Any], lang: i18n.Lang,
           labels: Mapping[str, str] | None = None) -> ShownError:
        if isinstance(exc, CameraOpsError):
            return cls(exc.code, error_message(exc, lang, labels), exc.field, field_label(exc.field, lang, labels),
                       exc.key, exc.details)
        name = exc.get("field")
        text = render_message(str(exc.get("code") or "error"), exc.get("key"), exc.get("params"),
                              str(exc.get("message") or ""), lang, field=name, labels=labels)
        return cls(str(exc.get("code") or "error"), text, name, field_label(name, lang, labels), exc.get("key"),
                   exc.get("details") or {})

    def __str__(self) -> str:
        return self.message


# Registration warnings are English sentences (``HandshakeResult.warnings``, kept as text in the
# API): each known shape is said in the user's language; an unknown one is shown as it is.
_WARNINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^camera clock is (?P<offset>[+-]?\d+) s off true time", "warn.clock"),
    (r"^the camera checks WS-Security signatures against its own clock \((?P<offset>[+-]?\d+) s off\)",
     "warn.wsse_clock"),
    (r"^camera reported no MAC address", "warn.no_mac"),
    (r"^camera reported a service address outside the camera networks", "warn.outside_networks"),
    (r"^channel (?P<channel>\S+) \((?P<source>[^)]*)\) has no H\.264/H\.265 profile", "warn.channel_profile"),
    (r"^recording search failed: (?P<detail>.*)$", "warn.search_failed"),
    (r"^camera offers replay but no recording was found", "warn.no_recording"),
    (r"^no sub stream and no snapshot URL", "warn.no_sub_stream"),
    (r"^(?P<step>\S+) failed: (?P<detail>.*)$", "warn.step_failed"),
))


def warning_text(text: str, lang: i18n.Lang) -> str:
    """A registration warning in ``lang`` (the English original when its shape is unknown)."""
    for pattern, key in _WARNINGS:
        match = pattern.search(text)
        if match and i18n.has(key):
            return i18n.t(key, lang, **match.groupdict())
    return text


# A clip's status reason is stored as the worker wrote it (English, with the error's own text):
# its known shapes are said in the reader's language, the error inside through the catalog.
_CLIP_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^the camera's recording has (?P<n>\d+) gap\(s\), (?P<seconds>[\d.]+) s missing in all$", "clip_reason.gaps"),
    (r"^attempt (?P<n>\d+) failed \((?P<detail>.*)\); retrying at (?P<at>[\d:]+) UTC$", "clip_reason.retrying"),
    (r"^gave up after (?P<n>\d+) attempts \(the last was cut short: worker (?P<worker>.*) died\)$",
     "clip_reason.worker_died"),
    (r"^gave up after (?P<n>\d+) attempts: (?P<detail>.*)$", "clip_reason.gave_up"),
))


def _known_error(text: str, lang: i18n.Lang) -> str:
    """An English error text the catalog knows word for word (no parameters), in ``lang``."""
    from camera_ops.catalogs import texts

    wanted = text.strip().rstrip(".").lower()
    for key, english in texts("en").items():
        if key.startswith(("err.", "error.code.")) and "{" not in english and english.rstrip(".").lower() == wanted:
            return i18n.t(key, lang)
    return text


def clip_reason_text(text: str | None, lang: i18n.Lang) -> str:
    """Why a clip is queued / partial / failed, in ``lang`` (unknown shapes as stored)."""
    if not text:
        return ""
    for pattern, key in _CLIP_REASONS:
        match = pattern.search(text)
        if match and i18n.has(key):
            values = match.groupdict()
            if "detail" in values:
                values["detail"] = _known_error(values["detail"], lang)
            if "seconds" in values and lang == "vi":
                values["seconds"] = values["seconds"].replace(".", ",")
            return i18n.t(key, lang, **values)
    return _known_error(text, lang)

