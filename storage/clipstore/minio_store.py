"""Clips in a MinIO (S3) bucket with object lock, through the ``minio`` SDK.

* The bucket is created with object lock (only possible at creation; versioning comes with it)
  and a default GOVERNANCE retention of ``retention_days``.
* Every clip and manifest gets its own retention (mode from settings) and, per case, a legal hold.
* Unknown-length streams go up as multipart with ``PART_SIZE`` parts: big enough for MinIO to be
  fast, small enough to keep memory low (one part buffered; uploads are not parallel).
* Lock state is read from ``stat_object`` headers (moto's ``get_object_retention`` answer cannot
  be parsed; the headers work on MinIO too).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, BinaryIO

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import MinioException, S3Error
from minio.helpers import md5sum_hash
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.retention import Retention

from camera_ops.errors import ConfigurationError, Conflict, NotFound, StorageUnavailable
from camera_ops.settings import Settings
from storage.clipstore.base import READ_CHUNK_BYTES, ObjectLock, StoredObject, check_metadata

MiB = 1024 * 1024
PART_SIZE = 16 * MiB  # S3 parts are 5 MiB..5 GiB; 16 MiB x 10,000 parts = 156 GiB per object
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0  # a part upload or a read may wait on a busy disk; not forever
HTTP_RETRIES = 2  # quick retries of a broken request; the archive job retries with backoff after
_MISSING = ("NoSuchKey", "NoSuchVersion", "NoSuchObject")
_NETWORK_ERRORS = (urllib3.exceptions.HTTPError, OSError)
_META_PREFIX = "x-amz-meta-"
_LOCK_HEADERS = {
    "x-amz-object-lock-mode": "mode",
    "x-amz-object-lock-retain-until-date": "retain_until",
    "x-amz-object-lock-legal-hold": "legal_hold",
}


class LockSafeMinio(Minio):
    """S3 requires an integrity header (Content-MD5 or an x-amz-checksum) on every PUT into an
    object-lock bucket (AWS, MinIO, moto: ``MissingUploadObjectWithObjectLockHeaders``). minio-py
    7.2 adds Content-MD5 only over TLS (``Minio._build_headers``: over plain HTTP it signs the
    payload's SHA-256 instead), so every locked upload over HTTP is refused. Here each object or
    part PUT carries its Content-MD5 over either transport (minio then does not add a second)."""

    def _put_object(self, bucket_name: str, object_name: str, data: bytes, headers: Any = None,
                    query_params: Any = None) -> Any:
        headers = dict(headers or {})
        headers["Content-MD5"] = md5sum_hash(data)
        return super()._put_object(bucket_name, object_name, data, headers, query_params)


def http_client(ca_file: str | None) -> urllib3.PoolManager:
    """Every request has a deadline; TLS trusts ``ca_file`` when given (a private CA)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S),
        retries=urllib3.Retry(total=HTTP_RETRIES, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_file,
    )


class MinioClipStore:
    name = "minio"

    def __init__(self, client: Minio, bucket: str, *, retention_days: int) -> None:
        self.client = client
        self.bucket = bucket
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> MinioClipStore:
        ca = str(settings.minio_ca_file) if settings.minio_ca_file else None
        client = LockSafeMinio(
            settings.minio_endpoint, access_key=settings.minio_access_key, secret_key=settings.minio_secret_key,
            secure=settings.minio_secure, region=settings.minio_region, http_client=http_client(ca),
        )
        return cls(client, settings.minio_bucket, retention_days=settings.retention_days)

    def ensure_ready(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=True)
                self.client.set_object_lock_config(
                    self.bucket, ObjectLockConfig(GOVERNANCE, self.retention_days, DAYS)
                )
                return
            config = self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code == "ObjectLockConfigurationNotFoundError":
                raise ConfigurationError(
                    f"bucket {self.bucket} has no object lock; evidence needs a bucket created with it"
                ) from exc
            raise StorageUnavailable(f"S3 refused: {exc.code}") from exc
        except _NETWORK_ERRORS as exc:
            raise StorageUnavailable(f"S3 server unreachable: {type(exc).__name__}") from exc
        if config.mode is None:
            raise ConfigurationError(f"bucket {self.bucket} has object lock but no default retention")

    def stat(self, key: str, version_id: str | None = None) -> StoredObject | None:
        try:
            found = self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise StorageUnavailable(f"S3 refused stat of {key}: {exc.code}") from exc
        except (MinioException, *_NETWORK_ERRORS) as exc:
            raise StorageUnavailable(f"S3 server unreachable: {type(exc).__name__}") from exc
        headers = {k.lower(): v for k, v in (found.metadata or {}).items()}
        metadata = {k[len(_META_PREFIX):]: v for k, v in headers.items() if k.startswith(_META_PREFIX)}
        lock = {name: headers[h] for h, name in _LOCK_HEADERS.items() if h in headers}
        return StoredObject(key, int(found.size or 0), found.version_id, metadata, lock)

    def put(
        self, key: str, source: BinaryIO, *, length: int | None, content_type: str,
        metadata: dict[str, str], lock: ObjectLock | None,
    ) -> StoredObject:
        check_metadata(metadata)
        if self.stat(key) is not None:
            raise Conflict(f"object {key} already exists; clips are never overwritten")
        retention = None
        if lock is not None:
            mode = COMPLIANCE if lock.mode.upper() == "COMPLIANCE" else GOVERNANCE
            retention = Retention(mode, lock.retain_until)
        try:
            result = self.client.put_object(
                self.bucket, key, source, length if length is not None else -1,
                content_type=content_type, metadata=dict(metadata), part_size=PART_SIZE,
                num_parallel_uploads=1, retention=retention, legal_hold=bool(lock and lock.legal_hold),
            )
        except S3Error as exc:
            raise StorageUnavailable(f"S3 refused upload of {key}: {exc.code}") from exc
        except (MinioException, *_NETWORK_ERRORS) as exc:
            raise StorageUnavailable(f"S3 upload of {key} broke off: {type(exc).__name__}") from exc
        stored = self.stat(key, result.version_id)
        if stored is None:
            raise StorageUnavailable(f"S3 accepted {key} but does not have it")
        return stored

    def read(
        self, key: str, *, version_id: str | None = None, offset: int = 0, length: int | None = None
    ) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, key, offset=offset, length=length or 0, version_id=version_id)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise NotFound(f"object {key} is not in the bucket") from exc
            raise StorageUnavailable(f"S3 refused read of {key}: {exc.code}") from exc
        except (MinioException, *_NETWORK_ERRORS) as exc:
            raise StorageUnavailable(f"S3 server unreachable: {type(exc).__name__}") from exc
        return _stream(response, key)

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None:
        call = self.client.enable_object_legal_hold if on else self.client.disable_object_legal_hold
        try:
            call(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise StorageUnavailable(f"S3 refused legal hold on {key}: {exc.code}") from exc
        except (MinioException, *_NETWORK_ERRORS) as exc:
            raise StorageUnavailable(f"S3 server unreachable: {type(exc).__name__}") from exc

    def list_keys(self, prefix: str) -> list[str]:
        try:
            return sorted(o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True))
        except S3Error as exc:
            raise StorageUnavailable(f"S3 refused listing {prefix}: {exc.code}") from exc
        except (MinioException, *_NETWORK_ERRORS) as exc:
            raise StorageUnavailable(f"S3 server unreachable: {type(exc).__name__}") from exc

    def presigned_url(self, key: str, version_id: str | None, expires_s: int) -> str | None:
        return self.client.presigned_get_object(
            self.bucket, key, expires=timedelta(seconds=expires_s), version_id=version_id
        )


def _stream(response: Any, key: str) -> Iterator[bytes]:
    try:
        yield from response.stream(READ_CHUNK_BYTES)
    except _NETWORK_ERRORS as exc:
        raise StorageUnavailable(f"S3 read of {key} broke off: {type(exc).__name__}") from exc
    finally:
        response.close()
        response.release_conn()
