"""Clip stores: where archived footage lives. One interface (:class:`ClipStore`), two places:
a MinIO bucket with object lock (production) and a local directory (embedded default)."""

from storage.clipstore.base import ClipStore, ObjectLock, StoredObject, clip_store_for

__all__ = ["ClipStore", "ObjectLock", "StoredObject", "clip_store_for"]
