"""The audit log: administrative and registry actions and refusals — who, when, from where, what
changed. Never a secret: password fields are recorded as "changed", never with a value.

``record`` writes in the caller's transaction (the change and its record commit together);
``record_apart`` writes in a transaction of its own, for refusals and failed logins whose request
is rolled back. The custody ledger stays the record for evidence.
"""

from __future__ import annotations

import csv
import enum
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from camera_ops import i18n
from camera_ops.spreadsheet import csv_row
from storage.db import session_scope
from storage.models_security import AuditEvent
from storage.types import utcnow

log = logging.getLogger(__name__)

SECRET_FIELDS = frozenset({"password", "password_encrypted", "password_hash", "new_password", "current_password"})
MESSAGE_MAX = 500
LABEL_MAX = 200


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str | None
    role: str | None
    address: str | None = None


SYSTEM = Actor(None, "system", None, None)  # the command line and background jobs


def actor_of(user: Any, address: str | None) -> Actor:
    role = getattr(user, "role", None)
    return Actor(user.id, user.username, role.value if isinstance(role, enum.Enum) else role, address)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Changed fields as ``{field: {"from": old, "to": new}}``; secrets only as ``{"changed": true}``."""
    changes: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        if key in SECRET_FIELDS:
            if after.get(key) is not None:
                changes[key] = {"changed": True}
            continue
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            changes[key] = {"from": old, "to": new}
    return changes


def _event(actor: Actor | None, action: str, **fields: Any) -> AuditEvent:
    actor = actor or SYSTEM
    changes = fields.pop("changes", None)
    if changes:
        changes = {k: ({"changed": True} if k in SECRET_FIELDS else _plain(v)) for k, v in changes.items()}
    message = fields.pop("message", None)
    label = fields.pop("target_label", None)
    target_id = fields.pop("target_id", None)
    return AuditEvent(
        at=fields.pop("at", None) or utcnow(), actor_user_id=actor.user_id, actor_username=actor.username,
        actor_role=actor.role, client_address=actor.address, action=action, changes=changes or None,
        message=message[:MESSAGE_MAX] if message else None, target_label=label[:LABEL_MAX] if label else None,
        target_id=str(target_id) if target_id is not None else None, **fields,
    )


def record(session: Session, actor: Actor | None, action: str, *, target_type: str | None = None,
           target_id: Any = None, target_label: str | None = None, changes: dict[str, Any] | None = None,
           outcome: str = "ok", message: str | None = None, at: datetime | None = None) -> None:
    """An audit event in the caller's transaction."""
    session.add(_event(actor, action, target_type=target_type, target_id=target_id, target_label=target_label,
                       changes=changes, outcome=outcome, message=message, at=at))


def record_apart(engine: Engine, actor: Actor | None, action: str, *, outcome: str = "denied",
                 target_type: str | None = None, target_id: Any = None, target_label: str | None = None,
                 message: str | None = None, at: datetime | None = None) -> None:
    """An audit event committed on its own (the request it belongs to is being rolled back). A
    failure to write it is logged, never raised: the refusal itself must still reach the user."""
    try:
        with session_scope(engine) as session:
            record(session, actor, action, target_type=target_type, target_id=target_id,
                   target_label=target_label, outcome=outcome, message=message, at=at)
    except SQLAlchemyError as exc:
        log.error("audit: could not record %s by %s: %s", action, (actor or SYSTEM).username, exc.__class__.__name__)


# --- reading -------------------------------------------------------------------------------------


@dataclass
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("camera.")
    outcome: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(stmt: Any, filters: AuditFilter) -> Any:
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_username == filters.actor.strip().lower())
    if filters.action:
        action = filters.action.strip()
        stmt = stmt.where(AuditEvent.action.like(f"{action}%") if action.endswith(".") else AuditEvent.action == action)
    for column, value in ((AuditEvent.outcome, filters.outcome), (AuditEvent.target_type, filters.target_type),
                          (AuditEvent.target_id, filters.target_id)):
        if value:
            stmt = stmt.where(column == value)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.at < filters.until)
    return stmt


def list_events(session: Session, filters: AuditFilter, *, limit: int = 100, offset: int = 0
                ) -> tuple[list[AuditEvent], int]:
    total = session.scalar(_filtered(select(func.count()).select_from(AuditEvent), filters)) or 0
    rows = session.scalars(_filtered(select(AuditEvent), filters).order_by(AuditEvent.id.desc()).limit(limit).offset(offset))
    return list(rows), total


CSV_MAX_ROWS = 100_000  # one export; narrow the filter for more
CSV_COLUMNS = ("audit.col.at", "audit.col.actor", "audit.col.role", "audit.col.address", "audit.col.action",
               "audit.col.outcome", "audit.col.target", "audit.col.changes", "audit.col.message")
def _value_text(value: Any, lang: i18n.Lang) -> str:
    if value is None or value == [] or value == "":
        return i18n.DASH
    if isinstance(value, bool):
        return i18n.t("common.yes" if value else "common.no", lang)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def changes_text(changes: dict[str, Any] | None, lang: i18n.Lang = i18n.DEFAULT_LANG) -> str:
    """``field: old → new; …`` in the reader's language; a secret only as ``***``."""
    parts = []
    for key, change in (changes or {}).items():
        if change.get("changed"):
            parts.append(f"{key}: ***")
        else:
            parts.append(f"{key}: {_value_text(change.get('from'), lang)} → {_value_text(change.get('to'), lang)}")
    return "; ".join(parts)


def events_csv(events: Sequence[AuditEvent], lang: i18n.Lang, tz: str = i18n.DISPLAY_TZ) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([i18n.t(key, lang) for key in CSV_COLUMNS])
    for e in events:
        target = " ".join(p for p in (e.target_type, e.target_id, e.target_label and f"({e.target_label})") if p)
        writer.writerow(csv_row(v if v is not None else "" for v in (
            i18n.fmt_datetime(e.at, tz, seconds=True), e.actor_username, e.actor_role, e.client_address, e.action,
            i18n.t(f"audit.outcome.{e.outcome}", lang), target, changes_text(e.changes, lang), e.message)))
    return "\ufeff" + out.getvalue()  # BOM: Excel opens UTF-8 Vietnamese correctly
