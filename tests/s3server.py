"""moto's standalone S3 server, over TLS (a certificate made here by a throw-away CA that the
client trusts) or plain HTTP, for tests and benches.

S3 requires ``Content-MD5`` (or a checksum) on PUTs into an object-lock bucket; minio-py sends it
only over HTTPS, so the store's client (:class:`storage.clipstore.minio_store.LockSafeMinio`) adds
it itself — the HTTP server proves that it does. ``stop()``/``start()`` on the same port simulate the S3 server going away;
moto keeps its state in memory, so a restarted server is empty.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from storage.clipstore.minio_store import MinioClipStore, http_client

HOST = "127.0.0.1"
START_TIMEOUT_S = 20.0  # moto imports a lot of botocore on start
STOP_TIMEOUT_S = 5.0
ACCESS_KEY, SECRET_KEY = "testing", "testing-secret"


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, cert.pem, key.pem): a CA and a server certificate for 127.0.0.1."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "camera-ops test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self, directory: Path, *, tls: bool = True) -> None:
        self.ca, self.cert, self.key = make_tls_files(directory)
        self.tls = tls
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> None:
        exe = shutil.which("moto_server")
        if exe is None:
            pytest.skip("moto_server is not installed (pip install 'moto[server]')")
        tls = ["-c", str(self.cert), "-k", str(self.key)] if self.tls else []
        self._process = subprocess.Popen(
            [exe, "-H", HOST, "-p", str(self.port), *tls],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        context = ssl.create_default_context(cafile=str(self.ca))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as raw:
                    if not self.tls:
                        return
                    with context.wrap_socket(raw, server_hostname=HOST):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT_S)
            self._process = None

    def settings_overrides(self, bucket: str) -> dict[str, object]:
        return {"clip_store": "minio", "minio_endpoint": self.endpoint, "minio_access_key": ACCESS_KEY,
                "minio_secret_key": SECRET_KEY, "minio_secure": self.tls, "minio_ca_file": self.ca if self.tls else None,
                "minio_bucket": bucket}

    def store(self, bucket: str | None = None, *, retention_days: int = 1) -> MinioClipStore:
        from storage.clipstore.minio_store import LockSafeMinio

        client = LockSafeMinio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=self.tls,
                       region="us-east-1", http_client=http_client(str(self.ca)))
        return MinioClipStore(client, bucket or new_bucket_name(), retention_days=retention_days)


def new_bucket_name() -> str:
    return f"evidence-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto TLS server for the test session; use a fresh bucket per test."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto server over plain HTTP (``CAMERA_OPS_MINIO_SECURE=false``, as the env example ships)."""
    server = S3Server(tmp_path_factory.mktemp("s3http"), tls=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_s3_server(tmp_path: Path) -> Iterator[S3Server]:
    """A server this test may stop and restart."""
    server = S3Server(tmp_path)
    server.start()
    yield server
    server.stop()
