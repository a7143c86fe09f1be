"""Users, roles and the areas each may see; what administrators do to accounts.

Every change is audited (never a password). Disabling, a role change, a password reset or change
end every login of that user at once (see :mod:`camera_ops.registry.sessions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from camera_ops import audit
from camera_ops.audit import Actor
from camera_ops.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from camera_ops.passwords import check_password
from camera_ops.registry.areas import get_area
from camera_ops.registry.principals import forget_user_on_commit
from camera_ops.registry.sessions import end_sessions
from camera_ops.security import hash_password, verify_against_dummy, verify_password
from storage.models import Role, User
from storage.types import utcnow

EDITABLE = frozenset({"full_name", "role", "area_ids", "unit", "phone", "is_active"})


def _user_view(user: User) -> dict[str, Any]:
    return {"full_name": user.full_name, "role": user.role, "unit": user.unit, "phone": user.phone,
            "is_active": user.is_active, "area_ids": sorted(a.id for a in user.areas)}


def create_user(
    session: Session, *, username: str, password: str, full_name: str, role: Role, area_ids: Sequence[int] = (),
    unit: str | None = None, phone: str | None = None, actor: Actor | None = None,
    must_change_password: bool = False,
) -> User:
    username = username.strip().lower()
    if not username:
        raise ValidationFailed("username is empty", field="username", key="err.field.required")
    check_password(password, username=username)
    if role != Role.admin and not area_ids:
        raise ValidationFailed("every user except an admin is scoped to at least one area", field="area_ids",
                               key="err.user.needs_area")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", field="username", key="err.user.duplicate",
                       params={"name": username})
    user = User(username=username, password_hash=hash_password(password), full_name=full_name, role=role,
                unit=unit, phone=phone, must_change_password=must_change_password, password_changed_at=utcnow())
    user.areas = [get_area(session, a) for a in area_ids]
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", target_type="user", target_id=user.id, target_label=user.username,
                 changes=audit.diff({}, {**_user_view(user), "password": "*"}))
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, options=[selectinload(User.areas)])
    if user is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id",
                       key="err.user.missing", params={"id": user_id})
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Check a password (the command line; the API and pages log in through sessions.login)."""
    user = session.scalar(
        select(User).options(selectinload(User.areas)).where(User.username == username.strip().lower())
    )
    # Same message, and the same time, whether the user exists or not.
    if user is None or not user.is_active:
        verify_against_dummy(password)
        raise NotAuthenticated("wrong username or password", key="err.login.failed")
    if not verify_password(password, user.password_hash):
        raise NotAuthenticated("wrong username or password", key="err.login.failed")
    return user


def list_users(session: Session, *, q: str | None = None, role: Role | None = None,
               active: bool | None = None) -> list[User]:
    stmt = select(User).options(selectinload(User.areas)).order_by(User.username)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(func.lower(User.username).like(like) | func.lower(User.full_name).like(like))
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    return list(session.scalars(stmt))


def _other_active_admins(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.admin, User.is_active.is_(True), User.id != user.id)) or 0


def update_user(session: Session, user: User, changes: dict[str, Any], *, actor: Actor | None, now: datetime) -> User:
    """Role, areas, name, unit, phone, enabled. A role change or disabling ends the user's logins;
    any change is forgotten by this process's remembered logins (``principals``)."""
    forget_user_on_commit(session, user.id)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))} here", field=sorted(unknown)[0],
                               key="err.field.not_editable", params={"fields": ", ".join(sorted(unknown))})
    changes = {k: v for k, v in changes.items() if v is not None or k in ("unit", "phone")}
    before = _user_view(user)
    role = changes.get("role", user.role)
    active = changes.get("is_active", user.is_active)
    if user.role == Role.admin and user.is_active and (role != Role.admin or not active) \
            and not _other_active_admins(session, user):
        raise Conflict("this is the last active administrator; make another one first", field="role",
                       key="err.user.last_admin")
    if "full_name" in changes and not str(changes["full_name"]).strip():
        raise ValidationFailed("full name is empty", field="full_name", key="err.field.required")
    if "area_ids" in changes:
        user.areas = [get_area(session, a) for a in changes["area_ids"]]
    if role != Role.admin and not user.areas:
        raise ValidationFailed("every user except an admin is scoped to at least one area", field="area_ids",
                               key="err.user.needs_area")
    for key in ("full_name", "role", "unit", "phone", "is_active"):
        if key in changes:
            setattr(user, key, changes[key])
    after = _user_view(user)
    recorded = audit.diff(before, after)
    if not recorded:
        return user
    if before["role"] != after["role"] or (before["is_active"] and not after["is_active"]):
        end_sessions(session, user.id, reason="role changed" if before["role"] != after["role"] else "disabled", now=now)
    action = "user.disable" if recorded.keys() == {"is_active"} and not after["is_active"] else \
        "user.enable" if recorded.keys() == {"is_active"} else "user.update"
    audit.record(session, actor, action, target_type="user", target_id=user.id, target_label=user.username,
                 changes=recorded)
    session.flush()
    return user


def reset_password(session: Session, user: User, new_password: str, *, actor: Actor | None, now: datetime) -> User:
    """An administrator sets a temporary password: the user must change it at the next login, and
    every current login of theirs ends."""
    check_password(new_password, username=user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.password_changed_at = now
    ended = end_sessions(session, user.id, reason="password reset", now=now)
    audit.record(session, actor, "user.reset_password", target_type="user", target_id=user.id,
                 target_label=user.username, changes={"password": {"changed": True}},
                 message=f"{ended} login(s) ended; change required at next login")
    session.flush()
    return user


def change_own_password(session: Session, user: User, *, current: str, new: str, actor: Actor | None,
                        now: datetime) -> User:
    """Every user changes their own password (the current one proves it is them). Every login of
    theirs ends; the caller opens a new one."""
    if not verify_password(current, user.password_hash):
        raise ValidationFailed("the current password is wrong", field="current_password",
                               key="err.password.current_wrong")
    if new == current:
        raise ValidationFailed("the new password must differ from the current one", field="new_password",
                               key="err.password.same")
    try:
        check_password(new, username=user.username)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field="new_password", details=exc.details, key=exc.key,
                               params=exc.params) from exc
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = now
    end_sessions(session, user.id, reason="password changed", now=now)
    audit.record(session, actor, "user.change_password", target_type="user", target_id=user.id,
                 target_label=user.username, changes={"password": {"changed": True}})
    session.flush()
    return user


def end_user_sessions(session: Session, user: User, *, actor: Actor | None, now: datetime, reason: str) -> int:
    ended = end_sessions(session, user.id, reason=reason, now=now)
    audit.record(session, actor, "user.end_sessions" if reason != "logout" else "user.logout", target_type="user",
                 target_id=user.id, target_label=user.username, message=f"{ended} login(s) ended")
    return ended
