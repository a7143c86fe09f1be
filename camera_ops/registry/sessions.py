"""Logging in and staying logged in: throttled logins, server-side sessions, idle timeout.

- A failed login counts against the username and against the client address. Past a free number
  of failures each further one locks the key for a growing time (30 s, 60 s, … up to 15 min by
  default); a locked key is answered 429 with Retry-After before any password is checked, and the
  lockout is logged as a security alert and audited.
- Unknown and disabled usernames are verified against a dummy hash: equal time.
- A login is a ``user_session`` row; its id is in the signed token. Logout, password change or
  reset, disabling and role change end every session of the user; a session unused for
  ``session_idle_minutes`` ends too.

Every function takes ``now`` (the clock is injected; tests never sleep).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from camera_ops import audit
from camera_ops.audit import Actor
from camera_ops.errors import NotAuthenticated, TooManyAttempts
from camera_ops.registry.principals import Principal, forget_user_on_commit
from camera_ops.security import issue_token, read_token, verify_against_dummy, verify_password
from camera_ops.settings import Settings
from storage.db import session_scope
from storage.models import User
from storage.models_security import LoginThrottle, UserSession

log = logging.getLogger(__name__)

SESSION_ID_BYTES = 32
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per session
FAILURE_MEMORY = timedelta(hours=24)  # failures older than this are forgotten
USERNAME_KEY_MAX = 120


# --- throttling: pure policy ---------------------------------------------------------------------


def lockout_s(failures: int, *, free: int, first_s: float, max_s: float) -> float:
    """Seconds a key is locked after its ``failures``-th consecutive failure (0: not locked)."""
    if failures <= free:
        return 0.0
    return min(first_s * 2 ** (failures - free - 1), max_s)


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    free: int


def throttle_keys(username: str, address: str | None, settings: Settings) -> list[ThrottleKey]:
    keys = [ThrottleKey("user:" + username.strip().lower()[:USERNAME_KEY_MAX], settings.login_free_failures)]
    if address:
        keys.append(ThrottleKey("addr:" + address, settings.login_free_failures_per_address))
    return keys


def _retry_after(rows: Sequence[LoginThrottle], now: datetime) -> int:
    waits = [(row.locked_until - now).total_seconds() for row in rows if row.locked_until and row.locked_until > now]
    return ceil(max(waits)) if waits else 0


# --- throttling: storage -------------------------------------------------------------------------


def check_not_locked(engine: Engine, keys: Sequence[ThrottleKey], now: datetime) -> None:
    with session_scope(engine, write=False) as s:
        rows = list(s.scalars(select(LoginThrottle).where(LoginThrottle.key.in_([k.key for k in keys]))))
    wait = _retry_after(rows, now)
    if wait:
        raise TooManyAttempts(f"too many failed logins; try again in {wait} s", retry_after_s=wait, field="username",
                              key="err.login.throttled", params={"seconds": wait})


def record_failure(engine: Engine, keys: Sequence[ThrottleKey], settings: Settings, now: datetime) -> int:
    """Count one failure on every key (in a transaction of its own: the login request is rolled
    back). Returns the lockout it earned, in seconds (0: none)."""
    for attempt in range(2):  # a concurrent first failure may insert the same key: once more
        try:
            with session_scope(engine) as s:
                locked = 0.0
                for k in keys:
                    row = s.get(LoginThrottle, k.key, with_for_update=True)
                    if row is None:
                        row = LoginThrottle(key=k.key, failures=0, last_failure_at=now)
                        s.add(row)
                    elif now - row.last_failure_at > FAILURE_MEMORY:
                        row.failures = 0
                    row.failures += 1
                    row.last_failure_at = now
                    seconds = lockout_s(row.failures, free=k.free, first_s=settings.login_lockout_s,
                                        max_s=settings.login_lockout_max_s)
                    if seconds:
                        row.locked_until = now + timedelta(seconds=seconds)
                        locked = max(locked, seconds)
                return ceil(locked)
        except IntegrityError:
            if attempt:
                raise
    return 0


def forget_failures(session: Session, username: str) -> None:
    """A successful login clears its username's count (not the address's: a shared address that
    also guesses other usernames stays counted)."""
    row = session.get(LoginThrottle, "user:" + username.strip().lower()[:USERNAME_KEY_MAX])
    if row is not None:
        session.delete(row)


# --- login ---------------------------------------------------------------------------------------


def _find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).options(selectinload(User.areas))
                          .where(User.username == username.strip().lower()))


def login(
    session: Session, engine: Engine, settings: Settings, *, username: str, password: str, address: str | None,
    now: datetime,
) -> tuple[User, str]:
    """Check the throttle, the password (equal time for unknown users), open a session.
    Returns the user and a signed token. TooManyAttempts / NotAuthenticated otherwise."""
    keys = throttle_keys(username, address, settings)
    check_not_locked(engine, keys, now)
    user = _find_user(session, username)
    if user is None or not user.is_active:
        verify_against_dummy(password)
        ok = False
    else:
        ok = verify_password(password, user.password_hash)
    if not ok:
        session.rollback()  # the request's own transaction must not hold SQLite's write lock meanwhile
        _failed(engine, keys, settings, username=username, address=address, now=now)
        raise NotAuthenticated("wrong username or password", key="err.login.failed")
    assert user is not None
    forget_failures(session, username)
    return user, open_session(session, user, settings, address=address, now=now)


def _failed(engine: Engine, keys: Sequence[ThrottleKey], settings: Settings, *, username: str, address: str | None,
            now: datetime) -> None:
    locked_s = record_failure(engine, keys, settings, now)
    shown = "".join(ch if ch.isprintable() else "?" for ch in username.strip().lower())[:80]
    actor = Actor(None, shown, None, address)
    if locked_s:
        log.warning("SECURITY ALERT: login locked for %d s after repeated failures (username %r, address %s)",
                    locked_s, shown, address)
        audit.record_apart(engine, actor, "login.locked", outcome="denied", target_type="user", target_label=shown,
                           message=f"locked for {locked_s} s after repeated failed logins", at=now)
    else:
        audit.record_apart(engine, actor, "login.failed", outcome="denied", target_type="user", target_label=shown,
                           at=now)


# --- sessions ------------------------------------------------------------------------------------


def open_session(session: Session, user: User, settings: Settings, *, address: str | None, now: datetime) -> str:
    sid = secrets.token_urlsafe(SESSION_ID_BYTES)
    session.add(UserSession(id=sid, user_id=user.id, created_at=now, last_seen_at=now, client_address=address))
    session.flush()
    return issue_token(user.id, settings, session_id=sid, now=now)


def end_sessions(session: Session, user_id: int, *, reason: str, now: datetime, keep: str | None = None) -> int:
    """End every open session of a user (but ``keep``); their tokens stop working at once (this
    process's remembered logins are forgotten too, now and at commit: ``principals``)."""
    forget_user_on_commit(session, user_id)
    stmt = (update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .values(ended_at=now, ended_reason=reason))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return session.execute(stmt).rowcount or 0


@dataclass(frozen=True)
class LoggedIn:
    user: User
    session_id: str
    expires_at: float = float("inf")  # the token's, epoch seconds


def user_for_token(session: Session, engine: Engine, settings: Settings, token: str, *, now: datetime,
                   writing: bool = False) -> LoggedIn:
    """The user a token belongs to, if its session is open and not idle; NotAuthenticated otherwise.
    Marks the session used, at most once a minute: in the request's own transaction when it writes
    anyway (``writing``), else in a short one of its own (reads never take SQLite's write lock)."""
    claims = read_token(token, settings, now=now)
    row = session.get(UserSession, claims.session_id)
    if row is None or row.user_id != claims.user_id or row.ended_at is not None:
        raise NotAuthenticated("this login has ended; please log in again", key="err.login.ended")
    if now - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes):
        raise NotAuthenticated("logged out after a time without use; please log in again", key="err.login.idle")
    user = session.get(User, claims.user_id, options=[selectinload(User.areas)])
    if user is None or not user.is_active:
        raise NotAuthenticated("this account is disabled", key="err.login.disabled")
    if now - row.last_seen_at >= TOUCH_EVERY:
        touch = update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        if writing:
            session.execute(touch)
        else:
            with session_scope(engine) as s:
                s.execute(touch)
    return LoggedIn(user, row.id, claims.expires_at)


def principal_for_token(engine: Engine, settings: Settings, token: str, *, now: datetime) -> Principal:
    """:func:`user_for_token` in a short reading transaction of its own, as a :class:`Principal`."""
    with session_scope(engine, write=False) as session:
        logged = user_for_token(session, engine, settings, token, now=now)
        return Principal.of(logged.user, logged.session_id, logged.expires_at)
