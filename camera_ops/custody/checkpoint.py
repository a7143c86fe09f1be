"""Signed checkpoints in the locked store, so that rewriting the database is detectable.

Someone with write access to the database can rewrite every row and recompute every hash; the
chain alone then still verifies. A checkpoint pins the past: an object in the store, locked
(COMPLIANCE by default: nobody, the service included, may delete it before it expires) and signed
with the service's Ed25519 key (:mod:`camera_ops.custody.signing`), that lists the hash of every
event since the previous checkpoint. Verification (:func:`verify_anchored`) checks the chain
against *every* checkpoint in the store and every checkpoint the database says was written, and
names the first event whose hash differs.

Object format (``custody/checkpoints/<seq, 12 digits>.json``), UTF-8 JSON::

    {"body": "<checkpoint JSON text>", "key_id": "<16 hex>", "signature": "<base64 Ed25519 of body>"}

The body (keys sorted, compact) is
``{"at", "format", "from_seq", "hash", "hashes", "ledger", "prev_hash", "seq"}``: ``hashes`` are
the events ``from_seq..seq`` in order, ``prev_hash`` the hash of event ``from_seq - 1`` (64 zeros
for the first), ``hash`` the head (``hashes[-1]``). Checkpoints written before signing (issue 5:
``{"ledger", "seq", "hash", "at"}``) are still read; they anchor only their head.
"""

from __future__ import annotations

import bisect
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.custody.chain import GENESIS_HASH
from camera_ops.custody.signing import Keyring, b64, unb64
from camera_ops.errors import Conflict, IntegrityError
from camera_ops.settings import Settings
from storage.clipstore.base import ClipStore, ObjectLock
from storage.models_evidence import CustodyCheckpoint, CustodyEvent
from storage.types import utcnow

CHECKPOINT_PREFIX = "custody/checkpoints/"
SEQ_DIGITS = 12  # zero-padded so keys sort in seq order (10^12 events is plenty)
FORMAT = "camera-ops custody checkpoint v2"
LEDGER = "camera-ops custody"
# Hashes listed per checkpoint object (65 bytes each in JSON: ~3 MB). A longer stretch since the
# last checkpoint (a first checkpoint on an old ledger) is written as several objects.
MAX_HASHES_PER_CHECKPOINT = 50_000


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    key: str
    from_seq: int | None = None  # None: a legacy checkpoint that anchors only its head
    prev_hash: str | None = None
    hashes: tuple[str, ...] = ()
    key_id: str | None = None  # None: unsigned (legacy)
    body: bytes | None = None
    signature: bytes | None = None

    def anchors(self) -> dict[int, str]:
        """seq → hash for every event this checkpoint pins."""
        if self.from_seq is None:
            return {self.seq: self.hash}
        pinned = dict(zip(range(self.from_seq, self.seq + 1), self.hashes, strict=True))
        if self.from_seq > 1 and self.prev_hash:
            pinned[self.from_seq - 1] = self.prev_hash
        return pinned


def checkpoint_key(seq: int) -> str:
    return f"{CHECKPOINT_PREFIX}{seq:0{SEQ_DIGITS}d}.json"


def body_bytes(*, from_seq: int, seq: int, prev_hash: str, hashes: list[str], at: datetime) -> bytes:
    body = {"at": at.isoformat(), "format": FORMAT, "from_seq": from_seq, "hash": hashes[-1], "hashes": hashes,
            "ledger": LEDGER, "prev_hash": prev_hash, "seq": seq}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def checkpoint_lock(settings: Settings, at: datetime) -> ObjectLock:
    return ObjectLock(at + timedelta(days=settings.checkpoint_retention_days), settings.checkpoint_retention_mode)


# --- writing ----------------------------------------------------------------------------------------


def write_checkpoint(session: Session, store: ClipStore, settings: Settings,
                     keyring: Keyring | None = None) -> Checkpoint | None:
    """Anchor every event since the last checkpoint (None when there is nothing new).

    Errors (store down, key unreadable) propagate: a failed checkpoint is an error for the caller
    to report (:mod:`camera_ops.custody.anchor`)."""
    keyring = keyring or Keyring.from_settings(settings)
    head = session.execute(select(CustodyEvent.seq).order_by(CustodyEvent.seq.desc()).limit(1)).scalar()
    if head is None:
        return None
    last_seq, prev_hash = _last_anchored(session, store)
    if last_seq >= head:
        return None
    written: Checkpoint | None = None
    start = last_seq + 1
    while start <= head:
        end = min(head, start + MAX_HASHES_PER_CHECKPOINT - 1)
        hashes = list(session.scalars(select(CustodyEvent.hash).where(CustodyEvent.seq.between(start, end))
                                      .order_by(CustodyEvent.seq)))
        if len(hashes) != end - start + 1:
            raise IntegrityError(f"events {start}..{end} are not all in the ledger; not checkpointing a broken chain")
        written = _store_one(session, store, settings, keyring, start, end, prev_hash, hashes) or written
        start, prev_hash = end + 1, hashes[-1]
    return written


def _last_anchored(session: Session, store: ClipStore) -> tuple[int, str]:
    """(seq, hash) of the newest checkpoint: the database's word if the store confirms it, else the
    store's own listing."""
    row = session.execute(select(CustodyCheckpoint.seq, CustodyCheckpoint.hash, CustodyCheckpoint.object_key)
                          .order_by(CustodyCheckpoint.seq.desc()).limit(1)).first()
    if row is not None and store.stat(row.object_key) is not None:
        keys = [row.object_key]
    else:
        keys = store.list_keys(CHECKPOINT_PREFIX)
    if not keys:
        return 0, GENESIS_HASH
    newest = read_checkpoint(store, keys[-1])
    if newest.from_seq is None:  # only legacy head-only checkpoints: list every event once, signed
        return 0, GENESIS_HASH
    return newest.seq, newest.hash


def _store_one(session: Session, store: ClipStore, settings: Settings, keyring: Keyring, from_seq: int, seq: int,
               prev_hash: str, hashes: list[str]) -> Checkpoint | None:
    at = utcnow()
    body = body_bytes(from_seq=from_seq, seq=seq, prev_hash=prev_hash, hashes=hashes, at=at)
    key_id, signature = keyring.sign(body)
    envelope = json.dumps({"body": body.decode("utf-8"), "key_id": key_id, "signature": b64(signature)},
                          sort_keys=True).encode("utf-8")
    key = checkpoint_key(seq)
    try:
        stored = store.put(key, io.BytesIO(envelope), length=len(envelope), content_type="application/json",
                           metadata={"ledger-seq": str(seq), "key-id": key_id}, lock=checkpoint_lock(settings, at))
    except Conflict:
        return None  # another process anchored the same head a moment ago
    session.add(CustodyCheckpoint(seq=seq, hash=hashes[-1], object_key=key, version_id=stored.version_id, at=at))
    session.flush()
    return Checkpoint(seq, hashes[-1], at, key, from_seq, prev_hash, tuple(hashes), key_id, body, signature)


# --- reading ----------------------------------------------------------------------------------------


def read_checkpoint(store: ClipStore, key: str) -> Checkpoint:
    """One checkpoint object as stored; ``IntegrityError`` when it is not one."""
    try:
        data = json.loads(b"".join(store.read(key)))
        return parse_checkpoint(key, data)
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"checkpoint object {key} is unreadable or malformed ({type(exc).__name__})") from exc


def parse_checkpoint(key: str, data: Mapping[str, Any]) -> Checkpoint:
    if "body" not in data:  # legacy, unsigned: head only
        found = Checkpoint(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["at"]), key)
    else:
        body_text = str(data["body"])
        body = json.loads(body_text)
        if body.get("format") != FORMAT:
            raise IntegrityError(f"checkpoint object {key} has an unknown format {body.get('format')!r}")
        hashes = tuple(str(h) for h in body["hashes"])
        from_seq, seq = int(body["from_seq"]), int(body["seq"])
        if len(hashes) != seq - from_seq + 1 or not hashes or hashes[-1] != body["hash"]:
            raise IntegrityError(f"checkpoint object {key} lists {len(hashes)} hashes for events {from_seq}..{seq}")
        found = Checkpoint(seq, str(body["hash"]), datetime.fromisoformat(body["at"]), key, from_seq,
                           str(body["prev_hash"]), hashes, str(data["key_id"]), body_text.encode("utf-8"),
                           unb64(str(data["signature"])))
    if checkpoint_key(found.seq) != key:
        raise IntegrityError(f"checkpoint object {key} holds event {found.seq}: it was moved or replaced")
    return found


def latest_checkpoint(store: ClipStore) -> Checkpoint | None:
    """The newest checkpoint as the store holds it."""
    keys = store.list_keys(CHECKPOINT_PREFIX)
    return read_checkpoint(store, keys[-1]) if keys else None


def covering(store: ClipStore, seqs: Iterable[int]) -> list[Checkpoint]:
    """The signed checkpoints (in order) that pin each of ``seqs`` (and, by their ``prev_hash``, the
    event before each) — what
    an evidence package carries. Checkpoints are contiguous (each starts after the previous one's
    key), so the first key at or after a seq is read, and only those."""
    keys = store.list_keys(CHECKPOINT_PREFIX)
    key_seqs = [_seq_of(k) for k in keys]
    cache: dict[int, Checkpoint] = {}
    used: set[int] = set()
    missing = []
    for seq in sorted(set(seqs)):
        index = bisect.bisect_left(key_seqs, seq)
        while index < len(keys):
            if index not in cache:
                cache[index] = read_checkpoint(store, keys[index])
            found = cache[index]
            if found.from_seq is not None and found.from_seq <= seq <= found.seq:
                used.add(index)
                break
            index += 1
        else:
            missing.append(seq)
    if missing:
        raise IntegrityError(f"events {missing[:5]} are not anchored by a signed checkpoint yet")
    return [cache[i] for i in sorted(used)]


# --- verifying ----------------------------------------------------------------------------------------


@dataclass
class AnchorCheck:
    """Every checkpoint in the store and the database, cross-checked; what the chain must match."""

    anchors: dict[int, str] = field(default_factory=dict)  # seq → hash of each checkpoint's head (and its prev)
    stored: dict[str, Checkpoint] = field(default_factory=dict)  # key → checkpoint, every event's hash
    pinned_by: dict[int, str] = field(default_factory=dict)  # checkpoint seq → key (for messages)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (seq, reason), in seq order
    count: int = 0
    unsigned: int = 0
    newest_seq: int | None = None


def check_checkpoints(session: Session, store: ClipStore, keyring: Keyring) -> AnchorCheck:
    result = AnchorCheck()
    stored: dict[str, Checkpoint] = {}
    present = store.list_keys(CHECKPOINT_PREFIX)
    present_keys = set(present)
    for key in present:
        try:
            checkpoint = read_checkpoint(store, key)
            if checkpoint.key_id is None:
                result.unsigned += 1
            else:
                assert checkpoint.body is not None and checkpoint.signature is not None
                keyring.verify(checkpoint.key_id, checkpoint.signature, checkpoint.body, what=f"checkpoint {key}")
        except IntegrityError as exc:
            result.problems.append((_seq_of(key), exc.message))
            continue
        stored[key] = checkpoint
        ends = [(checkpoint.seq, checkpoint.hash)]
        if checkpoint.from_seq and checkpoint.from_seq > 1 and checkpoint.prev_hash:
            ends.append((checkpoint.from_seq - 1, checkpoint.prev_hash))
        for seq, digest in ends:  # the heads; every event's hash is read only to locate a rewrite
            if result.anchors.setdefault(seq, digest) != digest:
                result.problems.append((seq, f"checkpoints disagree about event {seq} ({key})"))
        result.pinned_by[checkpoint.seq] = key
    rows = session.execute(select(CustodyCheckpoint.seq, CustodyCheckpoint.hash, CustodyCheckpoint.object_key)).all()
    listed = set()
    for row in rows:
        listed.add(row.object_key)
        found = stored.get(row.object_key)
        if found is None and row.object_key not in present_keys:
            result.problems.append((row.seq, f"checkpoint at event {row.seq} ({row.object_key}) is listed in the "
                                             "database but missing from the store: it was deleted"))
        elif found is not None and (found.seq, found.hash) != (row.seq, row.hash):
            result.problems.append((row.seq, f"the database's row for checkpoint {row.object_key} does not match "
                                             "the stored object"))
    for key, checkpoint in stored.items():
        if key not in listed:
            result.problems.append((checkpoint.seq, f"checkpoint at event {checkpoint.seq} ({key}) is in the store "
                                                    "but its database row was deleted"))
    result.problems.sort(key=lambda p: p[0])
    result.stored = stored
    result.count = len(stored)
    result.newest_seq = max((c.seq for c in stored.values()), default=None)
    return result


def _seq_of(key: str) -> int:
    digits = key[len(CHECKPOINT_PREFIX):].split(".")[0]
    return int(digits) if digits.isdigit() else 0


def verify_with_store(session: Session, store: ClipStore, settings: Settings | None = None,
                      keyring: Keyring | None = None) -> Any:
    """The chain, checked against every checkpoint (see :mod:`camera_ops.custody.anchor`)."""
    from camera_ops.custody.anchor import verify_anchored
    from camera_ops.settings import get_settings

    settings = settings or get_settings()
    return verify_anchored(session, store, settings, keyring or Keyring.from_settings(settings))


__all__ = ["CHECKPOINT_PREFIX", "Checkpoint", "check_checkpoints", "checkpoint_key", "covering",
           "latest_checkpoint", "read_checkpoint", "verify_with_store", "write_checkpoint"]
