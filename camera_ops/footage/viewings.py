"""One viewing, one event: a player that seeks sends many Range requests; the first is logged as
one ``viewed`` custody event (committed before its first byte, as every retrieval), and every later
request of the same viewing adds its byte range to the viewing's record — committed before its
bytes are served, so a viewing still fails closed.

A viewing is named by the player (a random id in the ``viewing`` query parameter) and belongs to
one user and one clip; idle for ``VIEWING_IDLE_S`` it is over, and the next request starts a new one
(a new event).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from camera_ops.errors import Conflict
from storage.models_evidence import ClipViewing
from storage.types import utcnow

VIEWING_IDLE_S = 30 * 60  # a paused film resumed within half an hour is the same viewing
MAX_RANGES = 500  # merged ranges kept per viewing (seeking back and forth rarely leaves more than a few dozen)


def merge_ranges(ranges: Iterable[Sequence[int]]) -> list[list[int]]:
    """Inclusive byte ranges, sorted, overlapping or touching ones joined."""
    merged: list[list[int]] = []
    for start, end in sorted((int(a), int(b)) for a, b in ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def continue_viewing(session: Session, viewing_id: str, *, clip_id: int, user_id: int, span: tuple[int, int]) -> bool:
    """Add ``span`` to a live viewing of this clip by this user (True), or say it must start (False).
    The caller commits before serving."""
    viewing = session.get(ClipViewing, viewing_id, with_for_update=True)
    if viewing is None:
        return False
    if (viewing.clip_id, viewing.user_id) != (clip_id, user_id):
        raise Conflict("this viewing id belongs to another viewing; start a new one", field="viewing")
    now = utcnow()
    if now - viewing.last_at > timedelta(seconds=VIEWING_IDLE_S):
        session.delete(viewing)  # over: the next start re-creates it with a new event
        session.flush()
        return False
    viewing.ranges = merge_ranges([*viewing.ranges, list(span)])[:MAX_RANGES]
    viewing.requests += 1
    viewing.last_at = now
    return True


def start_viewing(session: Session, viewing_id: str, *, clip_id: int, user_id: int, span: tuple[int, int],
                  event_seq: int) -> None:
    session.add(ClipViewing(id=viewing_id, clip_id=clip_id, user_id=user_id, event_seq=event_seq,
                            ranges=[list(span)], requests=1))
