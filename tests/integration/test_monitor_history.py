"""Uptime from stored history is exact to the second; hourly rollups per commune add up."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from camera_ops.health.vocabulary import Status
from camera_ops.monitor.history import RollupJob, uptime_by_camera
from camera_ops.security import encrypt_secret
from storage.db import session_factory
from storage.models import Camera, CameraStatus
from storage.models_monitoring import CameraStatusChange, StatusRollupHour
from tests.factories import make_commune

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
S = timedelta(seconds=1)
H = timedelta(hours=1)


def cam(session, settings, hamlet, code):
    c = Camera(code=code, name=code, area_id=hamlet.id, host="10.1.1.1", username="u",
               password_encrypted=encrypt_secret("p", settings), created_at=T0 - H)
    session.add(c)
    session.flush()
    return c


def rows(session, camera, history):
    for at, status in history:
        session.add(CameraStatusChange(camera_id=camera.id, at=at, status=CameraStatus(status), reasons_mask=0))
    session.flush()


def test_uptime_from_stored_rows_is_exact_to_the_second(session, settings):
    hamlet = make_commune(session, hamlets=1).hamlets[0]
    a, b, c = (cam(session, settings, hamlet, x) for x in "ABC")
    rows(session, a, [(T0, "online"), (T0 + 3601 * S, "offline"), (T0 + 3700 * S, "online")])
    rows(session, b, [(T0 + 10 * S, "online")])  # a row exactly at the window start decides the opening
    session.commit()
    start, end = T0 + 10 * S, T0 + 2 * H
    reports = uptime_by_camera(session, [a.id, b.id, c.id], start, end, now=T0 + 10 * H)
    assert reports[a.id].seconds[Status.OFFLINE] == 99.0
    assert reports[a.id].seconds[Status.ONLINE] == 7190.0 - 99.0
    assert reports[b.id].seconds[Status.ONLINE] == 7190.0 and reports[b.id].uptime_pct == 100.0
    assert reports[c.id].seconds[Status.UNKNOWN] == 7190.0 and reports[c.id].uptime_pct is None  # no data
    # clipped to now: nothing counted for the future
    future = uptime_by_camera(session, [a.id], T0, T0 + 5 * H, now=T0 + H)
    assert sum(future[a.id].seconds.values()) == 3600.0


def test_hourly_rollups_per_commune_sum_the_exact_intervals_of_all_its_hamlets(session, settings, engine):
    commune = make_commune(session, hamlets=2)
    a, b = cam(session, settings, commune.hamlets[0], "RA"), cam(session, settings, commune.hamlets[1], "RB")
    rows(session, a, [(T0, "online"), (T0 + 90 * 60 * S, "offline")])
    rows(session, b, [(T0, "online")])
    session.commit()
    job = RollupJob(session_factory(engine))
    job.run_once(now=T0 + 3 * H + 5 * 60 * S)  # no watermark yet: the last 48 h up to 03:00
    job.run_once(now=T0 + 3 * H + 9 * 60 * S)  # idempotent: nothing new to roll up
    rolled = session.scalars(select(StatusRollupHour).where(StatusRollupHour.hour >= T0)).all()
    assert {r.area_id for r in rolled} == {commune.commune.id}  # one row per commune-hour, not per hamlet
    got = {r.hour: (r.cameras, r.online_s, r.offline_s) for r in rolled}
    assert got == {T0: (2, 7200, 0), T0 + H: (2, 3600 + 1800, 1800), T0 + 2 * H: (2, 3600, 3600)}
    before = session.scalars(select(StatusRollupHour).where(StatusRollupHour.hour < T0)).all()
    assert all(r.unknown_s == 7200 for r in before)  # hours before any row: unknown, not uptime
    session.commit()


def test_rollups_can_be_rebuilt_from_the_change_rows(session, settings, engine):
    from camera_ops.monitor.history import rebuild_rollups

    commune = make_commune(session, hamlets=1)
    a = cam(session, settings, commune.hamlets[0], "RR")
    rows(session, a, [(T0, "online"), (T0 + 30 * 60 * S, "offline")])
    session.commit()
    written = rebuild_rollups(session_factory(engine, write=True), T0 - 2 * H, now=T0 + 2 * H + 60 * S)
    assert written == 4  # T0-2h .. T0+1h: four closed hours of one commune
    got = {r.hour: (r.online_s, r.offline_s, r.unknown_s) for r in session.scalars(select(StatusRollupHour))}
    assert got[T0] == (1800, 1800, 0) and got[T0 + H] == (0, 3600, 0) and got[T0 - H] == (0, 0, 3600)
    session.commit()
