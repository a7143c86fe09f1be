"""Chain-head checkpoints in the locked bucket, so that rewriting the database is detectable.

Someone with write access to the database can rewrite every row and recompute every hash; the
chain alone then still verifies. A checkpoint — (seq, hash) of the head at some moment, written as
a locked object that nobody can change or delete before its retention ends — pins the past: a
rewritten chain no longer has the checkpointed hash at that seq. The worker writes one on a
schedule (``custody_checkpoint_interval_s``); verification reads the newest from the *store*, not
from the database.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.custody.ledger import LedgerReport, verify_ledger
from camera_ops.errors import Conflict, IntegrityError
from camera_ops.settings import Settings
from storage.clipstore.base import ClipStore, ObjectLock
from storage.models_evidence import CustodyCheckpoint, CustodyEvent
from storage.types import utcnow

CHECKPOINT_PREFIX = "custody/checkpoints/"
SEQ_DIGITS = 12  # zero-padded so keys sort in seq order (10^12 events is plenty)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    key: str


def checkpoint_key(seq: int) -> str:
    return f"{CHECKPOINT_PREFIX}{seq:0{SEQ_DIGITS}d}.json"


def write_checkpoint(session: Session, store: ClipStore, settings: Settings) -> Checkpoint | None:
    """Store the current head (None when the ledger is empty or the head is already stored)."""
    last = session.execute(select(CustodyEvent.seq, CustodyEvent.hash).order_by(CustodyEvent.seq.desc()).limit(1)).first()
    if last is None:
        return None
    key = checkpoint_key(last.seq)
    if store.stat(key) is not None:
        return None
    at = utcnow()
    body = json.dumps({"ledger": "camera-ops custody", "seq": last.seq, "hash": last.hash,
                       "at": at.isoformat()}, sort_keys=True).encode()
    lock = ObjectLock(at + timedelta(days=settings.retention_days), settings.object_retention_mode)
    try:
        stored = store.put(key, io.BytesIO(body), length=len(body), content_type="application/json",
                           metadata={"ledger-seq": str(last.seq)}, lock=lock)
    except Conflict:
        return None  # another worker wrote the same head a moment ago
    session.add(CustodyCheckpoint(seq=last.seq, hash=last.hash, object_key=key, version_id=stored.version_id, at=at))
    session.flush()
    return Checkpoint(last.seq, last.hash, at, key)


def latest_checkpoint(store: ClipStore) -> Checkpoint | None:
    """The newest checkpoint as the store holds it."""
    keys = store.list_keys(CHECKPOINT_PREFIX)
    if not keys:
        return None
    key = keys[-1]
    data = json.loads(b"".join(store.read(key)))
    if checkpoint_key(int(data["seq"])) != key:
        raise IntegrityError(f"checkpoint object {key} holds seq {data['seq']}")
    return Checkpoint(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["at"]), key)


def verify_with_store(session: Session, store: ClipStore) -> LedgerReport:
    """The chain, checked against the newest checkpoint in the locked bucket."""
    found = latest_checkpoint(store)
    return verify_ledger(session, (found.seq, found.hash) if found else None)
