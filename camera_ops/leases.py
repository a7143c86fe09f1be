"""Named leases in the database: one holder at a time, with a fencing token.

Used wherever several processes may run the same work but only one should at a time: the
monitor's single-run jobs (alerts, deliveries, rollups, digests) and the worker's custody
checkpoints. The database is the only coordinator (no consensus of our own):

- :func:`acquire` takes a free or expired lease, or renews one this holder already has, in one
  transaction. Times come from the database server's clock (:func:`db_now`), so a node whose own
  clock jumps cannot steal or keep a lease.
- ``token`` grows by one each time the lease passes to a different holder. A writer that must not
  act after losing its lease calls :func:`check` inside its own write transaction (it takes the
  lease row's lock on PostgreSQL, so a takeover cannot commit in between).
- :class:`LeaseKeeper` adds a local deadline on the monotonic clock: a holder that was paused
  (SIGSTOP, a VM freeze) knows on waking that its lease may be gone, before touching anything.
- :class:`SingleRunJob` wraps a periodic job so it runs only on the node holding its lease.

``advisory_lock`` is a PostgreSQL session advisory lock (held for a block of work on one
connection, e.g. a schema upgrade); on SQLite, where one file has one writer anyway, it does nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import Connection, case, insert, literal, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models_cluster import Lease
from storage.types import utcnow

log = logging.getLogger(__name__)

# A lease is renewed this many times per TTL: two renewals may fail (a database hiccup) before a
# healthy holder loses it.
RENEWALS_PER_TTL = 3
# The local deadline ends this much before the database's (at most a tenth of the TTL): the
# renewal's own round trip and the drift between the server's clock and ours are well under it.
LOCAL_MARGIN_S = 1.0


def local_margin_s(ttl_s: float) -> float:
    return min(LOCAL_MARGIN_S, ttl_s / 10)


class LeaseLost(Exception):
    """The lease is held by someone else now (ours expired and was taken): stop writing."""


def node_name() -> str:
    """This process's name on leases and memberships: host, pid and a random tag (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def db_now(session: Session | Connection) -> datetime:
    """The database server's time (UTC). SQLite is embedded: its clock is this machine's."""
    dialect = session.get_bind().dialect if isinstance(session, Session) else session.dialect
    if dialect.name == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(timezone.utc)
    return utcnow()


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    name: str
    holder: str
    token: int
    expires_at: datetime  # database time
    granted_at: datetime | None = None  # database time of the grant ("now" for the work it allows)


def acquire(session: Session, name: str, holder: str, ttl_s: float) -> LeaseGrant | None:
    """Take or renew lease ``name`` for ``holder`` until now + ``ttl_s`` (database time). Returns
    None when another holder has it and it has not expired. The caller's transaction commits."""
    now = db_now(session)
    expires = now + timedelta(seconds=ttl_s)
    table = Lease.__table__
    same = table.c.holder == holder
    row = session.execute(
        update(table)
        .where(table.c.name == name, same | (table.c.expires_at < now))
        .values(
            token=_case_token(table, holder), holder=holder, expires_at=expires,
            acquired_at=_case_acquired(table, holder, now),
        )
        .returning(table.c.token)
    ).first()
    if row is not None:
        return LeaseGrant(name, holder, int(row[0]), expires, now)
    if session.get(Lease, name) is not None:
        return None  # held by someone else
    try:
        with session.begin_nested():
            session.execute(insert(table).values(name=name, holder=holder, token=1, acquired_at=now, expires_at=expires))
    except IntegrityError:
        return None  # another node inserted it first
    return LeaseGrant(name, holder, 1, expires, now)


def _case_token(table: Any, holder: str) -> Any:
    return case((table.c.holder == holder, table.c.token), else_=table.c.token + 1)


def _case_acquired(table: Any, holder: str, now: datetime) -> Any:
    return case((table.c.holder == holder, table.c.acquired_at), else_=literal(now, table.c.acquired_at.type))


def check(session: Session, grant: LeaseGrant) -> None:
    """Inside a write transaction: raise LeaseLost unless ``grant`` still holds (same holder and
    token, not expired). Locks the lease row on PostgreSQL until the transaction ends."""
    stmt = select(Lease.holder, Lease.token, Lease.expires_at).where(Lease.name == grant.name).with_for_update()
    row = session.execute(stmt).first()
    if row is None or row.holder != grant.holder or row.token != grant.token or row.expires_at < db_now(session):
        raise LeaseLost(f"lease {grant.name!r} is no longer held by {grant.holder}")


def release(session: Session, grant: LeaseGrant) -> None:
    """Give the lease up now (a clean stop), so another node need not wait for it to expire."""
    session.execute(
        update(Lease.__table__)
        .where(Lease.name == grant.name, Lease.holder == grant.holder, Lease.token == grant.token)
        .values(expires_at=db_now(session) - timedelta(microseconds=1))
    )


class LeaseKeeper:
    """One process's hold on one named lease, with a local deadline on the monotonic clock."""

    def __init__(self, maker: sessionmaker[Session], name: str, holder: str, ttl_s: float) -> None:
        self.maker = maker
        self.name = name
        self.holder = holder
        self.ttl_s = ttl_s
        self.grant: LeaseGrant | None = None
        self._valid_until = 0.0  # time.monotonic()

    def try_hold(self) -> LeaseGrant | None:
        """Acquire or renew (one transaction); the grant, or None when another node holds it."""
        started = time.monotonic()  # before the round trip: the local deadline errs early
        with self.maker() as session, session.begin():
            grant = acquire(session, self.name, self.holder, self.ttl_s)
        if grant is not None and self.grant is not None and grant.token != self.grant.token:
            log.info("lease %s taken again by %s (token %d)", self.name, self.holder, grant.token)
        self.grant = grant
        self._valid_until = started + self.ttl_s - local_margin_s(self.ttl_s) if grant is not None else 0.0
        return grant

    def held(self) -> bool:
        """Still ours by the local clock (a paused process sees its time run out on waking)."""
        return self.grant is not None and time.monotonic() < self._valid_until

    def release(self) -> None:
        grant, self.grant, self._valid_until = self.grant, None, 0.0
        if grant is None:
            return
        try:
            with self.maker() as session, session.begin():
                release(session, grant)
        except Exception:  # noqa: BLE001 — stopping anyway: the lease expires on its own
            log.warning("lease %s: could not release it; it expires in %.0f s", self.name, self.ttl_s)


class PeriodicJob(Protocol):
    name: str
    interval_s: float

    def run_once(self) -> Any: ...


class SingleRunJob:
    """A periodic job that runs only on the node holding lease ``job:<name>``.

    The lease lives a few intervals (at least ``min_ttl_s``): the holder renews it at every run,
    so it keeps the job while it lives, and another node takes over within one TTL of its death.
    A job whose ``run_once`` takes ``now`` gets the database's time of the grant: a node whose
    wall clock jumped does not open alerts early or date a digest on the wrong day.
    """

    def __init__(self, job: PeriodicJob, maker: sessionmaker[Session], holder: str, *, min_ttl_s: float = 30.0) -> None:
        self.job = job
        self.name = job.name
        self.interval_s = job.interval_s
        ttl = max(min_ttl_s, job.interval_s * RENEWALS_PER_TTL)
        self.keeper = LeaseKeeper(maker, f"job:{job.name}", holder, ttl)
        self.runs = 0  # runs done on this node (tests, metrics)
        self._takes_now = "now" in inspect.signature(job.run_once).parameters

    def run_once(self) -> Any:
        grant = self.keeper.try_hold()
        if grant is None:
            return None  # another node runs it
        self.runs += 1
        if self._takes_now and grant.granted_at is not None:
            return self.job.run_once(now=grant.granted_at)
        return self.job.run_once()

    def close(self) -> None:
        self.keeper.release()
        close = getattr(self.job, "close", None)
        if close is not None:
            close()


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(connection: Connection, name: str) -> Iterator[None]:
    """Hold PostgreSQL session advisory lock ``name`` on ``connection`` for the block (waits for it).
    Released at the end, or by the server if the connection dies. A no-op on SQLite."""
    if connection.dialect.name != "postgresql":
        yield
        return
    key = _lock_key(name)
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
