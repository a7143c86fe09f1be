"""Attacker's review 2026-12-07, custody: a closed viewing record is checked against everything its
``viewing_ended`` event chained — who viewed and when, not only the ranges (each test failed before
its fix). Real API, real database, the verify command's own check."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from camera_ops.footage.viewings import viewing_problems
from storage.models import User
from tests.integration.test_evidence_viewings import events, keeper, watch
from tests.integration.test_footage_api import archived, fleet  # noqa: F401  (fixtures)

pytestmark = pytest.mark.db


def _closed_viewing(archived, session, engine, settings):
    watch(archived, "bytes=0-99", "bytes=1000-1999")
    watch(archived, "bytes=0-9", viewing="second-viewing-1")  # ends the first: its ranges chained
    keeper(engine, settings).write_now()
    [ended] = events(session, "viewing_ended")
    assert viewing_problems(session) == []
    session.commit()
    return ended


def test_moving_a_closed_viewing_to_another_person_is_caught(archived, session, engine, settings):
    ended = _closed_viewing(archived, session, engine, settings)
    viewer = session.scalar(text("SELECT user_id FROM clip_viewing WHERE closed_seq IS NOT NULL"))
    other = session.scalar(select(User.id).where(User.id != viewer).order_by(User.id))
    session.commit()
    with engine.begin() as conn:  # someone with database access puts the viewing on a colleague
        conn.execute(text("UPDATE clip_viewing SET user_id = :u WHERE closed_seq IS NOT NULL"), {"u": other})

    problems = viewing_problems(session)

    assert [p.seq for p in problems] == [ended.details["viewed_seq"]], problems  # who viewed: its viewed event
    assert "user" in problems[0].message and "edited" in problems[0].message


def test_moving_a_closed_viewing_in_time_is_caught(archived, session, engine, settings):
    ended = _closed_viewing(archived, session, engine, settings)
    with engine.begin() as conn:  # the viewing shown a day earlier than it happened
        conn.execute(text("UPDATE clip_viewing SET started_at = :a, last_at = :a WHERE closed_seq IS NOT NULL"),
                     {"a": "2026-01-01 00:00:00.000000"})

    problems = viewing_problems(session)

    assert [p.seq for p in problems] == [ended.seq], problems
    assert "started_at" in problems[0].message and "last_at" in problems[0].message
