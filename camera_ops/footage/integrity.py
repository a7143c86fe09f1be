"""Re-hash stored clips from the store's own bytes: after upload, and whenever asked."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.errors import IntegrityError, NotFound, StorageError
from storage.clipstore.base import ClipStore
from storage.models_evidence import Clip, ClipStatus, CustodyEvent


@dataclass(frozen=True)
class Digest:
    sha256: str
    sha512: str
    size: int


def rehash(store: ClipStore, key: str, version_id: str | None = None) -> Digest:
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    for chunk in store.read(key, version_id=version_id):
        sha256.update(chunk)
        sha512.update(chunk)
        size += len(chunk)
    return Digest(sha256.hexdigest(), sha512.hexdigest(), size)


def check_digest(found: Digest, *, sha256: str, sha512: str, size: int, what: str) -> None:
    if (found.sha256, found.sha512, found.size) != (sha256, sha512, size):
        raise IntegrityError(
            f"{what}: stored bytes do not match the recorded hashes "
            f"(sha256 {found.sha256[:16]}… ≠ {sha256[:16]}…, {found.size} ≠ {size} bytes)"
        )


@dataclass(frozen=True)
class ClipCheck:
    clip_id: int
    ok: bool
    problem: str | None


def verify_clip(store: ClipStore, clip: Clip) -> ClipCheck:
    """The stored bytes against the clip row (one clip's re-hash, on request)."""
    if not clip.object_key or not clip.sha256 or not clip.sha512 or clip.size_bytes is None:
        return ClipCheck(clip.id, False, "clip has no archived object")
    try:
        check_digest(rehash(store, clip.object_key, clip.version_id), sha256=clip.sha256, sha512=clip.sha512,
                     size=clip.size_bytes, what=f"clip {clip.id}")
    except (IntegrityError, NotFound) as exc:
        return ClipCheck(clip.id, False, exc.message)
    except StorageError as exc:
        return ClipCheck(clip.id, False, f"could not read: {exc.message}")
    return ClipCheck(clip.id, True, None)


# What the ledger recorded when the clip was archived: event type → {details key: Digest field}.
_LEDGER_FIELDS = {
    "acquired": {"sha256": "sha256", "size_bytes": "size"},
    "verified": {"sha256": "sha256", "sha512": "sha512"},
}


def cross_check_clip(store: ClipStore, clip: Clip, ledger: list[CustodyEvent]) -> ClipCheck:
    """The stored object against the clip row, the object's own metadata, the manifest and the
    ledger's acquired/verified/archived events: anyone who swaps the object *and* updates the row
    still disagrees with the (anchored) ledger and the (locked) manifest. Every disagreement is named."""
    if not clip.object_key:
        return ClipCheck(clip.id, False, "clip has no archived object")
    try:
        found = rehash(store, clip.object_key, clip.version_id)
        meta = store.stat(clip.object_key, clip.version_id)
        manifest_bytes = b"".join(store.read(clip.manifest_key, version_id=clip.manifest_version_id)) \
            if clip.manifest_key else None
    except NotFound as exc:
        return ClipCheck(clip.id, False, exc.message)
    except StorageError as exc:
        return ClipCheck(clip.id, False, f"could not read: {exc.message}")
    problems = []
    row = {"sha256": clip.sha256, "sha512": clip.sha512, "size": clip.size_bytes}
    if (row["sha256"], row["sha512"], row["size"]) != (found.sha256, found.sha512, found.size):
        problems.append(f"the stored object (sha256 {found.sha256[:16]}…, {found.size} bytes) differs from the clip row "
                        f"(sha256 {str(clip.sha256)[:16]}…, {clip.size_bytes} bytes)")
    if meta is not None and meta.metadata.get("sha256") not in (None, found.sha256):
        problems.append("the stored object's own metadata names another SHA-256")
    problems += _manifest_problems(clip, manifest_bytes, found)
    problems += _ledger_problems(ledger, found)
    return ClipCheck(clip.id, not problems, "; ".join(problems) or None)


def _manifest_problems(clip: Clip, body: bytes | None, found: Digest) -> list[str]:
    if body is None:
        return ["the clip has no manifest"]
    problems = []
    if clip.manifest_sha256 and hashlib.sha256(body).hexdigest() != clip.manifest_sha256:
        problems.append("the stored manifest differs from the SHA-256 recorded for it")
    try:
        recorded = json.loads(body)["object"]
    except (ValueError, KeyError, TypeError):
        return problems + ["the stored manifest is unreadable"]
    if (recorded.get("sha256"), recorded.get("sha512"), recorded.get("size_bytes")) != (found.sha256, found.sha512,
                                                                                        found.size):
        problems.append(f"the manifest records sha256 {str(recorded.get('sha256'))[:16]}…, not the stored object's")
    return problems


def _ledger_problems(ledger: list[CustodyEvent], found: Digest) -> list[str]:
    problems = []
    seen = set()
    for event in ledger:
        fields = _LEDGER_FIELDS.get(event.event_type)
        if fields is None:
            continue
        seen.add(event.event_type)
        details = event.details or {}
        for key, attribute in fields.items():
            if key in details and details[key] != getattr(found, attribute):
                problems.append(f"the ledger's {event.event_type} event {event.seq} records {key} "
                                f"{str(details[key])[:16]}…, not the stored object's")
    missing = sorted(set(_LEDGER_FIELDS) - seen)
    if missing:
        problems.append(f"the ledger has no {'/'.join(missing)} event for this clip")
    return problems


def verify_all_clips(session: Session, store: ClipStore) -> list[ClipCheck]:
    archived = select(Clip).where(Clip.status.in_((ClipStatus.archived, ClipStatus.partial))).order_by(Clip.id)
    events = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type.in_(tuple(_LEDGER_FIELDS)))
                             .order_by(CustodyEvent.seq))
    by_clip: dict[int, list[CustodyEvent]] = {}
    for event in events:
        if event.clip is not None:
            by_clip.setdefault(event.clip, []).append(event)
    return [cross_check_clip(store, clip, by_clip.get(clip.id, [])) for clip in session.scalars(archived)]
