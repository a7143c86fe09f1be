"""Login sessions, login throttling and the audit log of administrative and registry actions.

The custody ledger stays the record for evidence; the audit log is for who changed the registry,
administered users, or was refused — never a secret in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigId
from storage.types import utcnow


class UserSession(Base):
    """One login. Its id travels inside the signed token; a token whose session is ended, idle for
    too long, or unknown is refused — so logout, password change, disable and role change end
    tokens on the server, not only in the browser."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_reason: Mapped[str | None] = mapped_column(String(32))
    client_address: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins per key (``user:<name>`` or ``addr:<ip>``) and the lockout they earned."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    """Who did what to the registry or to users, when, from where; refusals included."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the record outlives the row
    actor_username: Mapped[str | None] = mapped_column(String(80))
    actor_role: Mapped[str | None] = mapped_column(String(24))
    client_address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | denied | failed
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target_label: Mapped[str | None] = mapped_column(String(200))
    changes: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    message: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_actor", "actor_username", "at"),
        Index("ix_audit_event_target", "target_type", "target_id"),
    )
