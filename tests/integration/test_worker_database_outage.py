"""PostgreSQL stops answering under running archive workers (issue 14, "Faults"): they wait and
resume by themselves, nothing is lost, nothing is archived twice.

Real ``camera-ops worker`` processes (the CLI entry point, as compose and systemd start it) pull
clips from simulated cameras over real sockets into moto's S3 server over TLS. The database is cut
the way a stopped server looks to its clients — new connections refused (``ALLOW_CONNECTIONS
false``) and every open one terminated — once while a worker is in the middle of an upload and
once while the workers are idle, then given back. The only test hook is a pause at a named
pipeline point (:mod:`camera_ops.faults`), so the cut lands mid-job deterministically; the lease is
longer than the outage, as in production (300 s lease, 30 s outage). Every wait is on a state,
with a generous safety deadline; nothing asserts a duration.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from camera_ops.custody.anchor import verify_anchored
from camera_ops.custody.signing import Keyring
from camera_ops.footage.requests import Window, create_request
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet
from storage.db import session_factory
from storage.models_evidence import ArchiveJob, Clip, ClipStatus, CustodyAnchor, CustodyEvent, JobState
from tests.footage_fixtures import actor, make_case, make_world, recent_window, sim_camera_row
from tests.s3server import S3Server, new_bucket_name, s3_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(300)]

CAMERAS = 4
OUTAGE_S = 10.0  # long enough for pooled connections to die and the loop to fail many turns
LEASE_S = 60.0  # longer than the outage, like production's 300 s against a 30 s outage
WAIT_S = 120.0  # safety net only
# The real CLI worker; the one hook pauses the first time this process reaches a pipeline point,
# until the test lets it go (so the database can be cut while a clip is being uploaded).
_WORKER = """
import os, sys, time
from pathlib import Path
from camera_ops import faults
control, point, seen = Path(sys.argv[1]), sys.argv[2], []
def pause(reached):
    if reached == point and not seen:
        seen.append(reached)
        (control / f"paused-{os.getpid()}").write_text(reached)
        while not (control / "go").exists():
            time.sleep(0.05)
faults._hook = pause
from camera_ops.cli import app
app(["worker"], prog_name="camera-ops")
"""


def postgres_only(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a database server that stops and comes back is PostgreSQL's case; SQLite is a file "
                    "inside the worker's own host (no connection to lose)")


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    with running_fleet([CameraSpec(f"out{i}", vendor="generic") for i in range(CAMERAS)]) as handle:
        yield handle


def wait(predicate: Callable[[], bool], what: str, processes: list[subprocess.Popen] = (),
         timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        dead = [p.returncode for p in processes if p.poll() is not None]
        if dead:
            raise AssertionError(f"a worker ended (exit {dead}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s:.0f} s")
        time.sleep(0.1)


class Outage:
    """Cut and restore the test database as a stopped server looks to its clients."""

    def __init__(self, database_url: str) -> None:
        self.name = make_url(database_url).database
        self.admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def set(self, allow: bool) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {"true" if allow else "false"}'))
            if not allow:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": self.name})

    @contextmanager
    def cut(self) -> Iterator[None]:
        self.set(False)
        try:
            yield
        finally:
            self.set(True)

    def close(self) -> None:
        self.admin.dispose()


def queue_clips(session, settings, fleet: FleetHandle, world, cameras: list[str]) -> list[int]:
    clip_ids = []
    for name in cameras:
        camera = sim_camera_row(session, settings, fleet.camera(name), world.hamlet)
        case = make_case(session, world, number=f"{name}/2026/VA")
        request = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                                 window=Window(*recent_window(fleet.camera_clock(name), 3)), purpose="xác minh")
        clip_ids.append(request.clips[0].id)
    session.commit()
    return clip_ids


def worker_env(settings, s3: S3Server, bucket: str, *, lease_s: float = LEASE_S) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_OPS_")}
    overrides = {**s3.settings_overrides(bucket), "database_url": settings.database_url,
                 "data_dir": settings.data_dir, "worker_lease_s": lease_s, "worker_poll_s": 0.2,
                 "archive_backoff_s": 0.5, "archive_backoff_max_s": 2, "custody_checkpoint_interval_s": 1}
    env.update({f"CAMERA_OPS_{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in overrides.items()})
    return env


@contextmanager
def workers(count: int, env: dict[str, str], control: Path, pause_at: str) -> Iterator[list[subprocess.Popen]]:
    control.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []
    logs = [control / f"worker-{i}.log" for i in range(count)]
    try:
        for log in logs:
            with open(log, "wb") as out:
                started.append(subprocess.Popen([sys.executable, "-c", _WORKER, str(control), pause_at], env=env,
                                                stdout=out, stderr=subprocess.STDOUT, cwd=control))
        yield started
        for process in started:
            assert process.poll() is None, "a worker died"
            process.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=60) for p in started] == [0] * count  # stopped cleanly, not crashed
    except BaseException:
        for log in logs:
            if log.exists():
                sys.stderr.write(f"--- {log.name}\n{log.read_text('utf-8', 'replace')[-4000:]}\n")
        raise
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


def clip_states(engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, status FROM clip")).all())


def all_archived(engine, clip_ids: list[int]) -> bool:
    return clip_states(engine) == {i: "archived" for i in clip_ids}


def anchored_to_head(engine) -> bool:
    with engine.connect() as conn:
        head = conn.execute(select(func.max(CustodyEvent.seq))).scalar() or 0
        row = conn.execute(select(CustodyAnchor.last_seq, CustodyAnchor.failing_since)).first()
    return row is not None and row.last_seq == head and row.failing_since is None


def assert_archived_once(session, settings, s3: S3Server, bucket: str, clip_ids: list[int]) -> None:
    session.expire_all()
    clips = {c.id: c for c in session.scalars(select(Clip))}
    assert sorted(clips) == sorted(clip_ids)  # one clip row per request, no more
    assert all(c.status is ClipStatus.archived for c in clips.values()), {c.id: c.status for c in clips.values()}
    jobs = list(session.scalars(select(ArchiveJob)))
    assert len(jobs) == len(clip_ids) and all(j.state is JobState.done for j in jobs)
    assert all(j.attempts <= settings.archive_max_attempts and j.lease_owner is None for j in jobs)
    # in S3: exactly one version of one clip object (and of one manifest) per request
    store = s3.store(bucket)
    versions = Counter(o.object_name for o in store.client.list_objects(bucket, prefix="cases/", recursive=True,
                                                                         include_version=True))
    expected = {key for c in clips.values() for key in (c.object_key, c.manifest_key)}
    assert versions == Counter({key: 1 for key in expected}), versions
    # the trail: every clip acquired, verified and archived exactly once
    for clip_id in clip_ids:
        kinds = Counter(session.scalars(select(CustodyEvent.event_type).where(CustodyEvent.clip == clip_id)))
        assert (kinds["requested"], kinds["acquired"], kinds["verified"], kinds["archived"]) == (1, 1, 1, 1), kinds
        assert kinds["acquisition_failed"] == 0
    # the chain: no gap, no break, every event under a signed checkpoint written after the outages
    seqs = list(session.scalars(select(CustodyEvent.seq).order_by(CustodyEvent.seq)))
    assert seqs == list(range(1, len(seqs) + 1))
    report = verify_anchored(session, store, settings.model_copy(update=s3.settings_overrides(bucket)),
                             Keyring.from_settings(settings))
    assert report.ok and report.unanchored == 0, report


def interrupted_trail(session, clip_id: int) -> list[str]:
    return list(session.scalars(select(CustodyEvent.event_type).where(CustodyEvent.clip == clip_id)
                                .order_by(CustodyEvent.seq)))


@pytest.mark.parametrize(("count", "pause_at"), [(1, "after_sidecar"), (2, "after_spool")],
                         ids=["one-worker-object-stored", "two-workers-clip-spooled"])
def test_workers_wait_while_the_database_is_away_and_finish_every_clip_once(
        count, pause_at, session, engine, settings, database_url, fleet, s3_server, tmp_path):
    postgres_only(engine)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bucket = new_bucket_name()
    names = [f"out{i}" for i in range(CAMERAS)]
    world = make_world(session)
    clip_ids = queue_clips(session, settings, fleet, world, names[:3])
    outage = Outage(database_url)
    control = tmp_path / "control"
    try:
        with workers(count, worker_env(settings, s3_server, bucket), control, pause_at) as procs:
            # 1. mid-job: every worker stops in the middle of a clip; the database goes away under them
            wait(lambda: len(list(control.glob("paused-*"))) == count, "every worker paused mid-job", procs)
            with engine.connect() as conn:
                held = dict(conn.execute(text("SELECT clip_id, lease_until FROM archive_job "
                                              "WHERE state = 'running'")).all())
            assert len(held) == count
            with outage.cut():
                (control / "go").write_text("")  # the pipelines go on (camera, S3); the database is not there
                time.sleep(OUTAGE_S)
            wait(lambda: all_archived(engine, clip_ids), "every clip archived after the outage", procs)
            with engine.connect() as conn:  # resumed by the workers themselves, not by their leases running out
                archived_at = dict(conn.execute(text("SELECT id, archived_at FROM clip")).all())
            assert all(archived_at[c] < held[c] for c in held), (archived_at, held)
            wait(lambda: anchored_to_head(engine), "a checkpoint over every event", procs)

            # 2. idle: nothing to do, the checkpoint writer and the job poll meet a dead database
            with outage.cut():
                time.sleep(OUTAGE_S)
            clip_ids += queue_clips(session, settings, fleet, world, names[3:])
            wait(lambda: all_archived(engine, clip_ids), "a clip requested after the second outage archived", procs)
            wait(lambda: anchored_to_head(engine), "checkpoints written again", procs)
    finally:
        outage.set(True)
        outage.close()

    for log in control.glob("worker-*.log"):  # said once per outage, not at every poll
        said = log.read_text("utf-8", "replace")
        assert said.count("the database is unreachable") == said.count("the database answers again") == 2, log
    with session_factory(engine)() as check:
        assert_archived_once(check, settings, s3_server, bucket, clip_ids)
        for clip_id in held:  # the interrupted attempt is on the trail, the next one finished the clip
            assert interrupted_trail(check, clip_id) == ["requested", "attempt_aborted", "acquired", "verified",
                                                         "archived"]


def test_a_worker_whose_lease_ran_out_while_the_database_was_away_stores_nothing_when_it_goes_on(
        session, engine, settings, database_url, fleet, s3_server, tmp_path):
    """An outage longer than the lease: the job is another worker's by the time the first one's
    slow pull ends. The first must not spool over, upload beside, or re-mark the clip the second
    archived (fenced by its lease before anything is stored)."""
    postgres_only(engine)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bucket = new_bucket_name()
    [clip_id] = queue_clips(session, settings, fleet, make_world(session), ["out0"])
    env = worker_env(settings, s3_server, bucket, lease_s=3.0)
    outage = Outage(database_url)
    try:
        with workers(1, env, tmp_path / "a", "after_pull") as slow:
            wait(lambda: any((tmp_path / "a").glob("paused-*")), "worker A still pulling", slow)
            with outage.cut():
                time.sleep(OUTAGE_S)  # A's lease runs out: its renewals cannot reach the database
                # A's node stays cut off a while longer than B's (else A's lease keeper, alive and
                # well, renews the lease the moment the database is back, and rightly keeps the job)
                slow[0].send_signal(signal.SIGSTOP)
            try:
                with workers(1, env, tmp_path / "b", "-") as fresh:
                    wait(lambda: all_archived(engine, [clip_id]), "worker B archiving the clip A held", fresh)
                    slow[0].send_signal(signal.SIGCONT)
                    (tmp_path / "a" / "go").write_text("")  # A's pull ends now
                    log_a = tmp_path / "a" / "worker-0.log"
                    wait(lambda: "taken over by another worker" in log_a.read_text("utf-8", "replace"), "A fenced",
                         [*slow, *fresh])
                    wait(lambda: anchored_to_head(engine), "a checkpoint over every event", [*slow, *fresh])
            finally:
                slow[0].send_signal(signal.SIGCONT)
    finally:
        outage.set(True)
        outage.close()

    with session_factory(engine)() as check:
        assert_archived_once(check, settings, s3_server, bucket, [clip_id])
        assert interrupted_trail(check, clip_id) == ["requested", "attempt_aborted", "acquired", "verified",
                                                     "archived"]
    assert not list((settings.data_dir / "spool").iterdir())  # nothing left behind by either attempt
