"""Several monitors sharing one fleet on PostgreSQL, against the simulator over real sockets.

Each in-process monitor runs on an event loop of its own in a thread of its own, with its own
engine (its own connections), like separate processes; the takeover test runs real
``camera-ops monitor`` processes and SIGKILLs one. Time is counted in probe slots (on the
database's clock, which every member shares), never asserted in seconds; every wait is on a
state, with a generous safety deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from camera_ops.leases import SingleRunJob
from camera_ops.monitor.engine import Monitor
from camera_ops.monitor.membership import Fenced, Membership, SecondMonitorRefused
from camera_ops.monitor.schedule import slot_index
from camera_ops.monitor.testing import register_sim_cameras
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.db import make_engine, session_factory
from storage.models_cluster import Lease, MonitorMember
from storage.models_monitoring import CameraHealth, CameraStatusChange
from tests.factories import make_commune

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(300)]

CYCLE_S = 1.0
WAIT_S = 90.0  # safety net only


def postgres_only(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several monitors share a fleet on PostgreSQL only (SQLite refuses a second one)")


def shared_settings(settings, **extra):
    return settings.model_copy(update={
        "monitor_cycle_s": CYCLE_S, "monitor_call_timeout_s": 0.5, "monitor_quick_reprobe_s": 0.2,
        "monitor_flush_s": 0.2, "monitor_reload_s": 0.5, "monitor_details_every_s": 0.0,
        "monitor_member_ttl_s": 2.0, "snapshot_interval_s": 600.0, **extra,
    })


def wait(predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s:.0f} s")
        time.sleep(0.05)


class MonitorThread:
    """A monitor on its own loop, thread and engine."""

    def __init__(self, settings, url: str, *, jobs=(), name: str) -> None:
        self.engine = make_engine(url)
        self.loop = asyncio.new_event_loop()
        self.monitor = Monitor(settings, engine=self.engine, jobs=jobs, record_slots=True, node=name)
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self.monitor.run())
        except BaseException as exc:  # noqa: BLE001 — surfaced by the test
            self.error = exc

    def start(self) -> MonitorThread:
        self.thread.start()
        wait(lambda: self.monitor.ready.is_set() or self.error is not None, f"{self.monitor.node} ready")
        if self.error:
            raise self.error
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the monitor's loop (its state is only touched there)."""
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(WAIT_S)

    def slots(self) -> dict[int, list[int]]:
        return self.call(lambda: {k: list(v) for k, v in (self.monitor.stats.regular_slots or {}).items()})

    def owned(self) -> set[int]:
        return self.call(lambda: set(self.monitor.cameras))

    def clock_slot(self) -> int:
        return self.call(lambda: slot_index(self.monitor.clock(), CYCLE_S))

    def pause(self, until: Callable[[], bool] | None = None) -> threading.Event:
        """Freeze the loop (like SIGSTOP: time goes on, connections stay open), at once or as soon
        as ``until()`` holds on the loop. Set the returned event to let it go on."""
        resume, paused = threading.Event(), threading.Event()

        async def freeze() -> None:
            while until is not None and not until():
                await asyncio.sleep(0.002)
            paused.set()
            resume.wait()  # blocks the loop thread itself

        asyncio.run_coroutine_threadsafe(freeze(), self.loop)
        wait(paused.is_set, f"{self.monitor.node} paused")
        return resume

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.monitor.stop)
            self.thread.join(WAIT_S)
        self.engine.dispose()


@contextmanager
def monitors(settings, url: str, names: list[str], **kwargs: Any) -> Iterator[list[MonitorThread]]:
    started: list[MonitorThread] = []
    try:
        for name in names:
            started.append(MonitorThread(settings, url, name=name, **kwargs.get(name, {})).start())
        yield started
    finally:
        for m in started:
            m.stop()


def all_members_active(group: list[MonitorThread]) -> bool:
    def check(m: MonitorThread) -> bool:
        return m.call(lambda: len(m.monitor.membership.members) == len(group)
                      and all(x.active_from <= m.monitor.clock() for x in m.monitor.membership.members))
    return all(check(m) for m in group)


def owners(group: list[MonitorThread]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for m in group:
        counts.update(m.owned())
    return counts


def probes_per_slot(group: list[MonitorThread]) -> Counter[tuple[int, int]]:
    counts: Counter[tuple[int, int]] = Counter()
    for m in group:
        for camera_id, slots in m.slots().items():
            counts.update((camera_id, s) for s in slots)
    return counts


def assert_no_duplicate_rows(session, camera_ids) -> None:
    """History has one row per change: consecutive rows of a camera always differ."""
    session.expire_all()
    for camera_id in camera_ids:
        rows = session.execute(select(CameraStatusChange.status, CameraStatusChange.reasons_mask)
                               .where(CameraStatusChange.camera_id == camera_id).order_by(CameraStatusChange.at)).all()
        assert all(a != b for a, b in zip(rows, rows[1:])), (camera_id, rows)
    session.commit()


def setup_cameras(session, settings, fleet) -> dict[str, int]:
    commune = make_commune(session, hamlets=3)
    cameras = register_sim_cameras(session, settings, fleet.cameras, commune.hamlets)
    session.commit()
    return {c.name: c.id for c in cameras}


def test_three_monitors_probe_every_camera_once_per_cycle_and_rebalance_on_join(session, settings, engine, database_url):
    postgres_only(engine)
    settings = shared_settings(settings)
    with running_fleet([CameraSpec(name=f"c{i}") for i in range(18)]) as fleet:
        ids = setup_cameras(session, settings, fleet)
        with monitors(settings, database_url, ["m1", "m2", "m3"]) as group:
            wait(lambda: all_members_active(group), "three active members")
            wait(lambda: owners(group) == Counter({i: 1 for i in ids.values()}), "every camera owned once")
            start = group[0].clock_slot() + 1
            wait(lambda: all(max(s, default=-1) >= start + 5
                             for m in [probes_per_slot(group)] for s in
                             [[slot for (c, slot) in m if c == cid] for cid in ids.values()]), "five more cycles")
            end = group[0].clock_slot() - 1
            counts = probes_per_slot(group)
            shares = [len(m.owned()) for m in group]
        # never two probes of one camera in one cycle, including while m2 and m3 were joining
        assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
        for camera_id in ids.values():  # steady state: every camera in every cycle
            assert [s for (c, s) in sorted(counts) if c == camera_id and start <= s <= end] == list(range(start, end + 1))
        assert all(share > 0 for share in shares) and sum(shares) == len(ids)
        assert_no_duplicate_rows(session, ids.values())


class _Counting:
    name = "counting"
    interval_s = 0.2

    def __init__(self) -> None:
        self.calls = 0

    def run_once(self) -> None:
        self.calls += 1


def test_single_run_jobs_run_on_one_monitor_at_a_time(session, settings, engine, database_url):
    postgres_only(engine)
    settings = shared_settings(settings)
    maker = session_factory(engine)
    jobs = [_Counting(), _Counting()]
    wrapped = {f"j{i}": {"jobs": [SingleRunJob(job, maker, f"j{i}", min_ttl_s=2.0)]} for i, job in enumerate(jobs)}
    with running_fleet([CameraSpec(name="c0")]) as fleet:
        setup_cameras(session, settings, fleet)
        with monitors(settings, database_url, ["j0", "j1"], **wrapped):
            wait(lambda: sum(j.calls for j in jobs) >= 10, "ten job runs")
            assert sorted(j.calls == 0 for j in jobs) == [False, True]  # one node ran them all
    with maker() as s:
        assert s.scalar(select(Lease.holder).where(Lease.name == "job:counting")) in ("j0", "j1")


def test_a_paused_monitor_is_fenced_and_writes_no_stale_status_when_it_wakes(session, settings, engine, database_url):
    postgres_only(engine)
    settings = shared_settings(settings, monitor_flush_s=1.0)  # results wait in memory long enough to catch one
    with running_fleet([CameraSpec(name=f"f{i}") for i in range(8)]) as fleet:
        ids = setup_cameras(session, settings, fleet)
        by_id = {v: k for k, v in ids.items()}
        with monitors(settings, database_url, ["a", "b"]) as (a, b):
            wait(lambda: all_members_active([a, b]), "two active members")
            wait(lambda: owners([a, b]) == Counter({i: 1 for i in ids.values()}), "every camera owned once")
            victim = min(a.owned())
            fleet.set_faults(by_id[victim], offline=True)
            stale: list[Any] = []

            def offline_change_waiting() -> bool:  # evaluated on a's loop: nothing runs in between
                for change in a.monitor._batch.changes:
                    if change.camera_id == victim:
                        stale.append(change)
                        return True
                return False

            resume = a.pause(until=offline_change_waiting)  # "SIGSTOP" with the change not yet written
            wait(lambda: victim in b.owned(), "b taking the paused monitor's camera over")

            def b_wrote_offline() -> bool:
                session.expire_all()
                health = session.get(CameraHealth, victim)
                status = session.execute(text("select status from camera where id = :i"), {"i": victim}).scalar()
                session.commit()
                return health is not None and status == "offline"

            wait(b_wrote_offline, "b writing the camera's offline status")
            resume.set()  # "SIGCONT"
            wait(lambda: a.call(lambda: a.monitor.stats.fenced_batches) >= 1, "a's stale batch refused")
            wait(lambda: a.call(lambda: a.monitor.membership.fresh()), "a joining again")
        session.expire_all()
        stale_row = session.scalar(select(CameraStatusChange.at).where(
            CameraStatusChange.camera_id == victim, CameraStatusChange.at == stale[0].at))
        assert stale_row is None  # the paused monitor's change never reached the database
        assert_no_duplicate_rows(session, ids.values())


def test_monitors_wait_while_the_database_refuses_connections_and_resume(session, settings, engine, database_url):
    postgres_only(engine)
    settings = shared_settings(settings)
    name = make_url(database_url).database
    admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def cut(allow: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if allow else "false"}'))
            if not allow:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": name})

    with running_fleet([CameraSpec(name=f"d{i}") for i in range(6)]) as fleet:
        ids = setup_cameras(session, settings, fleet)
        session.close()
        with monitors(settings, database_url, ["p", "q"]) as group:
            wait(lambda: all_members_active(group), "two active members")
            wait(lambda: owners(group) == Counter({i: 1 for i in ids.values()}), "every camera owned once")
            try:
                cut(allow=False)
                # membership runs out: both stop probing instead of guessing who owns what
                wait(lambda: all(m.call(lambda m=m: not m.monitor.membership.fresh()) for m in group), "probing paused")
                skipped = [m.call(lambda m=m: m.monitor.stats.skipped_not_member) for m in group]
                wait(lambda: sum(m.call(lambda m=m: m.monitor.stats.skipped_not_member) for m in group) > sum(skipped),
                     "slots skipped while the database is away")
            finally:
                cut(allow=True)
            wait(lambda: owners(group) == Counter({i: 1 for i in ids.values()}), "every camera owned once again")
            resumed = group[0].clock_slot() + 2
            wait(lambda: all(any(c == cid and s >= resumed for (c, s) in probes_per_slot(group)) for cid in ids.values()),
                 "every camera probed again")
            counts = probes_per_slot(group)
        assert max(counts.values()) == 1
    admin.dispose()
    with session_factory(engine)() as s:
        assert_no_duplicate_rows(s, ids.values())


def test_a_batch_gathered_before_a_rejoin_is_fenced_though_the_monitor_is_a_member_again(engine, database_url):
    """The race the SIGSTOP test can hit: the heartbeat finds the fence and rejoins (new epoch)
    while a flush of the old epoch's batch waits for the database thread. Checked against the
    epoch the batch was gathered in, it is refused; checked against "the current epoch" it was written."""
    postgres_only(engine)
    member_engine = make_engine(database_url)
    member = Membership(member_engine, "racer", ttl_s=10, gap_s=1)
    member.join()
    gathered_in = member.epoch
    try:
        with session_factory(engine)() as s, s.begin():  # the others presume it dead
            s.execute(text("delete from monitor_member where node = 'racer'"))
        with pytest.raises(Fenced):
            member.heartbeat()
        member.join()  # the rejoin wins the race
        assert member.epoch != gathered_in and member.fresh()
        with session_factory(member_engine)() as s, s.begin():
            with pytest.raises(Fenced, match=str(gathered_in)):
                member.fence(s, gathered_in)
        with session_factory(member_engine)() as s, s.begin():
            member.fence(s)  # the new epoch's batches go through
    finally:
        member.leave()
        member_engine.dispose()


def test_sqlite_refuses_a_second_monitor_with_a_clear_message(tmp_path):
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    upgrade(url)
    first_engine, second_engine = make_engine(url), make_engine(url)
    first = Membership(first_engine, "first", ttl_s=10, gap_s=1)
    first.join()
    try:
        with pytest.raises(SecondMonitorRefused) as refused:
            Membership(second_engine, "second", ttl_s=10, gap_s=1).join()
        assert "SQLite chỉ cho phép một tiến trình giám sát" in refused.value.message
        assert "allows one monitor only" in refused.value.message and "PostgreSQL" in refused.value.message
    finally:
        first.leave()
    again = Membership(second_engine, "second", ttl_s=10, gap_s=1)
    again.join()  # the first one left: the next one starts at once
    assert again.fresh()
    again.leave()
    first_engine.dispose()
    second_engine.dispose()


# --- real processes: SIGKILL one monitor ------------------------------------------------------------


def _process_env(data_dir, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_OPS_")}
    env.update(CAMERA_OPS_DATA_DIR=str(data_dir), CAMERA_OPS_DATABASE_URL=url, CAMERA_OPS_MONITOR_CYCLE_S="1",
               CAMERA_OPS_MONITOR_RELOAD_S="0.5", CAMERA_OPS_MONITOR_FLUSH_S="0.2",
               CAMERA_OPS_MONITOR_CALL_TIMEOUT_S="0.5", CAMERA_OPS_MONITOR_MEMBER_TTL_S="2",
               CAMERA_OPS_MONITOR_DETAILS_EVERY_S="0", CAMERA_OPS_SNAPSHOT_INTERVAL_S="600",
               CAMERA_OPS_ALERT_CHECK_S="0.5", CAMERA_OPS_MONITOR_OPS_PORT="0")
    return env


def test_a_killed_monitor_process_s_cameras_are_taken_over(session, settings, engine, database_url, tmp_path):
    postgres_only(engine)
    settings = shared_settings(settings)
    with running_fleet([CameraSpec(name=f"k{i}") for i in range(10)]) as fleet:
        ids = setup_cameras(session, settings, fleet)
        session.close()
        processes = []
        try:
            for i in range(2):
                with open(tmp_path / f"monitor{i}.log", "wb") as out:
                    processes.append(subprocess.Popen([sys.executable, "-m", "camera_ops.cli", "monitor"],
                                                      env=_process_env(settings.data_dir, database_url),
                                                      stdout=out, stderr=subprocess.STDOUT))

            def members() -> dict[str, int]:
                with session_factory(engine)() as s:
                    return dict(s.execute(select(MonitorMember.node, MonitorMember.cameras)).all())

            wait(lambda: len(members()) == 2 and all(n > 0 for n in members().values()), "two members sharing cameras")
            victim = processes[0]
            victim_node = next(node for node in members() if f":{victim.pid}:" in node)
            victim.send_signal(signal.SIGKILL)
            victim.wait(WAIT_S)
            with session_factory(engine)() as s:
                killed_at = s.execute(text("select clock_timestamp()")).scalar()

            def all_probed_since_kill() -> bool:
                with session_factory(engine)() as s:
                    probed = dict(s.execute(select(CameraHealth.camera_id, CameraHealth.last_probe_at)).all())
                return all(probed.get(cid) is not None and probed[cid] > killed_at for cid in ids.values())

            wait(all_probed_since_kill, "every camera probed again after the kill")
            assert victim_node not in members() and list(members().values()) == [len(ids)]
            def alert_job_holder() -> str | None:
                with session_factory(engine)() as s:
                    return s.scalar(select(Lease.holder).where(Lease.name == "job:alerts"))

            wait(lambda: alert_job_holder() not in (None, victim_node), "the survivor running the alert job")
            # the survivor's own health and metrics say the same
            found = re.search(r"health and metrics on (http://127\.0\.0\.1:\d+)",
                              (tmp_path / "monitor1.log").read_text(encoding="utf-8", errors="replace"))
            assert found, "the monitor logs where its health and metrics are"
            assert httpx.get(found.group(1) + "/readyz", timeout=30).status_code == 200
            owned = re.search(r"^camera_ops_monitor_cameras_owned (\S+)$",
                              httpx.get(found.group(1) + "/metrics", timeout=30).text, re.MULTILINE)
            assert owned and float(owned.group(1)) == len(ids)
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    p.wait(WAIT_S)
        survivor_log = (tmp_path / "monitor1.log").read_text(encoding="utf-8", errors="replace")
        assert "took over from dead monitor" in survivor_log and "Traceback" not in survivor_log
        assert_no_duplicate_rows(session, ids.values())


def test_monitors_starting_at_the_same_moment_divide_the_cameras_once(session, settings, engine, database_url):
    """Both find cameras without a camera_health row and both find the group empty: the rows are
    inserted once (the other insert is a no-op) and the joins are serialized (one waits its turn)."""
    postgres_only(engine)
    settings = shared_settings(settings)
    with running_fleet([CameraSpec(name=f"s{i}") for i in range(8)]) as fleet:
        ids = setup_cameras(session, settings, fleet)
        session.close()
        group = [MonitorThread(settings, database_url, name=n) for n in ("s1", "s2")]
        try:
            for m in group:
                m.thread.start()
            wait(lambda: all(m.monitor.ready.is_set() or m.error for m in group), "both monitors started")
            assert [m.error for m in group] == [None, None]
            wait(lambda: all_members_active(group), "two active members")
            wait(lambda: owners(group) == Counter({i: 1 for i in ids.values()}), "every camera owned once")
            active = sorted(m.call(lambda m=m: m.monitor.membership.members) for m in group)[0]
            assert active[0].active_from != active[1].active_from  # the second joiner waited for the first
        finally:
            for m in group:
                m.stop()


def test_two_monitors_adding_the_same_health_rows_at_once_do_not_collide(session, settings, engine):
    from camera_ops.monitor.store import ensure_health_rows

    postgres_only(engine)
    with running_fleet([CameraSpec(name="h0")]) as fleet:
        setup_cameras(session, settings, fleet)
    session.close()
    maker = session_factory(engine)
    first = maker()
    assert ensure_health_rows(first) == 1  # not committed yet: the second one waits for it
    outcome: list[object] = []

    def second() -> None:
        with maker() as other, other.begin():
            outcome.append(ensure_health_rows(other))

    racer = threading.Thread(target=second)
    racer.start()
    time.sleep(0.5)  # let it reach the insert (if it has not, it simply finds the row: the same outcome)
    first.commit()
    first.close()
    racer.join(WAIT_S)
    assert outcome == [0]  # it waited for the first one's transaction, found the row there, raised nothing
    with maker() as s:
        assert s.scalar(select(func.count()).select_from(CameraHealth)) == 1


# --- a clock jump on one node -------------------------------------------------------------------------


class _NodeWallClock:
    """One in-process "node"'s wall clock jumps: ``time.time()`` and every module's ``utcnow`` give
    ``offset_s`` more on the threads whose name carries ``node`` (the monitor's loop thread and its
    database, membership and job threads), the true time elsewhere (the other monitor, the
    simulated cameras, the test)."""

    def __init__(self, monkeypatch, node: str) -> None:
        import storage.types

        self.node = node
        self.offset_s = 0.0
        real_time, real_utcnow = time.time, storage.types.utcnow

        def jumped_time() -> float:
            return real_time() + self._offset()

        def jumped_utcnow():
            return real_utcnow() + timedelta(seconds=self._offset())

        monkeypatch.setattr(time, "time", jumped_time)
        for module in list(sys.modules.values()):
            if getattr(module, "utcnow", None) is real_utcnow and (module.__name__ or "").startswith(
                    ("camera_ops", "storage", "api")):
                monkeypatch.setattr(module, "utcnow", jumped_utcnow)

    def _offset(self) -> float:
        return self.offset_s if self.node in threading.current_thread().name else 0.0


class _NowRecorder:
    name = "now-recorder"
    interval_s = 0.2

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def run_once(self, now=None) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(now)


def test_a_wall_clock_jump_on_one_node_changes_no_probe_slot_row_time_lease_or_membership(
        session, settings, engine, database_url, monkeypatch):
    """One monitor's wall clock jumps 10 minutes forward, then 10 minutes back, while it probes
    half the fleet (full checks that read the cameras' clocks included) and writes an outage:
    every camera is still probed once per cycle (no double probe, no storm), no camera is said to
    be off by ten minutes, every history row is dated inside the run on the database's clock and
    in order, the job lease and both memberships stay where they were."""
    postgres_only(engine)
    # the clocks are read every other cycle; membership and lease lives of several seconds and call
    # deadlines of 1.5 s, so that only the jump (not a loaded machine's stall) could lose them or
    # fail a probe
    settings = shared_settings(settings, monitor_full_check_s=1.5, monitor_member_ttl_s=5.0,
                               monitor_call_timeout_s=1.5)
    maker = session_factory(engine)
    recorders = {"jumper": _NowRecorder(), "steady": _NowRecorder()}
    jobs = {n: {"jobs": [SingleRunJob(r, maker, n, min_ttl_s=10.0)]} for n, r in recorders.items()}
    wall = _NodeWallClock(monkeypatch, "jumper")

    def db_now():
        session.expire_all()
        value = session.scalar(text("SELECT clock_timestamp()"))
        session.commit()
        return value

    def status_of(camera_id: int) -> tuple[str, list[str]]:
        row = session.execute(text("select status, status_reasons from camera where id = :i"), {"i": camera_id}).one()
        session.commit()
        return row[0], list(row[1] or [])

    def lease() -> tuple[str, int]:
        row = session.execute(select(Lease.holder, Lease.token).where(Lease.name == "job:now-recorder")).one()
        session.commit()
        return row.holder, row.token

    def history() -> set[tuple[int, Any, str]]:
        rows = session.execute(select(CameraStatusChange.camera_id, CameraStatusChange.at, CameraStatusChange.status))
        found = {(r.camera_id, r.at, r.status.value) for r in rows}
        session.commit()
        return found

    def epochs() -> dict[str, int]:
        rows = session.execute(select(MonitorMember.node, MonitorMember.epoch)).all()
        session.commit()
        return dict(rows)

    with running_fleet([CameraSpec(name=f"j{i}") for i in range(12)]) as fleet:
        ids = setup_cameras(session, settings, fleet)
        by_id = {v: k for k, v in ids.items()}
        with monitors(settings, database_url, ["jumper", "steady"], **jobs) as (jumper, steady):
            group = [jumper, steady]
            wait(lambda: all_members_active(group), "two active members")
            wait(lambda: owners(group) == Counter({i: 1 for i in ids.values()}), "every camera owned once")
            try:
                wait(lambda: all(status_of(i)[0] == "online" for i in ids.values()), "every camera online")
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {[(i, status_of(i)) for i in ids.values()]}") from None
            wait(lambda: lease()[1] >= 1 and sum(len(r.seen) for r in recorders.values()) >= 2, "the job running")
            before = {"lease": lease(), "epochs": epochs(), "t0": db_now(), "history": history(),
                      "fenced": jumper.call(lambda: jumper.monitor.stats.fenced_batches),
                      "skipped": jumper.call(lambda: jumper.monitor.stats.skipped_not_member),
                      "seen": {n: len(r.seen) for n, r in recorders.items()}}
            mine = jumper.owned()
            assert len(mine) >= 2, mine  # rendezvous hashing gives each about half
            victim = min(mine)
            start = jumper.clock_slot() + 1

            def cycles_later(n: int) -> Callable[[], bool]:
                until = jumper.clock_slot() + n
                return lambda: jumper.clock_slot() >= until

            wall.offset_s = 600.0
            wait(cycles_later(4), "four cycles with the clock ten minutes ahead")
            wall.offset_s = -600.0
            fleet.set_faults(by_id[victim], offline=True)  # an outage written by the jumped node
            wait(lambda: status_of(victim)[0] == "offline", "the outage written")
            fleet.clear_faults(by_id[victim])
            wait(lambda: status_of(victim)[0] == "online", "the recovery written")
            wait(cycles_later(4), "four more cycles with the clock ten minutes behind")
            end = jumper.clock_slot() - 1
            wall.offset_s = 0.0
            counts = probes_per_slot(group)
            completed = jumper.call(lambda: dict(jumper.monitor.stats.completed))
            after = {"lease": lease(), "epochs": epochs(), "t1": db_now(),
                     "fenced": jumper.call(lambda: jumper.monitor.stats.fenced_batches),
                     "skipped": jumper.call(lambda: jumper.monitor.stats.skipped_not_member)}
            assert jumper.owned() == mine

        # one probe of a camera per cycle, every cycle; no burst of extra probes on the jumped node
        assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
        for camera_id in set(ids.values()) - {victim}:  # (the victim's re-probes may hold a regular slot)
            slots = [s for (c, s) in sorted(counts) if c == camera_id and start <= s <= end]
            assert slots == list(range(start, end + 1)), (camera_id, camera_id in mine, slots)
        for camera_id in mine - {victim}:
            assert completed[camera_id] <= end + 4 - min(s for (c, s) in counts if c == camera_id), camera_id
        # history: the outage and the recovery only, dated inside the run on the database's clock, in order
        t0, t1 = before["t0"], after["t1"]
        recent = sorted(history() - before["history"])
        assert {c for c, _, _ in recent} == {victim}, recent
        assert [status for _, _, status in recent] == ["offline", "online"]
        # a probe that began just before t0 was read dates its row then (the margin the probe times get below)
        assert all(t0 - timedelta(seconds=5) <= at <= t1 for _, at, _ in recent), (t0, recent, t1)
        assert max(at for c, at, _ in before["history"] if c == victim) < recent[0][1]
        assert_no_duplicate_rows(session, ids.values())
        for camera_id in ids.values():  # nobody's clock was called ten minutes off
            status, reasons = status_of(camera_id)
            assert status == "online" and "clock_drift" not in reasons, (camera_id, status, reasons)
            probed = session.scalar(select(CameraHealth.last_probe_at).where(CameraHealth.camera_id == camera_id))
            assert t0 - timedelta(seconds=5) <= probed <= t1, (camera_id, probed)
        # leases and memberships held on as they were; the job's "now" is the database's
        assert after["lease"] == before["lease"]
        assert after["epochs"] == before["epochs"]
        assert (after["fenced"], after["skipped"]) == (before["fenced"], before["skipped"])
        holder = after["lease"][0]
        assert len(recorders[holder].seen) > before["seen"][holder]
        other = "steady" if holder == "jumper" else "jumper"
        assert len(recorders[other].seen) == before["seen"][other]
        ran = recorders[holder].seen[before["seen"][holder]:]
        assert all(t0 <= now <= t1 for now in ran), (t0, ran, t1)
