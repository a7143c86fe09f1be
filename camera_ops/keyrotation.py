"""Rotating the credentials key (``camera-ops keys rotate``).

Production: set ``CAMERA_OPS_CREDENTIALS_KEY=NEW,OLD`` (the new key first: it encrypts, both
decrypt), run ``camera-ops keys rotate`` — every stored camera password is re-encrypted with NEW,
in batches, each committed — then set ``CAMERA_OPS_CREDENTIALS_KEY=NEW``: the old key is no longer
needed. Running it again is harmless (rows already under NEW are skipped); stopping half-way
leaves every row readable with ``NEW,OLD``.

Development (no key configured): the generated key in ``data_dir/secrets`` is replaced the same
way, in three steps written to that file.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from camera_ops import audit
from camera_ops.errors import ConfigurationError
from camera_ops.security import encrypted_with_newest, reencrypt_secret
from camera_ops.settings import Settings, dev_secret_path, forget_dev_secrets, is_placeholder
from storage.db import session_scope
from storage.models import Camera

BATCH_ROWS = 500  # re-encrypted and committed together (a SQLite write lock held briefly)


@dataclass(frozen=True)
class RotationReport:
    cameras: int
    reencrypted: int
    old_key_needed: bool  # False: every ciphertext is under the newest key; drop the others


def reencrypt_all(engine: Engine, settings: Settings, *, batch_rows: int = BATCH_ROWS) -> RotationReport:
    """Re-encrypt every camera password with the newest key; ConfigurationError if one cannot be read."""
    last_id, seen, changed = 0, 0, 0
    while True:
        with session_scope(engine) as session:
            rows = list(session.scalars(
                select(Camera).where(Camera.id > last_id).order_by(Camera.id).limit(batch_rows)))
            for camera in rows:
                if not encrypted_with_newest(camera.password_encrypted, settings):
                    camera.password_encrypted = reencrypt_secret(camera.password_encrypted, settings)
                    changed += 1
            seen += len(rows)
            if rows:
                last_id = rows[-1].id
        if len(rows) < batch_rows:
            break
    remaining = count_under_old_keys(engine, settings)
    with session_scope(engine) as session:
        audit.record(session, None, "keys.rotate", target_type="credentials_key",
                     message=f"{changed} of {seen} camera passwords re-encrypted")
    return RotationReport(cameras=seen, reencrypted=changed, old_key_needed=remaining > 0)


def count_under_old_keys(engine: Engine, settings: Settings) -> int:
    with session_scope(engine, write=False) as session:
        tokens = session.scalars(select(Camera.password_encrypted))
        return sum(1 for token in tokens if not encrypted_with_newest(token, settings))


def uses_generated_key(settings: Settings) -> bool:
    return settings.environment == "development" and is_placeholder(settings.credentials_key)


def rotate_generated_key(engine: Engine, settings: Settings) -> RotationReport:
    """Development: a new generated key, the old one accepted while re-encrypting, then dropped."""
    if not uses_generated_key(settings):
        raise ConfigurationError("CAMERA_OPS_CREDENTIALS_KEY is configured: put the new key first in it instead")
    path = dev_secret_path(settings.data_dir, "credentials_key")
    old = settings.fernet_keys  # creates the file when there was none
    new = Fernet.generate_key()
    _write(path, b",".join([new, *old]).decode())
    report = reencrypt_all(engine, settings)
    if report.old_key_needed:
        raise ConfigurationError("some camera passwords are still under the old key; it was kept")
    _write(path, new.decode())
    return report


def _write(path, value: str) -> None:  # type: ignore[no-untyped-def]
    tmp = path.with_suffix(".new")
    tmp.write_text(value + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    forget_dev_secrets()
