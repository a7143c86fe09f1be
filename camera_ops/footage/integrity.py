"""Re-hash stored clips from the store's own bytes: after upload, and whenever asked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from camera_ops.errors import IntegrityError, NotFound, StorageError
from storage.clipstore.base import ClipStore
from storage.models_evidence import Clip, ClipStatus


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


def verify_all_clips(session: Session, store: ClipStore) -> list[ClipCheck]:
    archived = select(Clip).where(Clip.status.in_((ClipStatus.archived, ClipStatus.partial))).order_by(Clip.id)
    return [verify_clip(store, clip) for clip in session.scalars(archived)]
