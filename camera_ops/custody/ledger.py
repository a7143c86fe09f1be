"""The custody ledger in the database: append events, read trails, verify the chain.

Appends are serialised on the ``custody_head`` row: an event is written only together with
moving the head from the event's predecessor to the event, under the head's row lock (PostgreSQL:
``SELECT ... FOR UPDATE`` or the UPDATE itself; SQLite: the database write lock from ``BEGIN
IMMEDIATE``), so the chain stays one line however many processes append. ``seq`` is also UNIQUE, a
second guard.

Two ways to append:

* :func:`append` inside the caller's write transaction — the event commits with the change it
  records (a clip request and its "requested" event), or not at all.
* :func:`append_now` in its own transaction, committed before it returns — for retrievals and
  denials, which must be on record before a byte is served (or the 403 is sent). Any failure is
  ``LedgerWriteFailed``, and the retrieval does not happen. It goes through the ledger's own
  connection (:mod:`camera_ops.custody.writer`): one statement per append on PostgreSQL.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from camera_ops.custody.chain import GENESIS_HASH, ChainVerification, EventRecord, next_record
from camera_ops.custody.writer import HEAD_ID, writer_for
from camera_ops.errors import LedgerWriteFailed, ValidationFailed
from storage.models_evidence import CustodyEvent, CustodyHead
from storage.types import utcnow

_EVENTS, _HEAD = CustodyEvent.__table__, CustodyHead.__table__
VERIFY_BATCH_ROWS = 5_000  # rows fetched per round trip by iter_events (verification reads in fastverify)


class EventType(str, enum.Enum):
    case_opened = "case_opened"
    case_closed = "case_closed"
    member_added = "member_added"
    requested = "requested"
    acquired = "acquired"
    verified = "verified"
    archived = "archived"
    acquisition_failed = "acquisition_failed"
    attempt_aborted = "attempt_aborted"  # an archive attempt cut short (its worker died); the next one resumes
    viewed = "viewed"
    viewing_ended = "viewing_ended"  # a viewing's merged byte ranges, chained when it ends (footage.viewings)
    streamed = "streamed"
    downloaded = "downloaded"
    link_issued = "link_issued"
    package_exported = "package_exported"
    hold_placed = "hold_placed"
    hold_released = "hold_released"
    retention_changed = "retention_changed"
    metadata_edited = "metadata_edited"
    integrity_checked = "integrity_checked"
    trail_read = "trail_read"
    access_denied = "access_denied"


# Access to footage or the trail: a purpose is mandatory for these.
ACCESS_EVENTS = frozenset({
    EventType.viewed, EventType.streamed, EventType.downloaded, EventType.link_issued,
    EventType.package_exported, EventType.trail_read,
})
MIN_PURPOSE_CHARS = 3


@dataclass(frozen=True)
class Actor:
    """Who did it, in which role, from where. ``name`` is the username (or the worker's name)."""

    name: str
    role: str
    client_address: str | None = None


SYSTEM = Actor("camera-ops", "system")


def append(
    session: Session | Connection, event_type: EventType, actor: Actor, *, case_id: int | None = None,
    clip_id: int | None = None, purpose: str | None = None, details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> EventRecord:
    """Append one event in the session's transaction (the caller commits).

    Plain SQL statements, not ORM objects: an append sits on the path of every retrieval, and
    the ORM's unit of work cost more than the database round trips themselves (bench_ledger).
    """
    _require_purpose(event_type, purpose)
    head = _lock_head(session)
    record = next_record(
        head, event_type=event_type.value, actor=actor.name, role=actor.role,
        at=at or utcnow(), case=case_id, clip=clip_id, purpose=purpose,
        client_address=actor.client_address, details=dict(details or {}),
    )
    session.execute(insert(_EVENTS).values(
        seq=record.seq, event_type=record.event_type, actor=record.actor, role=record.role, case_id=case_id,
        clip_id=clip_id, purpose=purpose, client_address=record.client_address, at=record.at,
        details=dict(record.details), prev_hash=record.prev_hash, hash=record.hash,
    ))
    session.execute(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=record.seq, hash=record.hash))
    return record


def append_now(
    engine: Engine, event_type: EventType, actor: Actor, *, case_id: int | None = None,
    clip_id: int | None = None, purpose: str | None = None, details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> EventRecord:
    """Append and commit in a transaction of its own; ``LedgerWriteFailed`` if it cannot.

    This is on every retrieval's path (bench_ledger): the ledger's own connection, not a session."""
    _require_purpose(event_type, purpose)
    fields = dict(event_type=event_type.value, actor=actor.name, role=actor.role, at=at or utcnow(), case=case_id,
                  clip=clip_id, purpose=purpose, client_address=actor.client_address, details=dict(details or {}))
    writer = writer_for(engine)
    if writer is not None:
        return writer.append(lambda head: next_record(head, **fields))
    try:  # in-memory SQLite: only the engine's own connection sees the database
        with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
            return append(conn, event_type, actor, case_id=case_id, clip_id=clip_id, purpose=purpose,
                          details=details, at=fields["at"])
    except SQLAlchemyError as exc:
        raise LedgerWriteFailed("the custody ledger could not be written; nothing was released") from exc


def _require_purpose(event_type: EventType, purpose: str | None) -> None:
    if event_type in ACCESS_EVENTS and len((purpose or "").strip()) < MIN_PURPOSE_CHARS:
        raise ValidationFailed("say why you need this (purpose is mandatory for every access)", field="purpose",
                               key="err.access.purpose")


def _lock_head(session: Session | Connection) -> Row[Any]:
    """The chain head (seq, hash), locked until the transaction ends."""
    query = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
    head = session.execute(query).first()
    if head is None:  # a fresh database: create the head once, whoever comes first
        dialect = postgresql if _dialect_name(session) == "postgresql" else sqlite
        session.execute(
            dialect.insert(_HEAD).values(id=HEAD_ID, seq=0, hash=GENESIS_HASH).on_conflict_do_nothing()
        )
        head = session.execute(query).one()
    return head


def _dialect_name(session: Session | Connection) -> str:
    return session.dialect.name if isinstance(session, Connection) else session.get_bind().dialect.name


# --- reading and verifying ------------------------------------------------------------------------


def _columns() -> tuple[Any, ...]:
    e = CustodyEvent
    return (e.seq, e.event_type, e.actor, e.role, e.case.label("case"), e.clip.label("clip"), e.purpose,
            e.client_address, e.at, e.details, e.prev_hash, e.hash)


def iter_events(session: Session, *, after_seq: int = 0) -> Iterator[Any]:
    """Every event in ``seq`` order as light rows (attribute access like the ORM object)."""
    query = select(*_columns()).where(CustodyEvent.seq > after_seq).order_by(CustodyEvent.seq)
    result = session.execute(query.execution_options(yield_per=VERIFY_BATCH_ROWS))
    for partition in result.partitions():
        yield from partition


def events_for(session: Session, *, case_id: int | None = None, clip_id: int | None = None) -> list[CustodyEvent]:
    query = select(CustodyEvent).order_by(CustodyEvent.seq)
    if case_id is not None:
        query = query.where(CustodyEvent.case == case_id)
    if clip_id is not None:
        query = query.where(CustodyEvent.clip == clip_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None
    head_seq: int | None
    checkpoint_seq: int | None
    checkpoints: int = 0  # checkpoints in the store that the chain was checked against
    unanchored: int = 0  # events after the newest checkpoint (removable without trace until anchored)
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify_ledger(session: Session, checkpoint: tuple[int, str] | None = None) -> LedgerReport:
    """Verify the whole chain, against a trusted checkpoint (seq, hash) when one is given, and
    against the head row (a deleted tail leaves the head ahead of the last row).

    The head is read first: every event up to it was committed with it, so the rows read next
    include them, and events appended meanwhile (after the head) are not mistaken for a break."""
    from camera_ops.custody.fastverify import rows, verify_rows

    head = session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID)).first()
    with closing(rows(session.connection())) as source:
        result: ChainVerification = verify_rows(source, checkpoint)
    cp_seq = checkpoint[0] if checkpoint else None
    if not result.ok:
        return LedgerReport(False, result.checked, result.first_broken_seq, result.reason, result.head_seq, cp_seq)
    broken = head_problem(session, head, result) if head is not None else None
    if broken is not None:
        return LedgerReport(False, result.checked, broken[0], broken[1], result.head_seq, cp_seq)
    return LedgerReport(True, result.checked, None, None, result.head_seq, cp_seq)


def read_head(session: Session) -> Row[Any] | None:
    return session.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID)).first()


def head_problem(session: Session, head: Row[Any], result: ChainVerification) -> tuple[int, str] | None:
    """(first broken seq, reason) when the verified rows disagree with the head read before them."""
    last_seq = result.head_seq or 0
    if head.seq > last_seq:
        return last_seq + 1, f"the chain head says event {head.seq} but the last row is {last_seq}: rows were removed"
    if head.seq == 0:
        at_head = GENESIS_HASH
    elif head.seq == last_seq:
        at_head = result.head_hash
    else:  # appended to since the head was read: the head's event is inside the verified chain
        at_head = session.execute(select(CustodyEvent.hash).where(CustodyEvent.seq == head.seq)).scalar()
    if at_head != head.hash:
        return head.seq, f"event {head.seq} does not have the chain head's hash: rows were removed or rewritten"
    return None
