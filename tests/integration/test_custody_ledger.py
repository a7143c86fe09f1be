"""The custody ledger in the real database: one linear chain under concurrent appends from
several processes and writers; an edited row, a deleted tail, a forged head or a fully rewritten
chain is detected; a ledger that cannot be written fails closed and recovers."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from camera_ops.custody import fastverify, writer
from camera_ops.custody.chain import EventRecord, link, next_record
from camera_ops.custody.checkpoint import verify_with_store, write_checkpoint
from camera_ops.custody.ledger import SYSTEM, Actor, EventType, append, append_now, iter_events, verify_ledger
from camera_ops.errors import LedgerWriteFailed, ValidationFailed
from storage.clipstore.local import LocalClipStore
from storage.db import make_engine, session_factory
from storage.models_evidence import CustodyEvent, CustodyHead
from storage.types import utcnow

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

    report = verify_with_store(session, store, settings)

    assert not report.ok and report.first_broken_seq == 3 and "rewritten from event 3" in report.reason


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


def bulk_fill(engine, count: int) -> None:
    """A valid chain written in one go (appending ``count`` events one by one would be slow)."""
    head: EventRecord | None = None
    rows = []
    for i in range(count):
        head = next_record(head, event_type="viewed", actor=f"u{i % 9}", role="officer", at=utcnow(), case=1,
                           clip=i, purpose="xem lại", client_address="10.0.0.2", details={"i": i})
        rows.append({"seq": head.seq, "event_type": head.event_type, "actor": head.actor, "role": head.role,
                     "case_id": 1, "clip_id": i, "purpose": head.purpose, "client_address": head.client_address,
                     "at": head.at, "details": dict(head.details), "prev_hash": head.prev_hash, "hash": head.hash})
    with engine.begin() as conn:
        conn.execute(insert(CustodyEvent.__table__), rows)
        conn.execute(insert(CustodyHead.__table__).values(id=1, seq=head.seq, hash=head.hash))


def test_an_appended_event_reads_back_exactly_as_it_was_hashed(engine, session):
    record = append_now(engine, EventType.downloaded, Actor("cán bộ", "officer", "10.1.2.3"), case_id=7, clip_id=9,
                        purpose="đối chiếu", details={"bytes": [0, 99], "ghi chú": "ư"})

    row = session.execute(select(CustodyEvent)).scalar_one()

    assert (row.seq, row.at, row.details, row.prev_hash, row.hash) == (
        1, record.at, {"bytes": [0, 99], "ghi chú": "ư"}, record.prev_hash, record.hash)
    assert link(row.prev_hash, row) == row.hash  # the ORM row hashes to what was written
    assert verify_ledger(session).ok


def test_interleaved_writers_and_session_appends_form_one_chain(engine, database_url, session):
    """Two engines are two writers (as two processes): each finds the head moved by the other
    every time, and session appends move it too; every append must still link to the one before."""
    other = make_engine(database_url)
    try:
        for i in range(12):
            append_now(engine if i % 3 else other, EventType.viewed, Actor(f"w{i % 3}", "officer"), clip_id=i,
                       purpose="xem lại")
            if i % 4 == 0:
                append(session, EventType.hold_placed, SYSTEM, clip_id=i)
                session.commit()
        append_now(engine, EventType.viewed, Actor("w1", "officer"), clip_id=99, purpose="xem lại")
        append_now(engine, EventType.viewed, Actor("w1", "officer"), clip_id=99, purpose="xem lại")
    finally:
        other.dispose()

    report = verify_ledger(session)
    seqs = [row.seq for row in iter_events(session)]
    assert report.ok, report.reason
    assert seqs == list(range(1, 12 + 3 + 2 + 1))


def test_a_forged_head_is_exposed_by_the_next_append(engine, database_url, session):
    """A head changed behind the writers' backs is linked to as it is: the next event does not
    link to the event before it, and verification says so (no writer papers over it)."""
    fresh = make_engine(database_url)
    try:
        fill(fresh, 4)
        session.execute(text("UPDATE custody_head SET hash = :h"), {"h": "f" * 64})
        session.commit()
        append_now(fresh, EventType.viewed, Actor("a", "officer"), clip_id=1, purpose="xem lại")
    finally:
        fresh.dispose()

    report = verify_ledger(session)

    assert not report.ok and report.first_broken_seq == 5 and "does not link" in report.reason


def test_events_appended_while_verifying_are_not_a_break(engine, monkeypatch):
    fill(engine, 5)
    real_rows = fastverify.rows

    def rows_while_someone_appends(conn):
        source = real_rows(conn)
        first = next(source)  # the rows are being read: appended rows may or may not be among them
        append_now(engine, EventType.viewed, Actor("b", "officer"), clip_id=2, purpose="xem lại")
        yield first
        yield from source

    monkeypatch.setattr(fastverify, "rows", rows_while_someone_appends)
    with session_factory(engine, write=False)() as reader:  # as the CLI and GET /custody/verify read
        report = verify_ledger(reader)

    assert report.ok, report.reason


def test_a_verification_stopped_at_a_break_leaves_the_session_usable(engine, session):
    """The rows are not all read when the break is found; stopping must not abort the transaction
    (a cancelled PostgreSQL query would), the caller goes on to use the session."""
    bulk_fill(engine, 20_000)
    session.execute(update(CustodyEvent).where(CustodyEvent.seq == 3).values(actor="x"))
    session.commit()

    report = verify_ledger(session)

    assert not report.ok and report.first_broken_seq == 3
    assert session.execute(select(func.count()).select_from(CustodyEvent)).scalar() == 20_000


def test_a_ledger_that_cannot_be_written_fails_closed_then_recovers(engine, session):
    fill(engine, 2)
    session.close()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE custody_event RENAME TO custody_event_away"))
    try:
        with pytest.raises(LedgerWriteFailed):
            append_now(engine, EventType.viewed, Actor("a", "officer"), clip_id=1, purpose="xem lại")
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE custody_event_away RENAME TO custody_event"))
    append_now(engine, EventType.viewed, Actor("a", "officer"), clip_id=1, purpose="xem lại")

    with Session(engine) as fresh:
        report = verify_ledger(fresh)
    assert report.ok and report.head_seq == 3


@pytest.mark.parametrize("idle_ping", [False, True])
def test_a_connection_cut_while_idle(engine, session, monkeypatch, idle_ping):
    """Without the idle ping the append fails closed (once); with it the cut is found first."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only a server connection can be cut")
    fill(engine, 1)
    ledger_writer = writer.writer_for(engine)
    assert ledger_writer is not None
    session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ledger_writer._conn.info.backend_pid})
    session.commit()
    if idle_ping:
        monkeypatch.setattr(writer, "PING_AFTER_IDLE_S", 0.0)
    else:
        with pytest.raises(LedgerWriteFailed):
            append_now(engine, EventType.viewed, Actor("a", "officer"), clip_id=1, purpose="xem lại")

    append_now(engine, EventType.viewed, Actor("a", "officer"), clip_id=1, purpose="xem lại")

    assert verify_ledger(session).head_seq == 2


def test_sqlite_ledger_commits_are_on_disk_before_the_append_returns(engine):
    """WAL + synchronous=NORMAL (the engine's setting) may lose the last commits on power failure."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL fsyncs every commit (synchronous_commit=on)")
    append_now(engine, EventType.viewed, Actor("a", "officer"), clip_id=1, purpose="xem lại")
    ledger_writer = writer.writer_for(engine)
    assert ledger_writer is not None

    assert ledger_writer._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
