"""Status counts per area (hamlet, commune, province) without grouping every camera per request.

The database keeps them (revision 0009): triggers on ``camera`` append +1/-1 rows to
``area_status_delta`` in the same transaction as every status, lifecycle or hamlet change, so the
monitors' writes keep the counts current and exact. This module reads them (stored count plus
pending deltas), folds the deltas into ``area_status_count`` (:func:`compact`, run by the API every
few seconds so a read adds a handful of rows), and recounts from the cameras when the area tree
itself changes (:func:`rebuild`, after a merge of communes).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from storage.models_counts import FILL_COUNTS, RETIRED_KEY, AreaStatusCount, AreaStatusDelta

log = logging.getLogger(__name__)
COMPACT_EVERY_S = 2.0  # pending deltas a reader adds stay at a few seconds' worth of status changes
COMPACT_CHUNK_ROWS = 5_000  # one compaction transaction stays short (an import of 100k cameras: 300k rows)
COMPACT_LOCK_KEY = 0x636F756E74  # "count": one compactor at a time on PostgreSQL (others skip)


# Plain SQL, made once: building and hashing the equivalent select (a union in a subquery) cost more
# than running it (the camera list asks on every page).
_AREA_COUNTS = text(
    "SELECT parts.area_id, parts.status, SUM(parts.n) FROM ("
    " SELECT area_id, status, n FROM area_status_count WHERE area_id IN :ids"
    " UNION ALL SELECT area_id, status, n FROM area_status_delta WHERE area_id IN :ids"
    ") AS parts GROUP BY parts.area_id, parts.status"
).bindparams(bindparam("ids", expanding=True))
_TOP_AREAS = text("SELECT id FROM area WHERE parent_id IS NULL")


def area_counts(session: Session, area_ids: Iterable[int]) -> dict[int, Counter[str]]:
    """Cameras per effective status for each area (its whole subtree), retired cameras included
    under ``retired``. Exact: stored counts plus the deltas not folded yet."""
    ids = sorted(set(area_ids))
    out: dict[int, Counter[str]] = defaultdict(Counter)
    if not ids:
        return out
    for area_id, status, n in session.execute(_AREA_COUNTS, {"ids": ids}):
        if n:
            out[area_id][status] += int(n)
    return out


def covering_areas(session: Session, scope: Sequence[str] | None) -> list[int]:
    """The areas whose subtrees make up ``scope`` exactly once: every top-level area for everyone,
    else the scope's own areas with those nested inside another left out."""
    if scope is None:
        return list(session.scalars(_TOP_AREAS))
    return sorted({int(p.strip("/").split("/")[-1]) for p in scope
                   if not any(p != q and p.startswith(q) for q in scope)})


def without_retired(counts: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if k != RETIRED_KEY and v})


def compact(session: Session, *, chunk_rows: int = COMPACT_CHUNK_ROWS) -> int:
    """Fold up to ``chunk_rows`` pending deltas into the stored counts; returns how many were folded.

    Each delta row is deleted exactly once (DELETE ... RETURNING), so two compactors never fold a
    row twice; on PostgreSQL a transaction-level advisory lock lets only one of them work at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        if not session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": COMPACT_LOCK_KEY}):
            return 0
    oldest = select(AreaStatusDelta.id).order_by(AreaStatusDelta.id).limit(chunk_rows).scalar_subquery()
    rows = session.execute(delete(AreaStatusDelta).where(AreaStatusDelta.id.in_(oldest))
                           .returning(AreaStatusDelta.area_id, AreaStatusDelta.status, AreaStatusDelta.n)).all()
    folded: Counter[tuple[int, str]] = Counter()
    for area_id, status, n in rows:
        folded[(area_id, status)] += n
    _add(session, sorted((k, n) for k, n in folded.items() if n))  # one order: no deadlock between compactors
    return len(rows)


def _add(session: Session, changes: list[tuple[tuple[int, str], int]]) -> None:
    if not changes:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(AreaStatusCount).values([{"area_id": a, "status": s, "n": n} for (a, s), n in changes])
    session.execute(stmt.on_conflict_do_update(index_elements=["area_id", "status"],
                                               set_={"n": AreaStatusCount.n + stmt.excluded.n}))


def rebuild(session: Session) -> None:
    """Recount every area from the cameras (after the area tree changed: a merge moves hamlets to
    another commune, which no camera row's trigger sees). On PostgreSQL camera writes wait for the
    end of this transaction, so no delta is both recounted and kept (merges are rare, and quick)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE camera IN SHARE MODE"))
    session.execute(delete(AreaStatusDelta))
    session.execute(delete(AreaStatusCount))
    session.execute(text(FILL_COUNTS))


def compact_all(engine: Engine) -> int:
    from storage.db import session_scope

    total = 0
    while True:
        with session_scope(engine, write=False) as session:  # nothing pending: no write lock taken (SQLite)
            if session.scalar(select(AreaStatusDelta.id).limit(1)) is None:
                return total
        with session_scope(engine) as session:
            n = compact(session)
        total += n
        if n < COMPACT_CHUNK_ROWS:
            return total


class Compactor:
    """A daemon thread folding deltas every :data:`COMPACT_EVERY_S` (the API starts one)."""

    def __init__(self, engine: Engine, every_s: float = COMPACT_EVERY_S) -> None:
        self._engine, self._every_s = engine, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status-counts-compactor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                compact_all(self._engine)
            except OperationalError as exc:  # database restarting or locked: the next round folds them
                log.warning("status counts not compacted this round: %s", exc.__class__.__name__)
