"""Anchoring, tried as an attacker with write access to the database would (issue 11): every
rewrite is caught by `camera-ops custody verify` against the signed checkpoints in the store —
with a message that names the first changed event — and the command exits non-zero."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from camera_ops.custody.anchor import CheckpointKeeper, anchor_health, verify_anchored
from camera_ops.custody.chain import link
from camera_ops.custody.checkpoint import CHECKPOINT_PREFIX, checkpoint_key, write_checkpoint
from camera_ops.custody.ledger import SYSTEM, Actor, EventType, append_now
from camera_ops.custody.signing import Keyring, b64, describe
from storage.clipstore.local import SIDECAR_SUFFIX, LocalClipStore
from storage.models_evidence import CustodyCheckpoint, CustodyEvent
from storage.types import utcnow
from tests.s3server import s3_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


@pytest.fixture
def store(settings) -> LocalClipStore:
    store = LocalClipStore(settings.data_dir / "clips")
    store.ensure_ready()
    return store


@pytest.fixture
def keyring(settings) -> Keyring:
    return Keyring.from_settings(settings)


def fill(engine, count: int, *, denied_at: set[int] = frozenset()) -> None:
    for i in range(1, count + 1):
        kind = EventType.access_denied if i in denied_at else EventType.requested
        append_now(engine, kind, Actor("cán bộ", "officer", "10.0.0.9") if i in denied_at else SYSTEM,
                   case_id=1, clip_id=i, purpose="thử", details={"i": i})


def checkpoint(session: Session, store, settings, keyring):
    written = write_checkpoint(session, store, settings, keyring)
    session.commit()
    return written


def cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"CAMERA_OPS_DATABASE_URL": settings.database_url, "CAMERA_OPS_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "camera_ops.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=settings.data_dir.parent)


def rehash_from(session: Session, seq: int) -> None:
    """Recompute every hash from ``seq`` on and move the head: the chain alone verifies again."""
    rows = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
    prev = rows[seq - 2].hash if seq > 1 else "0" * 64
    for row in rows[seq - 1:]:
        row.prev_hash = prev
        row.hash = prev = link(prev, row)
    session.flush()
    session.execute(text("UPDATE custody_head SET seq = :s, hash = :h"), {"s": rows[-1].seq, "h": prev})
    session.commit()


def assert_broken(settings, seq: int, words: str) -> None:
    result = cli(settings, "custody", "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert f"BROKEN at event {seq}" in out and words in out, out


def test_an_intact_anchored_ledger_verifies(engine, session, store, settings, keyring):
    fill(engine, 5)
    checkpoint(session, store, settings, keyring)
    fill(engine, 2)
    checkpoint(session, store, settings, keyring)

    report = verify_anchored(session, store, settings, keyring)
    result = cli(settings, "custody", "verify")

    assert report.ok and report.checkpoints == 2 and report.unanchored == 0, report
    assert result.returncode == 0 and "ledger OK" in result.stdout and "2 checkpoint(s)" in result.stdout


def test_edit_and_rehash_names_the_edited_event_not_the_checkpoint(engine, session, store, settings, keyring):
    fill(engine, 10)
    checkpoint(session, store, settings, keyring)
    session.execute(update(CustodyEvent).where(CustodyEvent.seq == 4).values(purpose="sửa lén"))
    rehash_from(session, 4)

    assert_broken(settings, 4, "the ledger was rewritten from event 4 on")


def test_an_old_checkpoint_still_catches_a_rewrite_before_it(engine, session, store, settings, keyring):
    fill(engine, 4)
    checkpoint(session, store, settings, keyring)
    fill(engine, 4)
    checkpoint(session, store, settings, keyring)  # the newest one is not the one that catches it
    session.execute(update(CustodyEvent).where(CustodyEvent.seq == 2).values(actor="người khác"))
    rehash_from(session, 2)

    report = verify_anchored(session, store, settings, keyring)

    assert not report.ok and report.first_broken_seq == 2
    assert checkpoint_key(4) in report.reason


def test_tail_truncation_is_named(engine, session, store, settings, keyring):
    fill(engine, 10)
    checkpoint(session, store, settings, keyring)
    session.execute(text("DELETE FROM custody_event WHERE seq > 7"))
    head = session.scalar(select(CustodyEvent.hash).where(CustodyEvent.seq == 7))
    session.execute(text("UPDATE custody_head SET seq = 7, hash = :h"), {"h": head})
    session.commit()

    assert_broken(settings, 8, "event 8 is missing: the chain was truncated")


def test_deleting_denials_and_relinking_is_named(engine, session, store, settings, keyring):
    fill(engine, 10, denied_at={5, 6})
    checkpoint(session, store, settings, keyring)
    session.execute(text("DELETE FROM custody_event WHERE event_type = 'access_denied'"))
    session.execute(text("UPDATE custody_event SET seq = seq - 2 WHERE seq > 6"))
    session.commit()
    rehash_from(session, 5)

    assert_broken(settings, 5, "the ledger was rewritten from event 5 on")


def test_a_checkpoint_deleted_from_the_store_is_named(engine, session, store, settings, keyring):
    fill(engine, 3)
    checkpoint(session, store, settings, keyring)
    path = store.path_of(checkpoint_key(3))
    for victim in (path, path.with_name(path.name + SIDECAR_SUFFIX)):  # what the file's owner can do
        os.chmod(victim, stat.S_IWUSR | stat.S_IRUSR)
        victim.unlink()

    assert_broken(settings, 3, f"checkpoint at event 3 ({checkpoint_key(3)}) is listed in the database but missing "
                               "from the store")


def test_a_deleted_checkpoint_row_is_named(engine, session, store, settings, keyring):
    fill(engine, 3)
    checkpoint(session, store, settings, keyring)
    session.execute(text("DELETE FROM custody_checkpoint"))
    session.commit()

    assert_broken(settings, 3, "is in the store but its database row was deleted")


def test_a_checkpoint_signed_by_another_key_is_refused(engine, session, store, settings, keyring):
    fill(engine, 3)
    written = checkpoint(session, store, settings, keyring)
    forger = Ed25519PrivateKey.generate()
    envelope = {"body": written.body.decode(), "key_id": keyring.current().key_id,
                "signature": b64(forger.sign(written.body))}
    path = store.path_of(written.key)
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    path.write_text(json.dumps(envelope))

    assert_broken(settings, 3, "the signature does not verify with key")
    envelope["key_id"] = describe(forger.public_key()).key_id
    path.write_text(json.dumps(envelope))
    assert_broken(settings, 3, "which is not one of ours")


def test_old_unanchored_events_fail_and_fresh_ones_only_warn(engine, session, store, settings, keyring):
    fill(engine, 2)
    fresh = verify_anchored(session, store, settings, keyring)
    assert fresh.ok and fresh.unanchored == 2 and "no checkpoint at all" in fresh.warning
    long_ago = utcnow() - timedelta(hours=2)
    session.execute(update(CustodyEvent).values(at=long_ago))
    rehash_from(session, 1)

    assert_broken(settings, 1, "2 event(s) after event 0 are not anchored yet (no checkpoint at all")


def test_checkpoints_pin_every_event_and_are_compliance_locked(engine, session, store, settings, keyring):
    fill(engine, 6)
    first = checkpoint(session, store, settings, keyring)
    fill(engine, 3)
    second = checkpoint(session, store, settings, keyring)

    assert (first.from_seq, first.seq, second.from_seq, second.seq) == (1, 6, 7, 9)
    hashes = session.scalars(select(CustodyEvent.hash).order_by(CustodyEvent.seq)).all()
    assert list(first.hashes + second.hashes) == hashes and second.prev_hash == hashes[5]
    assert store.stat(second.key).lock["mode"] == "COMPLIANCE"
    assert keyring.current().verify(second.signature, second.body)


def test_one_process_holds_the_writer_lease(engine, session, store, settings, keyring):
    fill(engine, 2)
    a = CheckpointKeeper(engine, settings, store=store, owner="api:a", keyring=keyring)
    b = CheckpointKeeper(engine, settings, store=store, owner="monitor:b", keyring=keyring)

    assert a.tick(now=0.0) is not None
    fill(engine, 1)
    assert b.tick(now=0.0) is None  # a holds the lease
    assert a.tick(now=settings.custody_checkpoint_interval_s) is not None
    health = anchor_health(session, settings)
    assert health.ok and health.last_seq == 3 and health.lease_owner == "api:a"


def test_a_failed_checkpoint_exits_nonzero_and_shows_in_health(engine, session, settings):
    fill(engine, 2)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "clips").write_text("not a directory")  # the store cannot be written

    result = cli(settings, "worker", "--checkpoint")

    assert result.returncode == 1 and "custody checkpoint not written" in result.stdout
    assert "ALERT custody checkpoint failed" in result.stderr
    health = anchor_health(session, settings)
    assert not health.ok and "the last checkpoint failed" in health.problem


def test_signing_key_is_private_rotatable_and_old_keys_still_verify(engine, session, store, settings, keyring):
    fill(engine, 2)
    old = checkpoint(session, store, settings, keyring)
    key_file = settings.data_dir / "keys" / "custody-signing.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    shown = cli(settings, "custody", "key", "show")
    assert keyring.current().fingerprint in shown.stdout.replace("\n", "")

    rotated = cli(settings, "custody", "key", "rotate")
    fill(engine, 1)
    new = checkpoint(session, store, settings, keyring)

    assert rotated.returncode == 0 and old.key_id != new.key_id
    assert verify_anchored(session, store, settings, keyring).ok
    assert [k.current for k in keyring.public_keys()] == [True, False]


def test_public_key_and_fingerprint_in_api_and_page(engine, session, settings, keyring):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from storage.models import Role
    from tests.factories import api_login, make_commune, make_user, web_login

    auditor = make_user(session, Role.auditor, [make_commune(session).commune])
    session.commit()
    fingerprint = keyring.current().fingerprint
    client = TestClient(create_app(settings, engine=engine))

    keys = client.get("/api/v1/custody/keys", headers=api_login(client, auditor.username)).json()
    web_login(client, auditor.username)
    page = client.get("/custody")

    assert keys[0]["fingerprint"] == fingerprint and keys[0]["current"]
    assert "BEGIN PUBLIC KEY" in keys[0]["public_key_pem"]
    assert page.status_code == 200 and fingerprint in page.text


@pytest.mark.s3
def test_a_checkpoint_in_minio_is_compliance_locked(engine, session, settings, keyring, s3_server):
    from minio.error import S3Error

    store = s3_server.store()
    store.ensure_ready()
    fill(engine, 3)

    written = checkpoint(session, store, settings, keyring)

    stored = store.stat(written.key)
    assert stored.lock["mode"] == "COMPLIANCE"
    with pytest.raises(S3Error) as refused:  # not even with the bypass header: COMPLIANCE
        store.client.remove_object(store.bucket, written.key, version_id=stored.version_id)
    assert refused.value.code == "AccessDenied"
    assert verify_anchored(session, store, settings, keyring).ok


def test_checkpoints_written_before_signing_still_anchor_and_their_events_get_signed(engine, session, store,
                                                                                     settings, keyring):
    import io

    from camera_ops.custody.checkpoint import covering
    from storage.clipstore.base import ObjectLock

    fill(engine, 4)
    head = session.scalar(select(CustodyEvent.hash).where(CustodyEvent.seq == 4))
    legacy = json.dumps({"ledger": "camera-ops custody", "seq": 4, "hash": head, "at": utcnow().isoformat()}).encode()
    store.put(checkpoint_key(4), io.BytesIO(legacy), length=len(legacy), content_type="application/json",
              metadata={}, lock=ObjectLock(utcnow() + timedelta(days=1)))
    session.add(CustodyCheckpoint(seq=4, hash=head, object_key=checkpoint_key(4), version_id=None, at=utcnow()))
    session.commit()
    fill(engine, 2)

    written = checkpoint(session, store, settings, keyring)  # the first signed one lists every event

    assert (written.from_seq, written.seq) == (1, 6)
    assert verify_anchored(session, store, settings, keyring).ok
    assert [c.seq for c in covering(store, [2, 5])] == [6]  # old events are packaged with a signed checkpoint
    session.execute(update(CustodyEvent).where(CustodyEvent.seq == 3).values(purpose="sửa"))
    rehash_from(session, 3)
    report = verify_anchored(session, store, settings, keyring)
    assert not report.ok and report.first_broken_seq == 3
