"""One viewing, one chained record with its byte ranges (issue 11): a viewing's ranges go on the
hash chain when it ends (idle, or the same person's next viewing), the table of viewings is checked
against the chain by ``custody verify``, and a viewing still never gets a byte before its record
is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from camera_ops.custody.anchor import CheckpointKeeper, verify_anchored
from camera_ops.custody.signing import Keyring
from camera_ops.footage.viewings import VIEWING_IDLE_S, viewing_problems
from storage.clipstore.local import LocalClipStore
from storage.models_evidence import ClipViewing, CustodyEvent
from storage.types import utcnow
from tests.factories import api_login as login
from tests.integration.test_custody_anchoring import cli
from tests.integration.test_footage_api import archived, fleet  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db

WATCH = {"purpose": "xem lại đoạn va chạm", "viewing": "0a1b2c3d4e5f"}


def watch(archived, *ranges: str, viewing: str = WATCH["viewing"]) -> list[int]:
    client, clip = archived["client"], archived["clip"]
    return [client.get(f"/api/v1/clips/{clip['id']}/content", params={**WATCH, "viewing": viewing},
                       headers={**archived["officer"], "Range": r}).status_code for r in ranges]


def idle(engine, seconds: float = VIEWING_IDLE_S + 60) -> None:
    """As if the player had stopped asking that long ago."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE clip_viewing SET last_at = :at WHERE closed_seq IS NULL"),
                     {"at": utcnow() - timedelta(seconds=seconds)})


def events(session, kind: str) -> list[CustodyEvent]:
    found = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == kind).order_by(CustodyEvent.seq)).all()
    session.commit()
    return list(found)


def keeper(engine, settings) -> CheckpointKeeper:
    return CheckpointKeeper(engine, settings, store=LocalClipStore(settings.data_dir / "clips"), owner="api:test")


def test_an_idle_viewing_is_chained_with_its_ranges_before_the_checkpoint_that_anchors_it(
        archived, session, engine, settings):
    assert watch(archived, "bytes=0-99", "bytes=4000-4999", "bytes=100-199") == [206, 206, 206]
    assert len(events(session, "viewed")) == 1 and events(session, "viewing_ended") == []
    idle(engine)

    written = keeper(engine, settings).tick(now=0.0)  # the background writer, in any process

    [ended] = events(session, "viewing_ended")
    assert ended.details["ranges"] == [[0, 199], [4000, 4999]] and ended.details["ended"] == "idle"
    assert written is not None and written.seq >= ended.seq  # the closing record is anchored at once
    row = session.scalars(select(ClipViewing)).one()
    assert row.closed_seq == ended.seq
    session.commit()
    report = verify_anchored(session, LocalClipStore(settings.data_dir / "clips"), settings, Keyring.from_settings(settings))
    assert report.ok, report
    assert viewing_problems(session) == []


def test_editing_a_viewings_ranges_in_the_table_is_caught_by_verify(archived, session, engine, settings):
    watch(archived, "bytes=0-99", "bytes=1000-1999")
    watch(archived, "bytes=0-9", viewing="second-viewing-1")  # ends the first: its ranges chained
    keeper(engine, settings).write_now()
    [ended] = events(session, "viewing_ended")
    assert cli(settings, "custody", "verify").returncode == 0

    with engine.begin() as conn:  # someone with database access hides the second range
        conn.execute(text("UPDATE clip_viewing SET ranges = :r WHERE closed_seq IS NOT NULL"), {"r": "[[0, 99]]"})
    result = cli(settings, "custody", "verify")

    out = " ".join(result.stdout.split())
    assert result.returncode == 1, out
    assert f"BROKEN at event {ended.seq}" in out
    assert (f"viewing 0a1b2c3d4e5f of clip {archived['clip']['id']} (viewed at event {ended.details['viewed_seq']}) "
            f"differs from what event {ended.seq} chained: ranges [[0, 99]] in clip_viewing, "
            "[[0, 99], [1000, 1999]] on the chain") in out, out

    with engine.begin() as conn:  # deleting the record instead is named too
        conn.execute(text("DELETE FROM clip_viewing WHERE closed_seq IS NOT NULL"))
    result = cli(settings, "custody", "verify")
    out = " ".join(result.stdout.split())
    assert result.returncode == 1 and f"ended at event {ended.seq}, but its record is missing" in out, out


def test_a_forged_open_viewing_row_is_caught(archived, session, engine, settings):
    watch(archived, "bytes=0-99")
    [viewed] = events(session, "viewed")
    with engine.begin() as conn:  # a viewing row pointing at an event that is not its viewed event
        conn.execute(text("UPDATE clip_viewing SET id = 'someone-else-1'"))

    problems = viewing_problems(session)

    assert [p.seq for p in problems] == [viewed.seq]
    assert "is not its 'viewed' event on the chain" in problems[0].message


def test_a_viewing_id_used_again_after_it_ended_is_a_new_viewing(archived, session, engine):
    assert watch(archived, "bytes=0-99") == [206]
    idle(engine)

    assert watch(archived, "bytes=200-299", "bytes=300-399") == [206, 206]  # same player id, much later

    viewed, ended = events(session, "viewed"), events(session, "viewing_ended")
    assert [e.details["bytes"] for e in viewed] == [[0, 99], [200, 299]]
    assert [(e.details["viewed_seq"], e.details["ranges"]) for e in ended] == [(viewed[0].seq, [[0, 99]])]
    assert ended[0].seq < viewed[1].seq  # chained before the new viewing's first byte
    rows = session.scalars(select(ClipViewing).order_by(ClipViewing.event_seq)).all()
    assert [(r.id, r.ranges, r.closed_seq) for r in rows] == [
        (WATCH["viewing"], [[0, 99]], ended[0].seq), (WATCH["viewing"], [[200, 399]], None)]


def test_reading_the_trail_chains_ended_viewings_and_the_page_shows_their_ranges(archived, session, engine):
    from tests.factories import web_login

    watch(archived, "bytes=0-99", "bytes=500-599")
    idle(engine)
    client, clip = archived["client"], archived["clip"]
    auditor = archived["names"]["auditor"]

    trail = client.get(f"/api/v1/clips/{clip['id']}/custody", headers=login(client, auditor)).json()["events"]
    web_login(client, auditor)
    page = client.get(f"/clips/{clip['id']}")

    assert [e["details"]["ranges"] for e in trail if e["event_type"] == "viewing_ended"] == [[[0, 99], [500, 599]]]
    assert page.status_code == 200 and "Các đoạn byte đã xem: 0–99, 500–599 (2 yêu cầu)" in page.text


def test_an_ended_viewing_that_cannot_be_chained_serves_nothing(archived, session, engine):
    assert watch(archived, "bytes=0-99", "bytes=100-199") == [206, 206]
    idle(engine)
    session.close()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE custody_event RENAME TO custody_event_away"))
    try:
        statuses = watch(archived, "bytes=200-299")
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE custody_event_away RENAME TO custody_event"))

    assert statuses == [503]
    row = session.scalars(select(ClipViewing)).one()  # still open, unchanged: the next request or the writer closes it
    assert row.closed_seq is None and row.ranges == [[0, 199]] and events(session, "viewing_ended") == []
