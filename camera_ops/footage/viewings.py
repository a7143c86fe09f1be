"""One viewing, one chained record: a player that seeks sends many Range requests.

* The first request of a viewing appends one ``viewed`` custody event, committed before its first
  byte (as every retrieval: fail closed).
* Every later request of the same viewing adds its byte range to the viewing's row
  (``clip_viewing``), committed before its bytes are served.
* When the viewing ends its merged byte ranges go on the chain: one ``viewing_ended`` event
  (``details``: the viewing, its ``viewed`` event, the ranges, how many requests) and the row is
  closed with that event's seq. A viewing ends when it has been idle ``VIEWING_IDLE_S`` (closed by
  the next request of it, by any process's checkpoint writer before it anchors, or when its clip's
  trail is read), or when the same person starts another viewing of the same clip.

The row is then a copy of what the chain holds: :func:`viewing_problems` compares them (``custody
verify``), so editing a closed viewing's ranges, request count or times in the table is caught, and
moving any viewing to another person (its ``viewed`` event names who); the chain itself is anchored
by signed checkpoints. A viewing's ranges are unchained only while it is open — at most the idle
time plus one checkpoint interval after its last request.

A viewing is named by the player (a random id in the ``viewing`` query parameter) and belongs to
one user and one clip; the same id may name a new viewing once the old one is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from camera_ops.custody.chain import format_time
from camera_ops.custody.ledger import Actor, EventType, append
from camera_ops.errors import Conflict, LedgerWriteFailed
from storage.db import session_scope
from storage.models import User
from storage.models_evidence import ClipViewing, CustodyEvent
from storage.types import utcnow

log = logging.getLogger(__name__)

# A paused film resumed within this time is the same viewing. Kept short because a viewing's ranges
# are chained only when it ends: this bounds how long they sit outside the chain (with one checkpoint
# interval, about the ledger's unanchored window).
VIEWING_IDLE_S = 5 * 60
MAX_RANGES = 500  # merged ranges kept per viewing (seeking back and forth rarely leaves more than a few dozen)
CLAIMED = -1  # closed_seq while one transaction writes the closing event (its row lock keeps others out)


class Ended:
    """Why a viewing ended (``details.ended`` of its ``viewing_ended`` event)."""

    IDLE = "idle"
    NEXT_VIEWING = "next_viewing"


def merge_ranges(ranges: Iterable[Sequence[int]]) -> list[list[int]]:
    """Inclusive byte ranges, sorted, overlapping or touching ones joined."""
    merged: list[list[int]] = []
    for start, end in sorted((int(a), int(b)) for a, b in ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def is_idle(last_at: datetime, now: datetime) -> bool:
    return now - last_at > timedelta(seconds=VIEWING_IDLE_S)


# --- the request path ----------------------------------------------------------------------------


def open_viewing(session: Session, viewing_id: str) -> ClipViewing | None:
    return session.scalars(select(ClipViewing).where(ClipViewing.id == viewing_id, ClipViewing.closed_seq.is_(None))
                           .with_for_update()).first()


def continue_viewing(session: Session, viewing_id: str, *, clip_id: int, user_id: int,
                     span: tuple[int, int]) -> bool | ClipViewing:
    """Add ``span`` to the live viewing ``viewing_id`` of this clip by this user (True); False when
    there is none; the viewing itself when it is over (idle): close it (:func:`close_viewing`) and
    start a new one. The caller commits before serving."""
    viewing = open_viewing(session, viewing_id)
    if viewing is None:
        return False
    if (viewing.clip_id, viewing.user_id) != (clip_id, user_id):
        raise Conflict("this viewing id belongs to another viewing; start a new one", field="viewing")
    now = utcnow()
    if is_idle(viewing.last_at, now):
        return viewing
    viewing.ranges = merge_ranges([*viewing.ranges, list(span)])[:MAX_RANGES]
    viewing.requests += 1
    viewing.last_at = now
    return True


def start_viewing(session: Session, viewing_id: str, *, clip_id: int, user_id: int, span: tuple[int, int],
                  event_seq: int) -> None:
    session.add(ClipViewing(id=viewing_id, clip_id=clip_id, user_id=user_id, event_seq=event_seq,
                            ranges=[list(span)], requests=1))


def others_of(session: Session, *, clip_id: int, user_id: int, but: str) -> list[int]:
    """The ``viewed`` seqs of this person's other open viewings of this clip (ended by a new one)."""
    return list(session.scalars(select(ClipViewing.event_seq).where(
        ClipViewing.clip_id == clip_id, ClipViewing.user_id == user_id, ClipViewing.closed_seq.is_(None),
        ClipViewing.id != but)))


# --- closing: the ranges go on the chain ----------------------------------------------------------


def close_viewing(engine: Engine, viewed_seq: int, ended: str) -> int | None:
    """Chain the viewing's ranges (one ``viewing_ended`` event) and close its row, in one
    transaction; the closing event's seq, or None when another process closed it first.
    ``LedgerWriteFailed`` when the ledger cannot be written (the viewing stays open)."""
    try:
        with session_scope(engine) as session:
            claimed = session.execute(update(ClipViewing).where(
                ClipViewing.event_seq == viewed_seq, ClipViewing.closed_seq.is_(None)).values(closed_seq=CLAIMED))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            viewing = session.get(ClipViewing, viewed_seq, populate_existing=True)
            assert viewing is not None
            user = session.get(User, viewing.user_id)
            actor = Actor(user.username, user.role.value) if user is not None else Actor(f"user #{viewing.user_id}", "-")
            record = append(session, EventType.viewing_ended, actor, case_id=_case_of(session, viewed_seq),
                            clip_id=viewing.clip_id, details=ended_details(viewing, ended))
            viewing.closed_seq = record.seq
            return record.seq
    except SQLAlchemyError as exc:
        raise LedgerWriteFailed("the custody ledger could not be written; nothing was released") from exc


def ended_details(viewing: ClipViewing, ended: str) -> dict[str, Any]:
    return {"viewing": viewing.id, "viewed_seq": viewing.event_seq, "ranges": [list(r) for r in viewing.ranges],
            "requests": viewing.requests, "started_at": format_time(viewing.started_at),
            "last_at": format_time(viewing.last_at), "ended": ended}


def _case_of(session: Session, viewed_seq: int) -> int | None:
    return session.execute(select(CustodyEvent.case).where(CustodyEvent.seq == viewed_seq)).scalar()


def close_idle_viewings(engine: Engine, *, clip_id: int | None = None, now: datetime | None = None) -> int:
    """Close every viewing idle for ``VIEWING_IDLE_S`` (of one clip, or all): its ranges chained.
    Returns how many this call closed. ``LedgerWriteFailed`` propagates."""
    now = now or utcnow()
    query = select(ClipViewing.event_seq).where(ClipViewing.closed_seq.is_(None),
                                                ClipViewing.last_at < now - timedelta(seconds=VIEWING_IDLE_S))
    if clip_id is not None:
        query = query.where(ClipViewing.clip_id == clip_id)
    with session_scope(engine, write=False) as session:
        due = list(session.scalars(query.order_by(ClipViewing.event_seq)))
    return sum(1 for seq in due if close_viewing(engine, seq, Ended.IDLE) is not None)


# --- the table against the chain (custody verify) ----------------------------------------------------


@dataclass(frozen=True)
class ViewingProblem:
    seq: int  # the event the row disagrees with
    message: str


def viewing_problems(session: Session) -> list[ViewingProblem]:
    """Every viewing row compared with the chained events it names: its ``viewed`` event, and — once
    closed — the ``viewing_ended`` event holding its ranges; and every ``viewing_ended`` event with
    the row it closed. An edited, forged or deleted viewing record is named here."""
    named = select(ClipViewing.event_seq).union(
        select(ClipViewing.closed_seq).where(ClipViewing.closed_seq.is_not(None)))
    events = {e.seq: e for e in session.execute(  # what the rows name, and every viewing_ended event: a
        # 'viewed' event no row names (before revision 0016, or a crash before its row) has nothing to compare
        select(CustodyEvent.seq, CustodyEvent.event_type, CustodyEvent.clip, CustodyEvent.details, CustodyEvent.actor)
        .where(or_(CustodyEvent.event_type == EventType.viewing_ended.value, CustodyEvent.seq.in_(named))))}
    usernames = dict(session.execute(select(User.id, User.username)).tuples().all())
    problems: list[ViewingProblem] = []
    closed_by: dict[int, int] = {}
    for row in session.scalars(select(ClipViewing).order_by(ClipViewing.event_seq)):
        problems += _row_problems(row, events, usernames)
        if row.closed_seq is not None:
            closed_by[row.closed_seq] = row.event_seq
    for seq, event in sorted(events.items()):
        if event.event_type == EventType.viewing_ended.value and seq not in closed_by:
            details = event.details or {}
            problems.append(ViewingProblem(seq, (
                f"viewing {details.get('viewing')} (viewed at event {details.get('viewed_seq')}) ended at event {seq}, "
                "but its record is missing from clip_viewing or no longer names that event: the record was deleted "
                "or edited")))
    return sorted(problems, key=lambda p: p.seq)


def _row_problems(row: ClipViewing, events: dict[int, Any], usernames: dict[int, str]) -> list[ViewingProblem]:
    name = f"viewing {row.id} of clip {row.clip_id}"
    viewed = events.get(row.event_seq)
    if viewed is None or viewed.event_type != EventType.viewed.value or viewed.clip != row.clip_id \
            or (viewed.details or {}).get("viewing") != row.id:
        return [ViewingProblem(row.event_seq, f"{name}: event {row.event_seq} is not its 'viewed' event on the chain "
                                              "(the viewing record was forged or edited)")]
    viewer = usernames.get(row.user_id, f"user #{row.user_id}")
    if viewer != viewed.actor:  # the person is on the chain from the first byte: open or closed
        return [ViewingProblem(row.event_seq, f"{name}: user {viewer!r} in clip_viewing, {viewed.actor!r} viewed at "
                                              f"event {row.event_seq} on the chain — the viewing record was edited")]
    if row.closed_seq is None:
        return []
    ended = events.get(row.closed_seq)
    if ended is None or ended.event_type != EventType.viewing_ended.value:
        return [ViewingProblem(row.closed_seq, f"{name} (viewed at event {row.event_seq}): event {row.closed_seq} is "
                                               "not the 'viewing_ended' event that closed it")]
    chained = ended.details or {}
    wrong = [f"{field} {getattr(row, field)!r} in clip_viewing, {chained.get(key)!r} on the chain"
             for field, key in (("ranges", "ranges"), ("requests", "requests"), ("id", "viewing"),
                                ("event_seq", "viewed_seq"))
             if _plain(getattr(row, field)) != _plain(chained.get(key))]
    wrong += [f"{field} {format_time(getattr(row, field))} in clip_viewing, {chained.get(field)} on the chain"
              for field in ("started_at", "last_at") if format_time(getattr(row, field)) != chained.get(field)]
    if wrong:
        return [ViewingProblem(row.closed_seq, f"{name} (viewed at event {row.event_seq}) differs from what event "
                                               f"{row.closed_seq} chained: " + "; ".join(wrong)
                               + " — the viewing record was edited")]
    return []


def _plain(value: Any) -> Any:
    return [list(map(int, r)) for r in value] if isinstance(value, list) else value
