"""End to end: a power cut in a simulated hamlet, seen by the monitor, gives ONE grouped alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from camera_ops.alerts.detector import AlertJob
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.testing import register_sim_cameras, running_monitor
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.db import session_factory
from storage.models_monitoring import Alert, AlertKind, Problem
from storage.types import utcnow
from tests.factories import make_commune
from tests.integration.test_monitor_engine import fast_settings, wait_cycles

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(180)]


async def test_a_hamlet_power_cut_seen_by_the_monitor_raises_one_grouped_alert(session, settings, engine):
    settings = fast_settings(settings, alert_after_s=600.0)
    specs = [CameraSpec(name=f"a{i}", group="hamlet-a") for i in range(4)] + [CameraSpec(name="b0", group="hamlet-b")]
    with running_fleet(specs) as fleet:
        commune = make_commune(session, hamlets=2)
        cut = register_sim_cameras(session, settings, fleet.cameras[:4], commune.hamlets[:1])
        register_sim_cameras(session, settings, fleet.cameras[4:], commune.hamlets[1:])
        session.commit()
        ids = [c.id for c in cut]
        async with running_monitor(settings, engine=engine) as monitor:
            await monitor.wait_for(lambda: all(monitor.cameras[i].state.status is not Status.UNKNOWN for i in ids),
                                   timeout_s=60)
            fleet.set_group_fault("hamlet-a", offline=True)
            await wait_cycles(monitor, ids, 2)
            assert [monitor.cameras[i].state.status for i in ids] == [Status.OFFLINE] * 4
    # ten minutes later (the job is told the time; nothing sleeps)
    AlertJob(session_factory(engine), settings).run_once(utcnow() + timedelta(seconds=settings.alert_after_s))
    session.expire_all()
    alerts = session.scalars(select(Alert)).all()
    assert [a.kind for a in alerts] == [AlertKind.hamlet_down]
    assert alerts[0].title_en.endswith("4 of 4 cameras offline — likely power or uplink")
    assert len(session.scalars(select(Problem)).all()) == 4
    session.commit()
