"""The custody ledger in the real database: one linear chain under concurrent appends from
several processes; an edited row, a deleted tail or a fully rewritten chain is detected."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import pytest
from sqlalchemy import text, update

from camera_ops.custody.chain import link
from camera_ops.custody.checkpoint import verify_with_store, write_checkpoint
from camera_ops.custody.ledger import SYSTEM, Actor, EventType, append, append_now, iter_events, verify_ledger
from camera_ops.errors import ValidationFailed
from storage.clipstore.local import LocalClipStore
from storage.db import make_engine
from storage.models_evidence import CustodyEvent

pytestmark = pytest.mark.db
PROCESSES, APPENDS_EACH = 3, 40


def _append_many(url: str, name: str, count: int) -> None:
    engine = make_engine(url)
    for i in range(count):
        append_now(engine, EventType.viewed, Actor(name, "officer", "10.0.0.1"), case_id=1, clip_id=i,
                   purpose="đối chiếu lời khai", details={"n": i})
    engine.dispose()


def fill(engine, count: int) -> None:
    for i in range(count):
        append_now(engine, EventType.requested, SYSTEM, case_id=1, clip_id=i, purpose="test", details={"i": i})


def test_concurrent_appends_from_several_processes_form_one_linear_chain(engine, database_url):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(database_url, f"p{n}", APPENDS_EACH)) for n in range(PROCESSES)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0

    with engine.connect() as conn:
        from sqlalchemy.orm import Session

        session = Session(conn)
        report = verify_ledger(session)
        seqs = [row.seq for row in iter_events(session)]
    assert report.ok, report.reason
    assert seqs == list(range(1, PROCESSES * APPENDS_EACH + 1))


def test_access_events_need_a_purpose(session):
    with pytest.raises(ValidationFailed) as caught:
        append(session, EventType.downloaded, Actor("a", "officer"), clip_id=1, purpose=" ")
    assert caught.value.field == "purpose"


def test_one_edited_row_is_reported_as_the_first_broken_link(engine, session):
    fill(engine, 10)
    session.execute(update(CustodyEvent).where(CustodyEvent.seq == 4).values(actor="someone-else"))
    session.commit()

    report = verify_ledger(session)

    assert not report.ok and report.first_broken_seq == 4 and "changed" in report.reason


def test_a_deleted_tail_is_detected_by_the_chain_head(engine, session):
    fill(engine, 5)
    session.execute(text("DELETE FROM custody_event WHERE seq = 5"))
    session.commit()

    report = verify_ledger(session)

    assert not report.ok and report.first_broken_seq == 5 and "removed" in report.reason


def test_a_rewritten_chain_is_caught_by_the_checkpoint_in_the_store(engine, session, settings, tmp_path):
    store = LocalClipStore(tmp_path / "clips")
    fill(engine, 6)
    assert write_checkpoint(session, store, settings) is not None
    session.commit()
    # rewrite event 3 and recompute every later hash (and the head): the chain alone verifies
    rows = session.query(CustodyEvent).order_by(CustodyEvent.seq).all()
    rows[2].purpose = "sửa lén"
    prev = rows[1].hash
    for row in rows[2:]:
        row.prev_hash = prev
        row.hash = prev = link(prev, row)
    session.execute(text("UPDATE custody_head SET hash = :h"), {"h": prev})
    session.commit()
    assert verify_ledger(session).ok

    report = verify_with_store(session, store)

    assert not report.ok and report.first_broken_seq == 6 and "rewritten" in report.reason


def test_cli_custody_verify_exits_nonzero_on_a_broken_chain(engine, session, settings, tmp_path, database_url):
    fill(engine, 3)
    env = {"CAMERA_OPS_DATABASE_URL": database_url, "CAMERA_OPS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "camera_ops.cli", "custody", "verify"], env=env, capture_output=True,
                        text=True, timeout=60, cwd=tmp_path)
    assert ok.returncode == 0 and "ledger OK" in ok.stdout
    session.execute(update(CustodyEvent).where(CustodyEvent.seq == 2).values(purpose="x"))
    session.commit()
    broken = subprocess.run([sys.executable, "-m", "camera_ops.cli", "custody", "verify"], env=env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert broken.returncode == 1 and "BROKEN at event 2" in broken.stdout
