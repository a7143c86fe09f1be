"""Chain verification straight from the driver's rows: the database path at >100,000 events/s.

The ORM path decodes every ``details`` JSON and the chain re-encodes it; here the stored text is
hashed as it is — :class:`storage.models_evidence.CanonicalJSON` stores exactly the canonical form
:func:`camera_ops.custody.chain.canonical_bytes` produces (tests/unit/test_footage_fastverify.py
proves the two agree). A row whose stored text is not canonical fails, as an edited row should.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from camera_ops.custody import chain
from camera_ops.custody.chain import GENESIS_HASH, ChainVerification

FETCH_ROWS = 10_000
_QUERY = ("SELECT seq, event_type, actor, role, case_id, clip_id, purpose, client_address, {at}, details, "
          "prev_hash, hash FROM custody_event ORDER BY seq")
# PostgreSQL hands the time back already in the chain's canonical text (chain.format_time), so no
# row pays for a timestamptz decode and a re-format; SQLite keeps its own text form.
_AT_COLUMN = {"postgresql": """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""}
_sha256 = hashlib.sha256
_enc = chain._encode_str
_scalar = chain._scalar
_TEMPLATE = chain._TEMPLATE


def raw_link(prev_hash: str, row: tuple[Any, ...]) -> str:
    seq, event_type, actor, role, case, clip, purpose, address, at, details = row[:10]
    if not isinstance(at, str):
        at = chain.format_time(at)
    elif not at.endswith("Z"):  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, zone stripped)
        at = chain.format_time(datetime.fromisoformat(at).replace(tzinfo=UTC))
    text = _TEMPLATE % (_enc(actor), _enc(at), _scalar(case), _scalar(address), _scalar(clip),
                        details if details and details != "{}" else "{}", _enc(event_type), _enc(prev_hash),
                        _scalar(purpose), _enc(role), seq)
    return _sha256(bytes.fromhex(prev_hash) + text.encode("utf-8")).hexdigest()


def rows(conn: Connection) -> Iterable[tuple[Any, ...]]:
    query = _QUERY.format(at=_AT_COLUMN.get(conn.dialect.name, "at"))
    result = conn.exec_driver_sql(query).yield_per(FETCH_ROWS)
    for partition in result.partitions():
        yield from partition


def verify_rows(source: Iterable[tuple[Any, ...]], checkpoint: tuple[int, str] | None = None) -> ChainVerification:
    """Same verdicts as :func:`chain.verify_chain` (+ checkpoint), on raw (seq, ..., prev_hash, hash) rows."""
    expected, prev, checked, seen_checkpoint = 1, GENESIS_HASH, 0, None
    for row in source:
        checked += 1
        seq, row_prev, row_hash = row[0], row[10], row[11]
        problem = None
        if seq != expected:
            problem = (f"event {expected} is missing (next row is {seq}): rows were deleted" if seq > expected
                       else f"row {seq} found where {expected} was expected: rows out of order or duplicated")
            seq = expected
        elif row_prev != prev:
            problem = f"event {seq} does not link to the event before it (prev_hash differs)"
        elif raw_link(prev, row) != row_hash:
            problem = f"event {seq} was changed after it was written (hash does not match content)"
        if problem:
            head = (expected - 1, prev) if expected > 1 else (None, None)
            return ChainVerification(False, checked, seq, problem, head_seq=head[0], head_hash=head[1])
        if checkpoint and seq == checkpoint[0]:
            seen_checkpoint = row_hash
        expected, prev = seq + 1, row_hash
    if checkpoint is not None and seen_checkpoint != checkpoint[1]:
        reason = (f"checkpointed event {checkpoint[0]} is missing: the chain was truncated" if seen_checkpoint is None
                  else f"event {checkpoint[0]} no longer has its checkpointed hash: the chain was rewritten "
                       f"at or before seq {checkpoint[0]}")
        return ChainVerification(False, checked, checkpoint[0], reason, head_seq=expected - 1, head_hash=prev)
    if checked == 0:
        return ChainVerification(True, 0)
    return ChainVerification(True, checked, head_seq=expected - 1, head_hash=prev)
