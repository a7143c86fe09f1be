"""The clip store interface shared by the MinIO and local-directory stores.

Rules every store keeps:

* **Never overwrite.** ``put`` refuses a key that already holds an object (``Conflict``); the
  archiver checks ``stat`` first, so one clip is one object even across crashes and retries.
* **Metadata is US-ASCII.** Vietnamese text stays in the database and the manifest object.
* **Errors are ours.** Network and server failures become ``StorageUnavailable``; the caller
  retries later. A missing object is ``None`` from ``stat`` and ``NotFound`` from ``read``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from camera_ops.errors import ValidationFailed
from camera_ops.settings import Settings

READ_CHUNK_BYTES = 256 * 1024  # big enough for throughput, small enough to stream a range


@dataclass(frozen=True)
class ObjectLock:
    """Retention for one object: locked until ``retain_until``; a legal hold has no end date."""

    retain_until: datetime
    mode: str = "GOVERNANCE"  # or "COMPLIANCE"
    legal_hold: bool = False


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    version_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)  # user metadata, lower-case keys
    lock: dict[str, str] = field(default_factory=dict)  # mode / retain_until / legal_hold as stored


class ClipStore(Protocol):
    name: str

    def ensure_ready(self) -> None:
        """Create the bucket/directory with its lock configuration if missing."""

    def stat(self, key: str, version_id: str | None = None) -> StoredObject | None: ...

    def put(
        self, key: str, source: BinaryIO, *, length: int | None, content_type: str,
        metadata: dict[str, str], lock: ObjectLock | None,
    ) -> StoredObject:
        """Store ``source`` under ``key`` (``length`` None: unknown, multipart)."""

    def read(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[bytes]:
        """The object's bytes (or a range) in chunks; the generator closes its connection."""

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def presigned_url(self, key: str, version_id: str | None, expires_s: int) -> str | None:
        """A short-lived direct link, or None when this store cannot make one (local)."""


def check_metadata(metadata: dict[str, str]) -> dict[str, str]:
    for name, value in metadata.items():
        if not (name.isascii() and value.isascii()):
            raise ValidationFailed(
                f"object metadata {name!r} is not US-ASCII; keep Vietnamese text in the manifest", field=name
            )
    return metadata


def clip_store_for(settings: Settings) -> ClipStore:
    """The store the settings name (``clip_store = local | minio``)."""
    if settings.clip_store == "minio":
        from storage.clipstore.minio_store import MinioClipStore

        return MinioClipStore.from_settings(settings)
    from storage.clipstore.local import LocalClipStore

    return LocalClipStore(settings.clip_dir or settings.data_dir / "clips")
