"""The demo's seeded commune, against a real simulated fleet."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from camera_ops.demo import DEMO_CASE_NUMBER, DEMO_USERS, demo_fleet_specs, seed, seed_case
from camera_ops.sim.testing import running_fleet
from storage.models import Area, Camera, RegistrationState, SecurityModel, User
from storage.models_evidence import Case, Clip, ClipStatus
from storage.types import utcnow

pytestmark = pytest.mark.db


def test_demo_seed_registers_simulated_cameras_and_is_idempotent(session, settings):
    settings.onvif_timeout_s = 3.0
    # fixed ports as in the demo (the test address block is random, so they do not collide)
    with running_fleet(demo_fleet_specs(5), http_port=8080, rtsp_port=8554) as fleet:
        seed(session, settings, fleet.cameras)
        session.commit()
        seed(session, settings, fleet.cameras)  # second run changes nothing
        session.commit()
        for _ in range(2):
            seed_case(session, settings, now=utcnow())
            session.commit()
    cams = session.scalars(select(Camera).order_by(Camera.code)).all()
    assert len(cams) == 5
    states = {c.code: c.registration for c in cams}
    assert states["DEMO-CAM-04"] == RegistrationState.pending  # the demo camera that starts offline
    assert sum(s == RegistrationState.registered for s in states.values()) == 4
    assert all(c.mac for c in cams if c.registration == RegistrationState.registered)
    assert session.scalar(select(func.count()).select_from(Area)) == 5  # province, commune, 3 hamlets
    assert session.scalar(select(func.count()).select_from(SecurityModel)) == 1
    assert {u.username for u in session.scalars(select(User))} == {u.username for u in DEMO_USERS}
    case = session.scalar(select(Case))
    assert case.number == DEMO_CASE_NUMBER and session.scalar(select(func.count()).select_from(Case)) == 1
    clips = session.scalars(select(Clip)).all()
    assert len(clips) == 1 and clips[0].status == ClipStatus.queued and clips[0].case_id == case.id
