"""The ledger's own connection: ``append_now`` in as few round trips as the database allows.

An append that must commit before a retrieval goes ahead has a budget (issue 5: p99 <= 2 ms).
Through a pooled SQLAlchemy connection it cost six round trips on PostgreSQL (pre-ping, BEGIN,
lock the head, insert, update the head, COMMIT) and more client CPU building and compiling
statements than the database spent running them (bench_ledger). Here each engine gets, per
process, one DBAPI connection of its own, detached from the pool (the engine's connect arguments
and connect-time settings still apply; no pre-ping, no reset on return), used under a lock:
appends are serialised on the chain head anyway, a second connection would only wait.

PostgreSQL, in autocommit: ONE statement per append, one round trip, one transaction, whoever
else appends. It locks the head row (``SELECT ... FOR UPDATE``: behind a concurrent append it waits
and then reads the head that append left), links the event to it and hashes it *in the database*
(``sha256(prev digest || the canonical text)``: the client sends the canonical text around the two
slots only the database knows, prev_hash and seq — :func:`chain.canonical_parts`), moves the head
and inserts the event; it returns (seq, prev_hash, hash) and the client re-computes the hash before
it reports the append (a mismatch fails closed). The head's lock is held only while the server
runs that statement and commits it — no client round trip, no client CPU and no client scheduling
delay inside the critical section. (It was a compare-and-swap from the head the writer last wrote,
redone as BEGIN / SELECT ... FOR UPDATE / write / COMMIT whenever another process had moved it:
with 3 writer processes every append took that path, holding the lock across three round trips
— bench_ledger --writers 3: p99 3.99 ms.)

SQLite: BEGIN IMMEDIATE (the database write lock), read the head, the same compare-and-swap as
two statements, COMMIT. In-process, so a statement is a function call, not a round trip. The
connection runs ``synchronous=FULL`` (SQLITE_LEDGER_SYNCHRONOUS): with the engine's WAL + NORMAL a committed transaction can
be lost on power failure, and the event of a retrieval that was served must not be.

Either way ``seq`` stays UNIQUE in the table: a second guard that the chain is one line.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

from camera_ops.custody.chain import GENESIS_HASH, EventRecord, canonical_parts, details_text, link
from camera_ops.errors import LedgerWriteFailed

HEAD_ID = 1
# A connection idle this long may have been cut meanwhile (server restart, firewall idle timeout):
# it is pinged before use. A busy ledger (appends closer together than this) never pays the ping.
PING_AFTER_IDLE_S = 30.0
# SQLite: each ledger commit is fsynced before the retrieval it records goes ahead, as PostgreSQL's
# commit is. (The engine's WAL + NORMAL may lose the last commits on power failure; measured cost
# of FULL on this VM: p50 +0.2 ms; its p99 is the disk's fsync tail.)
SQLITE_LEDGER_SYNCHRONOUS = "FULL"
_FAILED = "the custody ledger could not be written; nothing was released"

_COLUMNS = ("seq, event_type, actor, role, case_id, clip_id, purpose, client_address, at, details, prev_hash, hash")
# The head at seq 0 holds GENESIS_HASH, so the first event's prev_hash is genesis, as chain.next_record says.
_PG_APPEND = f"""
WITH prev AS (
    SELECT seq, hash FROM custody_head WHERE id = {HEAD_ID} FOR UPDATE
), next AS (
    SELECT prev.seq + 1 AS seq, prev.hash AS prev_hash,
           encode(sha256(decode(prev.hash, 'hex') || convert_to(
               %(before)s::text || prev.hash || %(between)s::text || (prev.seq + 1)::text || '}}', 'UTF8')),
                  'hex') AS hash
    FROM prev
), moved AS (
    UPDATE custody_head SET seq = next.seq, hash = next.hash FROM next WHERE custody_head.id = {HEAD_ID}
)
INSERT INTO custody_event ({_COLUMNS})
SELECT next.seq, %(event_type)s::text, %(actor)s::text, %(role)s::text, %(case_id)s::integer,
       %(clip_id)s::integer, %(purpose)s::text, %(client_address)s::text, %(at)s::timestamptz,
       %(details)s::text, next.prev_hash, next.hash
FROM next
RETURNING seq, prev_hash, hash
"""
_PG_CREATE_HEAD = f"INSERT INTO custody_head (id, seq, hash) VALUES ({HEAD_ID}, 0, %s) ON CONFLICT (id) DO NOTHING"
_SQLITE_MOVE_HEAD = (f"UPDATE custody_head SET seq = :seq, hash = :hash "
                     f"WHERE id = {HEAD_ID} AND seq = :seq - 1 AND hash = :prev_hash")
_SQLITE_INSERT = (f"INSERT INTO custody_event ({_COLUMNS}) VALUES (:seq, :event_type, :actor, :role, :case_id, "
                  ":clip_id, :purpose, :client_address, :at, :details, :prev_hash, :hash)")
_SQLITE_READ_HEAD = f"SELECT seq, hash FROM custody_head WHERE id = {HEAD_ID}"
_SQLITE_CREATE_HEAD = f"INSERT INTO custody_head (id, seq, hash) VALUES ({HEAD_ID}, 0, ?) ON CONFLICT (id) DO NOTHING"


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


Build = Callable[[Head], EventRecord]  # the event that follows a head (seq 0: the first event)


class LedgerWriter(ABC):
    """Appends through one dedicated connection; any database failure is ``LedgerWriteFailed``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)  # the registry is keyed weakly on the engine
        self._dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = 0
        self._used_at = 0.0

    def append(self, build: Build) -> EventRecord:
        with self._lock:
            try:
                record = self._append(self._connection(), build)
            except (self._dbapi_error, SQLAlchemyError) as exc:
                self._drop()
                raise LedgerWriteFailed(_FAILED) from exc
            except BaseException:
                self._drop()  # closing rolls back whatever was half done
                raise
            self._used_at = time.monotonic()
            return record

    def close(self, *_: Any) -> None:
        with self._lock:
            self._drop()

    @abstractmethod
    def _append(self, conn: Any, build: Build) -> EventRecord: ...

    @abstractmethod
    def _configure(self, conn: Any) -> None: ...

    def _alive(self, conn: Any) -> bool:
        return True

    def _connection(self) -> Any:
        if self._conn is not None and self._pid != os.getpid():
            _INHERITED.append(self._conn)  # the parent's socket: never close (or finalise) it here
            self._conn = None
        if self._conn is not None and time.monotonic() - self._used_at > PING_AFTER_IDLE_S and not self._alive(self._conn):
            self._drop()
        if self._conn is None:
            self._conn, self._pid = self._open(), os.getpid()
        return self._conn

    def _open(self) -> Any:
        engine = self._engine()
        if engine is None:
            raise LedgerWriteFailed(_FAILED + " (its database engine is gone)")
        pooled = engine.raw_connection()  # the engine's connect arguments and connect events apply
        conn = pooled.driver_connection
        pooled.detach()  # ours from now on: no pre-ping, no reset-on-return, closed only by us
        self._configure(conn)
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            try:
                conn.close()
            except self._dbapi_error:
                pass  # already broken: that is why it is being dropped


class PostgresWriter(LedgerWriter):
    def _configure(self, conn: Any) -> None:
        conn.rollback()  # no-op when idle; autocommit can only be switched outside a transaction
        conn.autocommit = True

    def _alive(self, conn: Any) -> bool:
        try:
            conn.execute("SELECT 1")
        except self._dbapi_error:
            return False
        return True

    def _append(self, conn: Any, build: Build) -> EventRecord:
        draft = build(Head(0, GENESIS_HASH))  # the event's own fields; the database links it
        before, between = canonical_parts(draft)
        params = {**_params(draft, at=draft.at), "before": before, "between": between}
        row = conn.execute(_PG_APPEND, params).fetchone()
        if row is None:  # a fresh ledger: create the head once, whoever comes first
            conn.execute(_PG_CREATE_HEAD, (GENESIS_HASH,))
            row = conn.execute(_PG_APPEND, params).fetchone()
            if row is None:
                raise LedgerWriteFailed(_FAILED + " (the chain head is missing)")
        seq, prev_hash, hash_ = row
        record = replace(draft, seq=seq, prev_hash=prev_hash, hash=hash_)
        if link(prev_hash, record) != hash_:  # committed, but not what an auditor would compute: refuse
            raise LedgerWriteFailed(_FAILED + f" (the database hashed event {seq} differently)")
        return record


class SqliteWriter(LedgerWriter):
    def _configure(self, conn: Any) -> None:
        conn.execute(f"PRAGMA synchronous={SQLITE_LEDGER_SYNCHRONOUS}")  # this connection's commits only

    def _append(self, conn: Any, build: Build) -> EventRecord:
        # On any failure the connection is dropped, and closing it rolls the transaction back.
        conn.execute("BEGIN IMMEDIATE")  # the write lock, so the head read below stays the head
        record = build(_sqlite_head(conn))
        params = _params(record, at=_sqlite_time(record))
        if conn.execute(_SQLITE_MOVE_HEAD, params).rowcount != 1:
            raise LedgerWriteFailed(_FAILED + " (the locked chain head changed)")
        conn.execute(_SQLITE_INSERT, params)
        conn.execute("COMMIT")
        return record


def _sqlite_head(conn: Any) -> Head:
    row = conn.execute(_SQLITE_READ_HEAD).fetchone()
    if row is None:
        conn.execute(_SQLITE_CREATE_HEAD, (GENESIS_HASH,))
        row = conn.execute(_SQLITE_READ_HEAD).fetchone()
    return Head(*row)


def _params(record: EventRecord, *, at: Any) -> dict[str, Any]:
    return {
        "seq": record.seq, "event_type": record.event_type, "actor": record.actor, "role": record.role,
        "case_id": record.case, "clip_id": record.clip, "purpose": record.purpose,
        "client_address": record.client_address, "at": at, "details": details_text(record.details),
        "prev_hash": record.prev_hash, "hash": record.hash,
    }


def _sqlite_time(record: EventRecord) -> str:
    """UTC as SQLAlchemy stores a DateTime in SQLite (storage.types.UTCDateTime): naive, 6 fraction
    digits. (The time is aware: hashing the record refused a naive one.)"""
    at = record.at.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (
        at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond)


# --- one writer per engine per process --------------------------------------------------------------

_WRITERS: weakref.WeakKeyDictionary[Engine, LedgerWriter] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()
_INHERITED: list[Any] = []  # connections a forked child got from its parent: kept, never used or closed
_KINDS: dict[str, type[LedgerWriter]] = {"postgresql": PostgresWriter, "sqlite": SqliteWriter}


def writer_for(engine: Engine) -> LedgerWriter | None:
    """The engine's ledger writer in this process; None when a connection of its own would not
    see the engine's database (in-memory SQLite) or the dialect has no writer."""
    writer = _WRITERS.get(engine)
    if writer is not None:
        return writer
    kind = _KINDS.get(engine.dialect.name)
    if kind is None or (engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")):
        return None
    with _REGISTRY_LOCK:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = kind(engine)
            event.listen(engine, "engine_disposed", writer.close)
    return writer
