"""Migrations that move data: rows written before a revision read back the same after it (and
after its downgrade), on SQLite and — when the suite runs on it — PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from camera_ops.health.vocabulary import Status
from camera_ops.monitor.history import load_histories
from storage.db import make_engine, session_factory
from storage.migrate import alembic_config, upgrade
from storage.models import Camera
from tests.factories import make_commune
from tests.pg_scratch import scratch_postgres

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
STATUSES = ["online", "degraded", "offline", "unauthorized", "maintenance", "unknown"]


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request, tmp_path) -> Iterator[str]:
    """A database of its own (the suite's shared one must stay at head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    with scratch_postgres("camera_ops_migrations") as url:
        yield url


def insert_old_camera(session, hamlet_id: int, code: str, *, mac: str | None) -> int:
    """A camera row in the layout before revision 0006 (no kind, ports, channel, playback style)."""
    now = datetime.now(timezone.utc)
    if session.bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    return session.execute(text(
        "INSERT INTO camera (code, name, area_id, watches, host, onvif_port, username, password_encrypted, mac, "
        "recording, registration, lifecycle, status, status_since, status_reasons, created_at, updated_at) "
        "VALUES (:code, :code, :area, 'other', '10.0.0.1', 80, 'u', :pw, :mac, 'none', 'registered', 'active', "
        "'unknown', :now, '[]', :now, :now) RETURNING id"),
        {"code": code, "area": hamlet_id, "pw": b"-", "mac": mac, "now": now}).scalar_one()


@pytest.mark.db
def test_camera_kinds_revision_keeps_cameras_as_onvif_devices_and_lets_channels_share_a_mac(scratch_url):
    from alembic import command

    upgrade(scratch_url, "0007")
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        hamlet = make_commune(session, hamlets=1).hamlets[0]
        camera_id = insert_old_camera(session, hamlet.id, "OLD", mac="44:19:b6:00:00:01")
        session.commit()
    engine.dispose()
    upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        camera = session.get(Camera, camera_id)
        assert camera.kind.value == "onvif" and camera.channel == 0 and camera.playback_clock.value == "utc"
        assert camera.rtsp_port is None and camera.playback_style is None
        for channel in (1, 2):  # a recorder's channels share its MAC
            session.execute(text("UPDATE camera SET channel = :c WHERE id = :id"), {"c": channel, "id": camera_id})
        second = insert_old_camera(session, hamlet.id, "CH2", mac=None)
        session.execute(text("UPDATE camera SET mac = '44:19:b6:00:00:01', channel = 1 WHERE id = :id"),
                        {"id": second})
        session.commit()
    engine.dispose()
    command.downgrade(alembic_config(scratch_url), "0007")
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(camera)"))} if \
            engine.dialect.name == "sqlite" else set(conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'camera'")).scalars())
    engine.dispose()
    assert "kind" not in columns and "channel" not in columns


@pytest.mark.db
def test_status_codes_revision_keeps_every_history_row(scratch_url):
    from alembic import command

    upgrade(scratch_url, "0004")
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:  # area tables are the same at 0004 and head
        hamlet = make_commune(session, hamlets=1).hamlets[0]
        camera_id = insert_old_camera(session, hamlet.id, "C", mac=None)
        for i, status in enumerate(STATUSES):  # the 0004 layout: status as text
            session.execute(text("INSERT INTO camera_status_change (camera_id, at, status, reasons_mask) "
                                 "VALUES (:id, :at, :status, :mask)"),
                            {"id": camera_id, "at": (T0 + timedelta(hours=i)).replace(tzinfo=None)
                             if engine.dialect.name == "sqlite" else T0 + timedelta(hours=i), "status": status, "mask": i})
        session.commit()
    engine.dispose()
    upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        history = load_histories(session, [camera_id], T0 - timedelta(hours=1), T0 + timedelta(days=1))[camera_id]
        assert [c.status for c in history.changes] == [Status(s) for s in STATUSES]
        codes = session.execute(text("SELECT status, reasons_mask FROM camera_status_change ORDER BY at")).all()
        assert codes == [(i, i) for i in range(len(STATUSES))]
        if engine.dialect.name == "sqlite":  # rows kept once, in the key's b-tree
            ddl = session.execute(text("SELECT sql FROM sqlite_master WHERE name = 'camera_status_change'")).scalar()
            assert "WITHOUT ROWID" in ddl
    engine.dispose()
    command.downgrade(alembic_config(scratch_url), "0004")
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        back = conn.execute(text("SELECT status, reasons_mask FROM camera_status_change ORDER BY at")).all()
    engine.dispose()
    assert back == [(s, i) for i, s in enumerate(STATUSES)]


@pytest.mark.db
def test_viewings_revision_keeps_open_viewings_and_their_ranges_are_chained_afterwards(scratch_url, tmp_path):
    """Before 0016 a viewing's ranges lived only in clip_viewing: such a row stays an open viewing,
    and once idle it is closed with its ranges on the chain, like any other."""
    from alembic import command

    from camera_ops.custody.ledger import Actor, EventType, append_now
    from camera_ops.footage.requests import Window, create_request
    from camera_ops.footage.viewings import close_idle_viewings, viewing_problems
    from camera_ops.security import encrypt_secret
    from camera_ops.settings import Settings
    from storage.models_evidence import ClipViewing, CustodyEvent
    from tests.footage_fixtures import actor, make_case, make_world

    upgrade(scratch_url, "0015")
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)  # a live capture: a window still to come
    settings = Settings(data_dir=tmp_path / "data", database_url=scratch_url, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        world = make_world(session)
        # written as SQL: the ORM's camera row is head's (0017 added a column this schema lacks)
        camera = session.get(Camera, insert_old_camera(session, world.hamlet.id, "VIEW-1", mac=None))
        session.execute(text("UPDATE camera SET main_stream_uri = 'rtsp://10.0.0.1/main', "
                             "password_encrypted = :pw WHERE id = :id"),
                        {"pw": encrypt_secret("p", settings), "id": camera.id})
        session.refresh(camera)
        request = create_request(session, settings, actor(world.officer), world.officer, make_case(session, world),
                                 camera_ids=[camera.id], window=Window(soon, soon + timedelta(seconds=10)),
                                 purpose="xác minh", live=True)
        clip_id, case_id, user_id, username = request.clips[0].id, request.case_id, world.officer.id, world.officer.username
        session.commit()
    viewed = append_now(engine, EventType.viewed, Actor(username, "officer"), case_id=case_id, clip_id=clip_id,
                        purpose="xem lại", details={"viewing": "old-viewing-1", "bytes": [0, 99]})
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    if engine.dialect.name == "sqlite":
        long_ago = long_ago.replace(tzinfo=None)
    with engine.begin() as conn:  # the row as 0012 wrote it
        conn.execute(text("INSERT INTO clip_viewing (id, clip_id, user_id, event_seq, started_at, last_at, requests, "
                          "ranges) VALUES ('old-viewing-1', :clip, :user, :seq, :at, :at, 2, :ranges)"),
                     {"clip": clip_id, "user": user_id, "seq": viewed.seq, "at": long_ago, "ranges": "[[0, 199]]"})
    engine.dispose()

    upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        row = session.get(ClipViewing, viewed.seq)
        assert (row.id, row.ranges, row.requests, row.closed_seq) == ("old-viewing-1", [[0, 199]], 2, None)
    assert close_idle_viewings(engine) == 1
    with session_factory(engine)() as session:
        ended = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "viewing_ended")).one()
        assert ended.details["ranges"] == [[0, 199]] and ended.details["viewed_seq"] == viewed.seq
        assert session.get(ClipViewing, viewed.seq).closed_seq == ended.seq and viewing_problems(session) == []
    engine.dispose()

    command.downgrade(alembic_config(scratch_url), "0015")  # closed viewings leave the table: the chain has them
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clip_viewing")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM custody_event WHERE event_type = 'viewing_ended'")).scalar() == 1
    engine.dispose()


@pytest.mark.db
def test_playback_clock_revision_leaves_every_existing_clock_as_chosen(scratch_url):
    """0017: cameras registered before the by-style rule keep their clock (even a Dahua-style camera
    on UTC: no silent change to an evidence setting); new ones may follow their style."""
    from alembic import command

    upgrade(scratch_url, "0016")
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        hamlet = make_commune(session, hamlets=1).hamlets[0]
        dahua = insert_old_camera(session, hamlet.id, "OLD-DH", mac="3c:ef:8c:00:00:01")
        local = insert_old_camera(session, hamlet.id, "OLD-LOC", mac="3c:ef:8c:00:00:02")
        session.execute(text("UPDATE camera SET playback_style = 'dahua' WHERE id = :id"), {"id": dahua})
        session.execute(text("UPDATE camera SET playback_clock = 'local' WHERE id = :id"), {"id": local})
        session.commit()
    engine.dispose()
    upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with session_factory(engine)() as session:
        for camera_id, clock in ((dahua, "utc"), (local, "local")):
            camera = session.get(Camera, camera_id)
            assert camera.playback_clock.value == clock and camera.playback_clock_auto is False
    engine.dispose()
    command.downgrade(alembic_config(scratch_url), "0016")
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        clocks = {code: clock for code, clock in conn.execute(text("SELECT code, playback_clock FROM camera"))}
    engine.dispose()
    assert clocks == {"OLD-DH": "utc", "OLD-LOC": "local"}
