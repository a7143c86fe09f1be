"""Several monitors sharing the fleet: membership rows in the database, rendezvous hashing, fencing.

Each ``camera-ops monitor`` is a row of ``monitor_member`` (node name, epoch, ``active_from``,
``expires_at``). Every ``ttl/3`` a member heartbeats: in one transaction it deletes the rows of
members whose ``expires_at`` passed (that deletion *is* the takeover of their cameras), extends
its own, and reads the others. Cameras are divided by rendezvous (highest-random-weight) hashing
over the members present: every member computes the same owner for every camera from the same
rows, a join moves only the cameras the newcomer wins, a death only the dead one's.

Rules that keep one probe per camera per cycle (all times are the database's clock):

- A member probes only while its own membership is fresh by its *local monotonic* clock: at most
  ``ttl`` after the start of its last successful heartbeat. A paused member (SIGSTOP) wakes to an
  expired membership and probes nothing until a heartbeat succeeds — or finds its row deleted
  and joins again under a new epoch.
- A joining member becomes active ``ttl + gap`` after it joined: by then every live member has
  either read the new row or lost its own membership. A camera moving to the newcomer is probed by
  nobody during the ``gap`` before the handover (the old owner's last result is written by then;
  the new owner reads the camera's state from the database at the handover).
- Every status write checks the writer's membership row and epoch in the same transaction
  (``FOR SHARE``: a deletion cannot commit in between): a fenced monitor's batch is refused.
- Joins take a transaction advisory lock (PostgreSQL), so two monitors starting at once cannot
  both find the group empty.

SQLite is embedded and single-node: the first monitor holds an exclusive lock on a file next to the
database and a second one is refused with a clear message.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from camera_ops.errors import ConfigurationError
from camera_ops.i18n import t
from camera_ops.leases import db_now, local_margin_s
from storage.models_cluster import MonitorMember

log = logging.getLogger(__name__)

HEARTBEATS_PER_TTL = 3  # two heartbeats may fail (a database hiccup) before a member is dead
MIN_TTL_S = 10.0  # a shorter membership would be lost to a routine database stall
JOIN_LOCK = "camera-ops:monitor-join"
_MASK64 = (1 << 64) - 1


class Fenced(Exception):
    """This monitor's membership is gone (it was presumed dead): its writes are refused."""


class SecondMonitorRefused(ConfigurationError):
    code = "second_monitor_refused"


def default_ttl_s(cycle_s: float) -> float:
    """Half a cycle (a dead member's cameras are probed again within two cycles), at least 10 s."""
    return max(MIN_TTL_S, cycle_s / 2)


# --- pure: who owns a camera ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Member:
    node: str
    epoch: int
    active_from: float  # database time, seconds since the epoch


def node_seed(node: str) -> int:
    return int.from_bytes(hashlib.blake2b(node.encode(), digest_size=8).digest(), "big")


def score(seed: int, camera_id: int) -> int:
    """A member's weight for a camera (splitmix64 of seed ^ id): uniform, stable, cheap."""
    z = (seed ^ (camera_id * 0x9E3779B97F4A7C15)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def ranked(camera_id: int, members: Sequence[tuple[int, Member]]) -> tuple[Member, ...]:
    """Members by descending weight for ``camera_id`` (``members``: (seed, member) pairs)."""
    return tuple(m for _, m in sorted(((score(s, camera_id), m) for s, m in members),
                                      key=lambda pair: pair[0], reverse=True))


def owner_at(order: Sequence[Member], at: float, gap_s: float) -> str | None:
    """The owner of a probe slot at ``at`` given the camera's ranked members: the best-ranked
    member already active; None while the camera is handed over to a better-ranked newcomer."""
    for member in order:
        if at >= member.active_from:
            return member.node
        if at >= member.active_from - gap_s:
            return None
    return None


def transitions(members: Iterable[Member], after: float) -> list[float]:
    """Future times at which ownership changes (a newcomer's gap start and activation)."""
    return sorted(x for m in members for x in (m.active_from,) if x > after)


# --- the database side -----------------------------------------------------------------------------


def _seconds(at: datetime) -> float:
    return at.timestamp()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


class Membership:
    """One monitor's row in ``monitor_member`` and its view of the others."""

    def __init__(self, engine: Engine, node: str, *, ttl_s: float, gap_s: float) -> None:
        self.engine = engine
        self.node = node
        self.ttl_s = ttl_s
        self.gap_s = gap_s
        self.maker: sessionmaker[Session] = sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"),
                                                         expire_on_commit=False)
        self.epoch: int | None = None
        self.members: tuple[Member, ...] = ()
        self.valid_until = 0.0  # time.monotonic(): probing allowed until then
        self.clock_offset_s = 0.0  # database time minus time.monotonic(), at the last heartbeat
        self._file_lock: IO[bytes] | None = None

    # joining and leaving

    def join(self) -> None:
        """Insert our row (new epoch). Active at once when no other member is alive, else after
        ``ttl + gap``. On SQLite, refuse a second monitor first."""
        if self.engine.dialect.name == "sqlite":
            self._lock_sqlite_file()
        started = time.monotonic()
        with self.maker() as session, session.begin():
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": JOIN_LOCK})
            now = db_now(session)
            self._evict_expired(session, now)
            if self.engine.dialect.name == "sqlite":  # the file lock proves every other row is dead
                session.execute(delete(MonitorMember).where(MonitorMember.node != self.node))
            others = session.scalar(select(MonitorMember.node).where(MonitorMember.node != self.node).limit(1))
            active_from = now if others is None else now + timedelta(seconds=self.ttl_s + self.gap_s)
            epoch = int(now.timestamp() * 1_000_000)
            session.execute(delete(MonitorMember).where(MonitorMember.node == self.node))
            session.execute(insert(MonitorMember).values(
                node=self.node, epoch=epoch, joined_at=now, active_from=active_from, heartbeat_at=now,
                expires_at=now + timedelta(seconds=self.ttl_s), cameras=0))
            self._read(session)
        self.epoch = epoch
        self._mark_fresh(started, now)
        log.info("monitor %s joined (epoch %d), active %s", self.node, epoch,
                 "now" if others is None else f"in {self.ttl_s + self.gap_s:.0f} s")

    def leave(self) -> None:
        """A clean stop: delete our row so the others take our cameras at their next heartbeat."""
        try:
            if self.epoch is not None:
                with self.maker() as session, session.begin():
                    session.execute(delete(MonitorMember).where(MonitorMember.node == self.node,
                                                                MonitorMember.epoch == self.epoch))
        finally:
            self.epoch = None
            self.valid_until = 0.0
            if self._file_lock is not None:
                self._file_lock.close()  # closing the descriptor releases the lock
                self._file_lock = None

    def _lock_sqlite_file(self) -> None:
        database = self.engine.url.database
        if not database or database == ":memory:" or self._file_lock is not None:
            return
        path = Path(database).with_name(Path(database).name + ".monitor.lock")
        handle = open(path, "ab")  # noqa: SIM115 — held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SecondMonitorRefused(
                t("monitor.sqlite_single", "vi", path=path) + "\n" + t("monitor.sqlite_single", "en", path=path),
                field="database_url") from None
        self._file_lock = handle

    # heartbeats

    def heartbeat(self, cameras_owned: int = 0) -> None:
        """Evict the dead, extend our row, read the group. Raises Fenced if our row is gone."""
        assert self.epoch is not None, "join first"
        started = time.monotonic()
        with self.maker() as session, session.begin():
            now = db_now(session)
            evicted = self._evict_expired(session, now)
            kept = session.execute(
                update(MonitorMember)
                .where(MonitorMember.node == self.node, MonitorMember.epoch == self.epoch)
                .values(heartbeat_at=now, expires_at=now + timedelta(seconds=self.ttl_s), cameras=cameras_owned)
            ).rowcount
            if not kept:
                self.valid_until = 0.0
                raise Fenced(f"monitor {self.node} (epoch {self.epoch}) was presumed dead by the others")
            self._read(session)
        if evicted:
            log.warning("monitor %s: took over from dead monitor(s) %s", self.node, ", ".join(evicted))
        self._mark_fresh(started, now)

    def _evict_expired(self, session: Session, now: datetime) -> list[str]:
        dead = list(session.scalars(
            delete(MonitorMember).where(MonitorMember.expires_at < now, MonitorMember.node != self.node)
            .returning(MonitorMember.node)))
        return dead

    def _read(self, session: Session) -> None:
        rows = session.execute(select(MonitorMember.node, MonitorMember.epoch, MonitorMember.active_from))
        self.members = tuple(sorted(Member(r.node, r.epoch, _seconds(r.active_from)) for r in rows))

    def _mark_fresh(self, started: float, now: datetime) -> None:
        ended = time.monotonic()
        self.clock_offset_s = _seconds(now) - (started + ended) / 2
        self.valid_until = started + self.ttl_s - local_margin_s(self.ttl_s)

    def fresh(self) -> bool:
        return self.epoch is not None and time.monotonic() < self.valid_until

    # fencing

    def fence(self, session: Session, epoch: int | None = None) -> None:
        """Inside a write transaction: raise Fenced unless our row is still there in ``epoch`` (by
        default the current one: pass the epoch the written results were gathered in).
        ``FOR SHARE`` holds off a concurrent eviction until this transaction ends."""
        epoch = self.epoch if epoch is None else epoch
        if epoch is None:
            raise Fenced(f"monitor {self.node} is not a member")
        found = session.scalar(
            select(MonitorMember.epoch).where(MonitorMember.node == self.node).with_for_update(read=True))
        if found != epoch:
            raise Fenced(f"monitor {self.node} (epoch {epoch}) was presumed dead by the others")
