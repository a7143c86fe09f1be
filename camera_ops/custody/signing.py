"""The service's Ed25519 signing key: checkpoints and evidence packages are signed with it.

The key lives in files, never in the database (whoever runs the database must not be able to sign):

* ``<signing_key_dir>/custody-signing.pem`` — the current private key, PKCS#8 PEM, mode 0600;
  created on first start (atomically: two processes starting at once end up with one key).
* ``<signing_key_dir>/public/<key_id>.pem`` — the public key of every key ever used, so that
  checkpoints and packages signed before a rotation still verify.

A key is named by its **fingerprint**: SHA-256 of the public key's DER SubjectPublicKeyInfo, in
hex — what ``openssl pkey -pubin -in key.pem -outform DER | openssl dgst -sha256`` prints. Its
``key_id`` is the first 16 hex digits. Several nodes (API replicas, workers) must share the same
directory (a mounted secret); see README "Signing key".
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from camera_ops.errors import ConfigurationError, IntegrityError
from camera_ops.settings import Settings

PRIVATE_NAME = "custody-signing.pem"
PUBLIC_DIR = "public"
KEY_ID_HEX = 16  # 64 bits: enough to name a key among a handful, not a security parameter
PRIVATE_MODE = stat.S_IRUSR | stat.S_IWUSR  # 0600: the service's user only


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    fingerprint: str
    pem: bytes
    current: bool = False

    def verify(self, signature: bytes, data: bytes) -> bool:
        key = serialization.load_pem_public_key(self.pem)
        assert isinstance(key, Ed25519PublicKey)
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def describe(key: Ed25519PublicKey, *, current: bool = False) -> PublicKey:
    fpr = fingerprint(key)
    return PublicKey(fpr[:KEY_ID_HEX], fpr, public_pem(key), current)


class Keyring:
    """The current signing key and every public key that may have signed something."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        return cls(settings.signing_key_dir or settings.data_dir / "keys")

    # --- the private key ------------------------------------------------------------------------

    def private_key(self) -> Ed25519PrivateKey:
        """The current key, created when there is none yet."""
        path = self.directory / PRIVATE_NAME
        if not path.exists():
            self._create(path, Ed25519PrivateKey.generate(), replace=False)
        return self._load(path)

    def _load(self, path: Path) -> Ed25519PrivateKey:
        mode = path.stat().st_mode & 0o077
        if mode:
            raise ConfigurationError(f"signing key {path} is readable by others (mode {oct(path.stat().st_mode & 0o777)}); "
                                     "chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} is not an Ed25519 private key")
        self._publish(key.public_key())
        return key

    def _create(self, path: Path, key: Ed25519PrivateKey, *, replace: bool) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, stat.S_IRWXU)
        except OSError as exc:
            raise ConfigurationError(f"signing key directory {self.directory} cannot be created: {exc.strerror}") from exc
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        self._publish(key.public_key())  # the public key is on file before anything is signed
        fd, tmp = tempfile.mkstemp(prefix=".key-", dir=self.directory)
        try:
            os.fchmod(fd, PRIVATE_MODE)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            if replace:
                os.replace(tmp, path)
            else:
                try:
                    os.link(tmp, path)  # refuses an existing name: another process created it first
                except FileExistsError:
                    pass
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _publish(self, key: Ed25519PublicKey) -> None:
        described = describe(key)
        folder = self.directory / PUBLIC_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{described.key_id}.pem"
        if not target.exists():
            tmp = folder / f".{described.key_id}.tmp{os.getpid()}"
            tmp.write_bytes(described.pem)
            os.replace(tmp, target)

    def rotate(self) -> PublicKey:
        """A new current key; the old one's public key stays on file (old signatures still verify)."""
        old = self.private_key()
        new = Ed25519PrivateKey.generate()
        self._create(self.directory / PRIVATE_NAME, new, replace=True)
        assert fingerprint(old.public_key()) != fingerprint(new.public_key())
        return describe(new.public_key(), current=True)

    # --- signing and checking ------------------------------------------------------------------

    def current(self) -> PublicKey:
        return describe(self.private_key().public_key(), current=True)

    def sign(self, data: bytes) -> tuple[str, bytes]:
        """(key_id, signature) of ``data`` with the current key."""
        key = self.private_key()
        return describe(key.public_key()).key_id, key.sign(data)

    def public_keys(self) -> list[PublicKey]:
        """Every known public key, the current one first."""
        current = self.current()
        found = {current.key_id: current}
        for path in sorted((self.directory / PUBLIC_DIR).glob("*.pem")):
            key = serialization.load_pem_public_key(path.read_bytes())
            if isinstance(key, Ed25519PublicKey):
                described = describe(key)
                found.setdefault(described.key_id, described)
        return list(found.values())

    def public_key(self, key_id: str) -> PublicKey | None:
        path = self.directory / PUBLIC_DIR / f"{key_id}.pem"
        if not path.exists() or not key_id.isalnum():
            return None
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            return None
        described = describe(key)
        return described if described.key_id == key_id else None

    def verify(self, key_id: str, signature: bytes, data: bytes, *, what: str) -> PublicKey:
        """The key that signed ``data``; ``IntegrityError`` naming ``what`` when none did."""
        key = self.public_key(key_id)
        if key is None:
            raise IntegrityError(f"{what} is signed by key {key_id}, which is not one of ours")
        if not key.verify(signature, data):
            raise IntegrityError(f"{what}: the signature does not verify with key {key_id} (changed after signing, "
                                 "or signed by another key)")
        return key


def current_fingerprint(settings: Settings) -> str | None:
    """The signing key's fingerprint for a page; None (and the page still shows) when the key
    cannot be read — the checkpoint writer reports that as an error."""
    try:
        return Keyring.from_settings(settings).current().fingerprint
    except (ConfigurationError, OSError, ValueError):
        return None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
