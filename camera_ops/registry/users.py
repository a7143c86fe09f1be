"""Users, roles and the areas each may see."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from camera_ops.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from camera_ops.registry.areas import get_area
from camera_ops.security import hash_password, verify_password
from storage.models import Role, User

MIN_PASSWORD_LEN = 8


def create_user(
    session: Session, *, username: str, password: str, full_name: str, role: Role, area_ids: Sequence[int] = (),
    unit: str | None = None, phone: str | None = None,
) -> User:
    username = username.strip().lower()
    if not username:
        raise ValidationFailed("username is empty", field="username", key="err.field.required")
    if len(password) < MIN_PASSWORD_LEN:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LEN} characters", field="password",
                               key="err.user.password_short", params={"min": MIN_PASSWORD_LEN})
    if role != Role.admin and not area_ids:
        raise ValidationFailed("every user except an admin is scoped to at least one area", field="area_ids",
                               key="err.user.needs_area")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists", field="username", key="err.user.duplicate",
                       params={"name": username})
    user = User(username=username, password_hash=hash_password(password), full_name=full_name, role=role,
                unit=unit, phone=phone)
    user.areas = [get_area(session, a) for a in area_ids]
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    """One indexed query (the user's row by primary key joined to their areas): every request's
    ``current_user`` calls it."""
    user = session.scalars(select(User).options(joinedload(User.areas)).where(User.id == user_id)).unique().first()
    if user is None:
        raise NotFound(f"user {user_id} does not exist", field="user_id",
                       key="err.user.missing", params={"id": user_id})
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    user = session.scalar(
        select(User).options(selectinload(User.areas)).where(User.username == username.strip().lower())
    )
    # Same message whether the user exists or not: the login form reveals no usernames.
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        raise NotAuthenticated("wrong username or password", key="err.login.failed")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).options(selectinload(User.areas)).order_by(User.username)))
