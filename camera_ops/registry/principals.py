"""Who a login token belongs to, remembered for a couple of seconds by an API process.

Checking a login costs two or three database reads (the session row, the user and its areas) and,
once a minute, a write; on the hot read endpoints (camera list, fleet summary) that was a third of a
request's CPU. A :class:`Principal` is the read-only part of that answer (user id, name, role,
areas, session id), and :class:`PrincipalCache` keeps it per token for ``ttl_s`` seconds of the
application's clock.

Revocation stays bounded and short:

- a login ended (logout, password change or reset, role change, disabling) *in this process* is
  forgotten at once: :func:`camera_ops.registry.sessions.end_sessions` and ``users.update_user``
  call :func:`forget_user`;
- a login ended in *another* process (a second API worker, the command line) stops working here
  within ``ttl_s`` (``CAMERA_OPS_API_SESSION_CHECK_S``, default 2 s): a request past half that
  time has the database asked again in the background (the answer is still believed meanwhile,
  never past ``ttl_s``; an ended login is forgotten as soon as that check says so), and one past
  ``ttl_s`` waits for the database; the check also enforces the idle timeout and marks the session
  used;
- a token past its own expiry is refused whatever the cache holds;
- a check of the database that was under way when a login was forgotten (it may have read the
  session before the logout committed) is not remembered, nor joined by a later request: every
  forgetting moves :attr:`PrincipalCache.epoch`, and :meth:`PrincipalCache.put` takes the epoch the
  check started in. The users' changes forget once more after their transaction commits
  (:func:`forget_user_on_commit`), so a check started between the change and its commit is dropped too.

Only the read endpoints that ask for a ``Principal`` use it; every other request checks its login
against the database as before.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.models import Role, User

MAX_ENTRIES = 10_000  # logins remembered per process; past it the oldest half is dropped


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user as the read endpoints need it (no ORM object: safe to share)."""

    id: int
    username: str
    role: Role
    session_id: str
    must_change_password: bool
    scope: tuple[str, ...] | None  # area path prefixes; None: everything (admin)
    expires_at: float  # the token's own expiry, epoch seconds

    @classmethod
    def of(cls, user: User, session_id: str, expires_at: float) -> Principal:
        scope = None if user.role == Role.admin else tuple(a.path for a in user.areas)
        return cls(user.id, user.username, user.role, session_id, bool(user.must_change_password), scope, expires_at)

    @property
    def scope_list(self) -> list[str] | None:
        return None if self.scope is None else list(self.scope)


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    checked_at: datetime


class PrincipalCache:
    """Token → principal, believed for ``ttl_s`` seconds after the database said so."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.epoch = 0  # moved by every forgetting: a check started before it is not remembered
        _CACHES.add(self)

    def get(self, token: str, now: datetime) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        age = (now - entry.checked_at).total_seconds()
        if not 0 <= age < self.ttl_s or now.timestamp() >= entry.principal.expires_at:
            return None
        return entry.principal

    def ageing(self, token: str, now: datetime) -> bool:
        """Past half its time: worth asking the database again in the background, so a busy
        client's requests never all wait for the check when the answer expires."""
        entry = self._entries.get(token)
        return entry is not None and (now - entry.checked_at).total_seconds() >= self.ttl_s / 2

    def forget_token(self, token: str) -> None:
        with self._lock:
            self.epoch += 1
            self._entries.pop(token, None)

    def put(self, token: str, principal: Principal, now: datetime, *, epoch: int | None = None) -> None:
        """Remember the database's answer; not when something was forgotten since ``epoch`` (the
        :attr:`epoch` the check started in): that answer may predate a logout."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if epoch is not None and epoch != self.epoch:
                return
            if len(self._entries) >= MAX_ENTRIES:
                for old in list(self._entries)[: MAX_ENTRIES // 2]:  # insertion order: the oldest first
                    self._entries.pop(old, None)
            self._entries[token] = _Entry(principal, now)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self.epoch += 1
            for token in [t for t, e in self._entries.items() if e.principal.id == user_id]:
                self._entries.pop(token, None)


_CACHES: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


def forget_user(user_id: int) -> None:
    """Every cache of this process forgets the user's logins (their sessions ended or changed)."""
    for cache in list(_CACHES):
        cache.forget_user(user_id)


def forget_user_on_commit(session: Session, user_id: int) -> None:
    """:func:`forget_user` now and again once ``session`` commits: a check of the login that read
    the database between the change and its commit saw the login still open."""
    forget_user(user_id)
    event.listen(session, "after_commit", lambda _session: forget_user(user_id), once=True)
