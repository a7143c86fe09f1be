"""Chain verification straight from the driver's rows: the database path at >100,000 events/s.

The ORM path decodes every ``details`` JSON and the chain re-encodes it; here the stored text is
hashed as it is — :class:`storage.models_evidence.CanonicalJSON` stores exactly the canonical form
:func:`camera_ops.custody.chain.canonical_bytes` produces (tests/unit/test_footage_fastverify.py
proves the two agree). A row whose stored text is not canonical fails, as an edited row should.

Where the time goes (bench_ledger, 200,000 events): SQLAlchemy ``Row`` objects cost a third more
than the driver's own tuples, and parsing SQLite's time text into a datetime to re-format it cost
as much as the hash. So rows come from the DBAPI cursor (on PostgreSQL a stream read in chunks
while the server keeps sending), both databases hand back ``at`` already in the chain's canonical text, and the loop
does per row only the canonical text, one SHA-256 and the comparisons.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection

from camera_ops.custody import chain
from camera_ops.custody.chain import GENESIS_HASH, ChainVerification

# Rows per fetch (SQLite; PostgreSQL's FETCH without chunked streams) and per chunk while PostgreSQL
# streams: ~1 MB of rows. Bigger batches were slower (20,000: -10%, the tuples fall out of CPU cache).
FETCH_ROWS = 2_000
STREAM_CHUNK_ROWS = 2_000
_QUERY = ("SELECT seq, event_type, actor, role, case_id, clip_id, purpose, client_address, {at}, details, "
          "prev_hash, hash FROM custody_event ORDER BY seq")
# ``at`` in the chain's canonical text (chain.format_time), made by the database. PostgreSQL formats
# the timestamptz; SQLite stores SQLAlchemy's "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, zone stripped),
# 26 characters, so only the separator and the Z change. Any other text is left for _canonical_time.
_AT_COLUMN = {
    "postgresql": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    "sqlite": "CASE WHEN length(at) = 26 THEN substr(at, 1, 10) || 'T' || substr(at, 12) || 'Z' ELSE at END",
}
_CURSOR_NAME = "custody_verify"
ANCHOR_MISMATCH = "hash differs from its signed checkpoint at event"  # + seq; anchor.py words it
_sha256 = hashlib.sha256
_enc = chain._encode_str
_scalar = chain._scalar
_TEMPLATE = chain._TEMPLATE
_GENESIS_DIGEST = bytes.fromhex(GENESIS_HASH)


def rows(conn: Connection) -> Iterator[tuple[Any, ...]]:
    """Every event as a driver tuple (seq, ..., at as canonical text, details text, prev_hash, hash),
    in ``seq`` order, in the connection's transaction. Close it (contextlib.closing) if not read to
    the end."""
    dialect = conn.dialect.name
    driver = conn.connection.driver_connection
    assert driver is not None
    query = _QUERY.format(at=_AT_COLUMN.get(dialect, "at"))
    if dialect == "postgresql" and _streams_in_chunks():
        return _streamed(driver, query)
    return _fetched(driver.cursor(name=_CURSOR_NAME) if dialect == "postgresql" else driver.cursor(), query)


def _streamed(driver: Any, query: str) -> Iterator[tuple[Any, ...]]:
    """PostgreSQL streams rows while we hash (a server-side cursor waits for each FETCH instead:
    2.4x slower to read, bench_ledger)."""
    stream = driver.cursor().stream(query, size=STREAM_CHUNK_ROWS)
    try:
        for row in stream:  # not ``yield from``: closing this generator must not close the stream
            yield row
    finally:
        for _ in stream:  # read to the end: psycopg would cancel the query, aborting the caller's transaction
            pass


def _fetched(cursor: Any, query: str) -> Iterator[tuple[Any, ...]]:
    try:
        cursor.execute(query)
        while batch := cursor.fetchmany(FETCH_ROWS):
            yield from batch
    finally:
        cursor.close()


def _streams_in_chunks() -> bool:
    """psycopg >= 3.2 on libpq >= 17 streams a result in chunks of rows (row by row is slower than FETCH)."""
    capabilities = getattr(psycopg, "capabilities", None)
    return bool(capabilities is not None and capabilities.has_stream_chunked())


def canonical_text(prev_hash: str, row: tuple[Any, ...]) -> str:
    """chain.canonical_bytes (as text) of a raw row: ``details`` is already canonical text,
    ``case``/``clip`` come from integer columns."""
    seq, event_type, actor, role, case, clip, purpose, address, at, details, _, _ = row
    if at.__class__ is not str or at[-1:] != "Z":
        at = _canonical_time(at)
    return _TEMPLATE % (
        _enc(actor), _enc(at), case if case.__class__ is int else _scalar(case),
        "null" if address is None else _enc(address), clip if clip.__class__ is int else _scalar(clip),
        details or "{}", _enc(event_type), _enc(prev_hash), "null" if purpose is None else _enc(purpose),
        _enc(role), seq,
    )


def raw_link(prev_hash: str, row: tuple[Any, ...]) -> str:
    """The hash a raw row should carry after ``prev_hash``."""
    return _sha256(bytes.fromhex(prev_hash) + canonical_text(prev_hash, row).encode("utf-8")).hexdigest()


def verify_rows(source: Iterable[tuple[Any, ...]], checkpoint: tuple[int, str] | None = None,
                anchors: Mapping[int, str] | None = None) -> ChainVerification:
    """Same verdicts as :func:`chain.verify_chain` (+ checkpoint), on raw (seq, ..., prev_hash, hash) rows.

    ``anchors`` (seq → hash, from signed checkpoints): the first event whose hash differs from its
    anchored one is reported (a rewrite that recomputed every later hash is caught where it starts)."""
    expected, prev, prev_digest, checked, seen_checkpoint = 1, GENESIS_HASH, _GENESIS_DIGEST, 0, None
    checkpoint_seq = checkpoint[0] if checkpoint else None
    pinned_seqs = iter(sorted(anchors or ()))
    next_pinned = next(pinned_seqs, 0)  # an int compare per row; a lookup only at pinned events
    for row in source:  # the hot loop: ~3 us per event, half of it canonical_text
        checked += 1
        seq, row_prev, row_hash = row[0], row[10], row[11]
        if seq != expected or row_prev != prev:
            return _broken_link(checked, expected, prev, seq)
        digest = _sha256(prev_digest + canonical_text(prev, row).encode("utf-8")).digest()
        if digest.hex() != row_hash:
            return _failed(checked, expected, prev, seq,
                           f"event {seq} was changed after it was written (hash does not match content)")
        if seq == next_pinned:
            if anchors[seq] != row_hash:  # type: ignore[index]
                return _failed(checked, expected, prev, seq, f"{ANCHOR_MISMATCH} {seq}")
            next_pinned = next(pinned_seqs, 0)
        if seq == checkpoint_seq:
            seen_checkpoint = row_hash
        expected, prev, prev_digest = seq + 1, row_hash, digest
    if checkpoint is not None and seen_checkpoint != checkpoint[1]:
        reason = (f"checkpointed event {checkpoint[0]} is missing: the chain was truncated" if seen_checkpoint is None
                  else f"event {checkpoint[0]} no longer has its checkpointed hash: the chain was rewritten "
                       f"at or before seq {checkpoint[0]}")
        return ChainVerification(False, checked, checkpoint[0], reason, head_seq=expected - 1, head_hash=prev)
    if checked == 0:
        return ChainVerification(True, 0)
    return ChainVerification(True, checked, head_seq=expected - 1, head_hash=prev)


def _broken_link(checked: int, expected: int, prev: str, seq: int) -> ChainVerification:
    if seq > expected:
        return _failed(checked, expected, prev, expected,
                       f"event {expected} is missing (next row is {seq}): rows were deleted")
    if seq < expected:
        return _failed(checked, expected, prev, expected,
                       f"row {seq} found where {expected} was expected: rows out of order or duplicated")
    return _failed(checked, expected, prev, seq, f"event {seq} does not link to the event before it (prev_hash differs)")


def _failed(checked: int, expected: int, prev: str, broken_seq: int, reason: str) -> ChainVerification:
    head = (expected - 1, prev) if expected > 1 else (None, None)
    return ChainVerification(False, checked, broken_seq, reason, head_seq=head[0], head_hash=head[1])


def _canonical_time(at: datetime | str) -> str:
    """A time the database did not already give as canonical text (a datetime, or SQLite text in
    another form): the same value the ORM would read, formatted as the chain formats it."""
    if isinstance(at, str):
        parsed = datetime.fromisoformat(at)
        at = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)  # SQLite: UTC, zone stripped
    return chain.format_time(at)
