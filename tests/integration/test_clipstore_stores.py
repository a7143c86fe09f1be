"""Both clip stores behind one interface: never overwrite, ASCII metadata, ranges; the MinIO
store against moto's S3 server over TLS and over plain HTTP: object-lock bucket, retention, legal
hold, multipart — locked uploads work over both (issue 11: Content-MD5 over HTTP)."""

from __future__ import annotations

import io
import os
from datetime import datetime, timedelta, timezone

import pytest
from minio.error import S3Error

from camera_ops.errors import Conflict, ValidationFailed
from storage.clipstore.base import ObjectLock
from storage.clipstore.local import LocalClipStore
from storage.clipstore.minio_store import PART_SIZE, MinioClipStore
from tests.s3server import S3Server, s3_http_server, s3_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.s3
LOCK = ObjectLock(datetime.now(timezone.utc) + timedelta(days=1), "GOVERNANCE", legal_hold=True)


@pytest.fixture(params=["local", "minio", "minio-http"])
def store(request, tmp_path, s3_server: S3Server, s3_http_server: S3Server):
    if request.param == "local":
        store = LocalClipStore(tmp_path / "clips")
    elif request.param == "minio":
        store = s3_server.store()
    else:
        store = s3_http_server.store()
    store.ensure_ready()
    return store


def put(store, key: str, data: bytes, *, length: int | None = -2, metadata=None):
    return store.put(key, io.BytesIO(data), length=len(data) if length == -2 else length, content_type="video/mp4",
                     metadata=metadata or {"sha256": "x"}, lock=LOCK)


def test_a_key_is_written_once_and_never_overwritten(store):
    first = put(store, "cases/1/clip-1/a.mp4", b"camera bytes")
    with pytest.raises(Conflict):
        put(store, "cases/1/clip-1/a.mp4", b"other bytes")
    assert b"".join(store.read("cases/1/clip-1/a.mp4")) == b"camera bytes"
    assert store.stat("cases/1/clip-1/a.mp4").version_id == first.version_id


def test_ranges_read_exactly_the_bytes_asked_for(store):
    put(store, "k/r.mp4", bytes(range(256)) * 4)
    assert b"".join(store.read("k/r.mp4", offset=10, length=5)) == bytes([10, 11, 12, 13, 14])
    assert store.stat("k/r.mp4").size == 1024


def test_non_ascii_metadata_is_refused(store):
    with pytest.raises(ValidationFailed):
        put(store, "k/v.mp4", b"x", metadata={"title": "Trộm cắp"})


def test_unknown_length_stream_is_stored(store):
    data = os.urandom(300_000)
    assert put(store, "k/u.mp4", data, length=None).size == len(data)
    assert b"".join(store.read("k/u.mp4")) == data


def test_minio_bucket_has_object_lock_and_objects_carry_retention_and_hold(s3_server: S3Server):
    store: MinioClipStore = s3_server.store(retention_days=7)
    store.ensure_ready()
    config = store.client.get_object_lock_config(store.bucket)
    assert config.mode == "GOVERNANCE" and config.duration == 7 and config.duration_unit.upper() == "DAYS"
    stored = put(store, "cases/9/clip-9/x.mp4", b"evidence")
    assert stored.version_id and stored.lock["mode"] == "GOVERNANCE" and stored.lock["legal_hold"] == "ON"
    with pytest.raises(S3Error) as refused:
        store.client.remove_object(store.bucket, "cases/9/clip-9/x.mp4", version_id=stored.version_id)
    assert refused.value.code == "AccessDenied"
    store.set_legal_hold("cases/9/clip-9/x.mp4", stored.version_id, False)
    assert store.stat("cases/9/clip-9/x.mp4").lock["legal_hold"] == "OFF"


def test_local_store_files_are_read_only(tmp_path):
    store = LocalClipStore(tmp_path)
    put(store, "a/b.mp4", b"x")
    assert store.path_of("a/b.mp4").stat().st_mode & 0o222 == 0
    with pytest.raises(ValidationFailed):
        store.path_of("../etc/passwd")


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "http"])
def test_locked_multipart_upload_works_over_tls_and_plain_http(tls, s3_server: S3Server, s3_http_server: S3Server):
    server = s3_server if tls else s3_http_server
    store: MinioClipStore = server.store()
    store.ensure_ready()
    data = os.urandom(PART_SIZE + 1234)  # two parts, unknown length

    stored = put(store, "cases/1/clip-2/big.mp4", data, length=None)

    # (moto does not carry lock headers from CreateMultipartUpload to the completed object; MinIO does)
    assert stored.size == len(data) and stored.version_id
    assert b"".join(store.read("cases/1/clip-2/big.mp4")) == data


def test_the_sdk_alone_is_refused_over_http_which_is_why_the_store_adds_content_md5(s3_http_server: S3Server):
    from minio import Minio
    from minio.retention import Retention

    store = s3_http_server.store()
    store.ensure_ready()
    plain = Minio(s3_http_server.endpoint, access_key="testing", secret_key="testing-secret", secure=False)
    with pytest.raises(S3Error) as refused:
        plain.put_object(store.bucket, "k/x.mp4", io.BytesIO(b"x"), 1, retention=Retention("GOVERNANCE", LOCK.retain_until))
    assert refused.value.code == "MissingUploadObjectWithObjectLockHeaders"
