"""The custody ledger's hash chain: canonical form, hashing, verification. Pure, no database.

An auditor can re-check a chain without camera-ops. For each event, in ``seq`` order:

1. Canonical bytes: the event as JSON with keys sorted, no spaces, UTF-8 (non-ASCII kept, not
   escaped), ``null`` for absent values. The keys are exactly::

       actor, at, case, client_address, clip, details, event_type, prev_hash, purpose, role, seq

   ``at`` is the UTC time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always 6 fraction digits);
   ``details`` is a JSON object (keys sorted the same way); ``seq`` is an integer.
   In Python: ``json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
2. ``hash = sha256(bytes.fromhex(prev_hash) + canonical_bytes).hexdigest()``.
3. The first event's ``prev_hash`` is 64 zeros; each later one's is the previous event's ``hash``.

Verification reports the *first* broken link: a gap in ``seq`` (a deleted row), rows out of order,
a ``prev_hash`` that is not the previous ``hash`` (inserted, removed or re-linked row), or a
``hash`` that does not match the content (an edited field). A rewrite that recomputes every later
hash is caught only against a checkpoint stored elsewhere (the locked bucket):
:func:`verify_against_checkpoint`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

GENESIS_HASH = "0" * 64

_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C implementation: fast


def _refuse(value: object) -> object:
    raise TypeError(f"custody details must be JSON values, not {type(value).__name__}")


def _details_encoder() -> Callable[[Mapping[str, Any]], str]:
    """sorted-key compact JSON, like json.dumps(..., sort_keys=True, separators=(",", ":"),
    ensure_ascii=False, allow_nan=False), but with the C encoder built once instead of per call
    (json.dumps builds it every time: ~1.3 us of the ~6 us an event costs)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
    # c_make_encoder(markers, default, encoder, indent, key_separator, item_separator, sort_keys,
    #                skipkeys, allow_nan); markers=None skips the circular check (details are small trees)
    encode = make(None, _refuse, _encode_str, None, ":", ",", True, False, False)
    return lambda details: "".join(encode(details, 0))


_ENCODE_DETAILS = _details_encoder()
# The canonical object, keys already in sorted order, filled by position (~3x faster than dumps).
# the canonical text around its two chain slots (prev_hash, seq): canonical_parts gives the database
# what it needs to fill them itself
_BEFORE_PREV = '{"actor":%s,"at":%s,"case":%s,"client_address":%s,"clip":%s,"details":%s,"event_type":%s,"prev_hash":'
_BEFORE_SEQ = ',"purpose":%s,"role":%s,"seq":'
_TEMPLATE = _BEFORE_PREV + "%s" + _BEFORE_SEQ + "%d}"


class ChainFields(Protocol):
    """What the chain covers. ORM rows with these attributes can be passed as they are."""

    seq: int
    event_type: str
    actor: str
    role: str
    case: str | int | UUID | None
    clip: str | int | UUID | None
    purpose: str | None
    client_address: str | None
    at: datetime
    details: Mapping[str, Any] | None


class ChainRow(ChainFields, Protocol):
    prev_hash: str
    hash: str


class ChainHead(Protocol):
    """What the next event links to: the last event's seq and hash (or the ledger's head row)."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    event_type: str
    actor: str
    role: str
    at: datetime  # UTC-aware
    case: str | int | None = None
    clip: str | int | None = None
    purpose: str | None = None
    client_address: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    checked: int  # rows read before the verdict (all of them when ok)
    first_broken_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None  # last row verified good
    head_hash: str | None = None


def details_text(details: Mapping[str, Any] | None) -> str:
    """``details`` in canonical form: the text that is hashed, and the text the ledger stores."""
    return _ENCODE_DETAILS(details) if details else "{}"


def canonical_bytes(fields: ChainFields, prev_hash: str) -> bytes:
    """The exact bytes hashed for an event (see the module docstring)."""
    return (
        _TEMPLATE
        % (
            _encode_str(fields.actor),
            _encode_str(format_time(fields.at)),
            _scalar(fields.case),
            _scalar(fields.client_address),
            _scalar(fields.clip),
            details_text(fields.details),
            _encode_str(fields.event_type),
            _encode_str(prev_hash),
            _scalar(fields.purpose),
            _encode_str(fields.role),
            fields.seq,
        )
    ).encode("utf-8")


def canonical_parts(fields: ChainFields) -> tuple[str, str]:
    """The canonical text of an event around its two chain slots:
    ``canonical_bytes(fields, prev_hash) == (before + prev_hash + between + str(seq) + "}").encode()``.
    The database can then link an event to a head it alone reads (one statement, under the head's
    lock) and hash it the same way (``sha256(prev_digest || utf8(text))``)."""
    before = _BEFORE_PREV % (
        _encode_str(fields.actor),
        _encode_str(format_time(fields.at)),
        _scalar(fields.case),
        _scalar(fields.client_address),
        _scalar(fields.clip),
        details_text(fields.details),
        _encode_str(fields.event_type),
    ) + '"'
    between = '"' + _BEFORE_SEQ % (_scalar(fields.purpose), _encode_str(fields.role))
    return before, between


def link(prev_hash: str, fields: ChainFields) -> str:
    """Hash of an event chained after ``prev_hash``."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_bytes(fields, prev_hash)).hexdigest()


def compute_hash(fields: ChainRow | EventRecord) -> str:
    """Hash of an event using its own ``prev_hash``."""
    return link(fields.prev_hash, fields)


def next_record(head: ChainHead | None, **fields: Any) -> EventRecord:
    """The event that follows ``head`` (None, or a head at seq 0: the first event), with seq,
    prev_hash and hash filled in."""
    seq = head.seq + 1 if head is not None else 1
    prev_hash = head.hash if head is not None and head.seq else GENESIS_HASH
    record = EventRecord(seq=seq, prev_hash=prev_hash, **fields)
    return replace(record, hash=link(prev_hash, record))


def verify_chain(
    rows: Iterable[ChainRow | EventRecord], *, start_seq: int = 1, start_prev_hash: str = GENESIS_HASH
) -> ChainVerification:
    """Check rows in order from ``start_seq`` (whose prev_hash must be ``start_prev_hash``).

    To verify only the tail of a long chain, pass the seq after a trusted checkpoint and that
    checkpoint's hash.
    """
    expected_seq, prev_hash, checked = start_seq, start_prev_hash, 0
    prev_digest = bytes.fromhex(start_prev_hash)
    for row in rows:  # the hot loop: ~5 us per event, most of it canonical_bytes
        checked += 1
        problem = _link_problem(row, expected_seq, prev_hash)
        if problem is None:
            digest = hashlib.sha256(prev_digest + canonical_bytes(row, prev_hash)).digest()
            if digest.hex() != row.hash:
                problem = row.seq, f"event {row.seq} was changed after it was written (hash does not match content)"
        if problem is not None:
            head = (expected_seq - 1, prev_hash) if expected_seq > start_seq else (None, None)
            return ChainVerification(False, checked, problem[0], problem[1], head_seq=head[0], head_hash=head[1])
        expected_seq, prev_hash, prev_digest = expected_seq + 1, row.hash, digest
    if checked == 0:
        return ChainVerification(True, 0)
    return ChainVerification(True, checked, head_seq=expected_seq - 1, head_hash=prev_hash)


def verify_against_checkpoint(
    rows: Iterable[ChainRow | EventRecord], checkpoint_seq: int, checkpoint_hash: str
) -> ChainVerification:
    """Verify the chain and that the event at ``checkpoint_seq`` still has the checkpointed hash.

    A chain that is internally consistent but disagrees with the checkpoint was rewritten (every
    hash after an edit recomputed); the edit is at or before ``checkpoint_seq``.
    """
    checkpoint: list[str] = []

    def watch(source: Iterable[ChainRow | EventRecord]) -> Iterable[ChainRow | EventRecord]:
        for row in source:
            if row.seq == checkpoint_seq:
                checkpoint.append(row.hash)
            yield row

    result = verify_chain(watch(rows))
    if not result.ok:
        return result
    if not checkpoint:
        return replace(
            result,
            ok=False,
            first_broken_seq=checkpoint_seq,
            reason=f"checkpointed event {checkpoint_seq} is missing: the chain was truncated",
        )
    if checkpoint[0] != checkpoint_hash:
        return replace(
            result,
            ok=False,
            first_broken_seq=checkpoint_seq,
            reason=(
                f"event {checkpoint_seq} no longer has its checkpointed hash: the chain was rewritten "
                f"at or before seq {checkpoint_seq}"
            ),
        )
    return result


def format_time(at: datetime) -> str:
    """UTC ISO-8601 with microseconds and Z; refuses naive datetimes (their meaning is unknown)."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {at!r} in a custody event: store UTC-aware times")
    if offset:
        at = at.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (
        at.year,
        at.month,
        at.day,
        at.hour,
        at.minute,
        at.second,
        at.microsecond,
    )


# --- helpers --------------------------------------------------------------------------------------


def _link_problem(row: ChainRow | EventRecord, expected_seq: int, prev_hash: str) -> tuple[int, str] | None:
    if row.seq != expected_seq:
        if row.seq > expected_seq:
            return expected_seq, (
                f"event {expected_seq} is missing (next row is {row.seq}): rows were deleted or reordered"
            )
        return expected_seq, f"row {row.seq} found where {expected_seq} was expected: rows out of order or duplicated"
    if row.prev_hash != prev_hash:
        return row.seq, f"event {row.seq} does not link to the event before it (prev_hash differs)"
    return None


def _scalar(value: str | int | UUID | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _encode_str(value)
    if isinstance(value, bool):  # bool is an int: be explicit rather than write 1/0
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, UUID):
        return _encode_str(str(value))
    raise TypeError(f"custody field must be str, int, UUID or None, not {type(value).__name__}")
