"""The embedded default: clips as read-only files under one directory.

A put writes to a temporary file, fsyncs it and hard-links it into place — ``link`` fails if the
name exists, so a key is written at most once, atomically. Files and their ``.meta.json`` sidecars
are made read-only (mode 0444). A directory cannot enforce retention against its owner; that is
what the MinIO store is for. Integrity is re-verified from the bytes (``camera-ops custody verify``).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from camera_ops import faults
from camera_ops.errors import Conflict, NotFound, StorageUnavailable, ValidationFailed
from storage.clipstore.base import READ_CHUNK_BYTES, ObjectLock, StoredObject, check_metadata

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
SIDECAR_SUFFIX = ".meta.json"


class LocalClipStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def ensure_ready(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"clip directory {self.root} cannot be created: {exc.strerror}") from exc

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or ".." in parts or key.endswith(SIDECAR_SUFFIX):
            raise ValidationFailed(f"bad object key {key!r}", field="key")
        return self.root.joinpath(*parts)

    def path_of(self, key: str) -> Path:
        """The file holding ``key`` (tests, and tools that verify by hand)."""
        return self._path(key)

    def stat(self, key: str, version_id: str | None = None) -> StoredObject | None:
        """The object; a missing, empty or unreadable sidecar (a put killed between linking the
        file and writing it) gives empty metadata and lock: the object is there, its sidecar is
        not, and :meth:`repair_sidecar` completes it."""
        path = self._path(key)
        if not path.exists():
            return None
        side = _read_sidecar(path)
        return StoredObject(key, path.stat().st_size, None, side.get("metadata", {}), side.get("lock", {}))

    def repair_sidecar(self, key: str, *, content_type: str, metadata: dict[str, str], lock: ObjectLock | None) -> bool:
        """Write the sidecar of an object whose put was cut short; False when it was complete."""
        path = self._path(key)
        if not path.exists() or _read_sidecar(path).get("lock"):
            return False
        self._write_sidecar(path, {"content_type": content_type, "metadata": {k.lower(): v for k, v in
                                                                             check_metadata(metadata).items()},
                                   "lock": _lock_dict(lock)})
        return True

    def put(
        self, key: str, source: BinaryIO, *, length: int | None, content_type: str,
        metadata: dict[str, str], lock: ObjectLock | None,
    ) -> StoredObject:
        check_metadata(metadata)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise Conflict(f"object {key} already exists; clips are never overwritten")
        size = self._write_new(path, source)
        sidecar = {"content_type": content_type, "metadata": {k.lower(): v for k, v in metadata.items()},
                   "lock": _lock_dict(lock)}
        self._write_sidecar(path, sidecar)
        if length is not None and size != length:
            raise StorageUnavailable(f"wrote {size} bytes of {key}, expected {length}")
        return StoredObject(key, size, None, sidecar["metadata"], sidecar["lock"])

    def _write_new(self, path: Path, source: BinaryIO) -> int:
        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=path.parent)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(READ_CHUNK_BYTES):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, READ_ONLY)
            try:
                os.link(tmp, path)  # atomic, and refuses an existing name
            except FileExistsError as exc:
                raise Conflict(f"object {path.name} already exists; clips are never overwritten") from exc
        finally:
            os.unlink(tmp)
        faults.reached("after_object")
        return size

    @staticmethod
    def _write_sidecar(path: Path, sidecar: dict[str, object]) -> None:
        """Atomically (temporary file + rename): a crash leaves the old sidecar or the new one, never
        a half-written (or 0-byte) one."""
        side = path.with_name(path.name + SIDECAR_SUFFIX)
        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(sidecar, sort_keys=True))
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, READ_ONLY)
            os.replace(tmp, side)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def read(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"object {key} is not in the clip store") from exc
        return _chunks(handle, offset, length)

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None:
        path = self._path(key)
        found = self.stat(key)
        if found is None:
            raise NotFound(f"object {key} is not in the clip store")
        side = _read_sidecar(path)
        side.setdefault("lock", {})["legal_hold"] = "ON" if on else "OFF"
        self._write_sidecar(path, side)

    def list_keys(self, prefix: str) -> list[str]:
        base = self.root
        if not base.exists():
            return []
        keys = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.endswith(SIDECAR_SUFFIX) and not path.name.startswith(".partial-"):
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def presigned_url(self, key: str, version_id: str | None, expires_s: int) -> str | None:
        return None


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        side = json.loads(path.with_name(path.name + SIDECAR_SUFFIX).read_text("utf-8"))
    except (FileNotFoundError, ValueError):  # never written, or cut short (0 bytes) by a crash
        return {}
    return side if isinstance(side, dict) else {}


def _chunks(handle: BinaryIO, offset: int, length: int | None) -> Iterator[bytes]:
    with handle:
        handle.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            want = READ_CHUNK_BYTES if remaining is None else min(READ_CHUNK_BYTES, remaining)
            chunk = handle.read(want)
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def _lock_dict(lock: ObjectLock | None) -> dict[str, str]:
    if lock is None:
        return {}
    return {"mode": lock.mode, "retain_until": lock.retain_until.isoformat(), "legal_hold": "ON" if lock.legal_hold else "OFF"}
