"""No clip stuck (issue 11): the archive worker killed at each step of the pipeline — a real
process ended with ``os._exit`` at a named crash point (camera_ops.faults), no cleanup run — and a
later worker finishes the clip (archived), or closes it as failed within the attempt limit; the
cut-short attempt is on the custody trail."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from camera_ops import faults
from camera_ops.custody.ledger import verify_ledger
from camera_ops.footage.integrity import verify_all_clips
from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet
from storage.clipstore.local import SIDECAR_SUFFIX, LocalClipStore
from storage.models_evidence import ArchiveJob, Clip, ClipStatus, CustodyEvent, JobState
from storage.types import utcnow
from tests.footage_fixtures import actor, make_case, make_world, recent_window, sim_camera_row

pytestmark = pytest.mark.db
_CRASHING_WORKER = """
import sys
from camera_ops import faults
from camera_ops.footage.worker import Worker
from camera_ops.settings import get_settings
from storage.db import get_engine
faults.crash_at(sys.argv[1])
Worker(get_engine(), get_settings()).run_once()
"""


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    with running_fleet([CameraSpec("crash-gen", vendor="generic")]) as handle:
        yield handle


@pytest.fixture
def clip_id(session, settings, fleet) -> int:
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("crash-gen"), world.hamlet)
    case = make_case(session, world)
    request = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                             window=Window(*recent_window(fleet.camera_clock("crash-gen"), 2)), purpose="xác minh")
    clip_id = request.clips[0].id
    session.commit()  # SQLite: the test's session must not hold the write lock while workers run
    return clip_id


def crash(settings, point: str, *, max_attempts: int = 5) -> None:
    env = {"CAMERA_OPS_DATABASE_URL": settings.database_url, "CAMERA_OPS_DATA_DIR": str(settings.data_dir),
           "CAMERA_OPS_ARCHIVE_MAX_ATTEMPTS": str(max_attempts), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", _CRASHING_WORKER, point], env=env, capture_output=True, text=True,
                            timeout=120, cwd=settings.data_dir.parent)
    assert result.returncode == faults.CRASH_EXIT, result.stderr[-2000:]


def lease_runs_out(session) -> None:
    """What time does to a dead worker's lease (instead of waiting for it)."""
    session.execute(update(ArchiveJob).values(lease_until=utcnow() - timedelta(seconds=1)))
    session.commit()


def trail(session, clip_id: int) -> list[CustodyEvent]:
    session.expire_all()
    return list(session.scalars(select(CustodyEvent).where(CustodyEvent.clip == clip_id).order_by(CustodyEvent.seq)))


@pytest.mark.parametrize("point", faults.POINTS)
def test_a_worker_killed_at_each_step_leaves_a_clip_the_next_worker_archives(point, session, engine, settings,
                                                                             clip_id):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    crash(settings, point)
    session.expire_all()
    assert session.get(Clip, clip_id).status in (ClipStatus.acquiring, ClipStatus.verifying)
    session.commit()
    lease_runs_out(session)

    outcomes = Worker(engine, settings).run_until_idle()

    assert [o.status for o in outcomes] == [ClipStatus.archived]
    events = trail(session, clip_id)
    assert [e.event_type for e in events] == ["requested", "attempt_aborted", "acquired", "verified", "archived"]
    assert events[1].details["attempt"] == 1 and events[1].details["worker"] != outcomes[0] and ":" in events[1].details["worker"]
    store = LocalClipStore(settings.data_dir / "clips")
    clip = session.get(Clip, clip_id)
    assert [k for k in store.list_keys(f"cases/{clip.case_id}/")] == sorted([clip.object_key, clip.manifest_key])
    assert store.stat(clip.object_key).lock["mode"] == settings.object_retention_mode  # sidecar complete
    assert all(check.ok for check in verify_all_clips(session, store)), verify_all_clips(session, store)
    assert verify_ledger(session).ok
    assert session.scalar(select(ArchiveJob)).state is JobState.done


def test_a_zero_byte_sidecar_left_by_an_old_crash_is_repaired(session, engine, settings, clip_id):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    crash(settings, "after_object")
    store = LocalClipStore(settings.data_dir / "clips")
    [key] = store.list_keys("cases/")
    sidecar = store.path_of(key).with_name(store.path_of(key).name + SIDECAR_SUFFIX)
    sidecar.write_bytes(b"")  # what the sidecar writer before issue 11 left when killed mid-write
    lease_runs_out(session)

    outcomes = Worker(engine, settings).run_until_idle()

    assert [o.status for o in outcomes] == [ClipStatus.archived]
    assert store.stat(key).lock["mode"] and store.stat(key).metadata["sha256"] == session.get(Clip, clip_id).sha256


def test_crashing_on_every_attempt_ends_failed_within_the_attempt_limit(session, engine, settings, clip_id):
    settings = settings.model_copy(update={"archive_max_attempts": 2})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        crash(settings, "during_upload", max_attempts=2)
        lease_runs_out(session)

    outcomes = Worker(engine, settings).run_until_idle()

    assert [o.status for o in outcomes] == [ClipStatus.failed]
    assert "gave up after 2 attempts" in outcomes[0].reason
    events = [e.event_type for e in trail(session, clip_id)]
    assert events == ["requested", "attempt_aborted", "attempt_aborted", "acquisition_failed"]
    job = session.scalar(select(ArchiveJob))
    assert job.state is JobState.failed and job.attempts == 2
    session.commit()
    assert Worker(engine, settings).run_until_idle() == []  # nothing left to run


def test_an_unexpected_error_counts_as_an_attempt_instead_of_a_crash_loop(session, engine, settings, clip_id,
                                                                          monkeypatch):
    from camera_ops.footage import archive

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(archive, "rehash", broken)
    settings = settings.model_copy(update={"archive_max_attempts": 1})

    outcomes = Worker(engine, settings).run_until_idle()

    assert [o.status for o in outcomes] == [ClipStatus.failed] and "ValueError: boom" in outcomes[0].reason
