"""Named leases (camera_ops.leases): one holder at a time, fencing tokens, takeover after expiry,
single-run jobs — on SQLite and, with the db-marked suite, PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from camera_ops import leases
from camera_ops.leases import LeaseKeeper, LeaseLost, SingleRunJob, acquire, check
from storage.db import session_factory
from storage.models_cluster import Lease

pytestmark = pytest.mark.db


def _expire(engine, name: str) -> None:
    """Make the lease look expired (instead of waiting out its TTL)."""
    with session_factory(engine)() as s, s.begin():
        s.execute(update(Lease).where(Lease.name == name).values(expires_at=leases.db_now(s) - timedelta(seconds=1)))


def test_one_holder_at_a_time_and_the_token_grows_on_takeover(engine):
    maker = session_factory(engine)
    with maker() as s, s.begin():
        a = acquire(s, "job:x", "node-a", 30)
    with maker() as s, s.begin():
        assert acquire(s, "job:x", "node-b", 30) is None
    with maker() as s, s.begin():
        renewed = acquire(s, "job:x", "node-a", 30)
    assert a is not None and renewed is not None and renewed.token == a.token == 1
    _expire(engine, "job:x")
    with maker() as s, s.begin():
        b = acquire(s, "job:x", "node-b", 30)
    assert b is not None and b.token == 2
    # node-a's writes are fenced: its grant no longer checks
    with maker() as s, s.begin(), pytest.raises(LeaseLost):
        check(s, renewed)
    with maker() as s, s.begin():
        check(s, b)


def test_release_lets_another_node_take_it_at_once(engine):
    maker = session_factory(engine)
    a = LeaseKeeper(maker, "job:y", "node-a", 60)
    b = LeaseKeeper(maker, "job:y", "node-b", 60)
    assert a.try_hold() is not None and a.held()
    assert b.try_hold() is None and not b.held()
    a.release()
    assert b.try_hold() is not None and b.held()


def test_many_nodes_racing_for_one_lease_get_exactly_one_grant(engine):
    maker = session_factory(engine)
    grants: list[object] = []
    barrier = threading.Barrier(6)

    def race(i: int) -> None:
        barrier.wait()
        with maker() as s, s.begin():
            grant = acquire(s, "job:race", f"node-{i}", 30)
        if grant is not None:
            grants.append(grant)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(grants) == 1


class _Counting:
    name = "count"
    interval_s = 1.0

    def __init__(self) -> None:
        self.calls = 0

    def run_once(self) -> int:
        self.calls += 1
        return self.calls


def test_a_single_run_job_runs_on_one_node_only(engine):
    maker = session_factory(engine)
    job_a, job_b = _Counting(), _Counting()
    node_a = SingleRunJob(job_a, maker, "node-a")
    node_b = SingleRunJob(job_b, maker, "node-b")
    for _ in range(3):
        node_a.run_once()
        node_b.run_once()
    assert (job_a.calls, job_b.calls) == (3, 0)
    node_a.close()  # a clean stop hands the job over at once
    node_b.run_once()
    assert job_b.calls == 1


def test_a_single_run_job_gets_the_database_s_time_of_its_grant_not_the_node_s(engine, monkeypatch):
    """A job that takes ``now`` runs on the database's clock: this node's wall clock ten minutes
    ahead (utcnow patched where the job would read it) does not reach it. On SQLite the database's
    clock is this machine's: the check applies to PostgreSQL."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's clock is this machine's own")
    import storage.types

    seen = []

    class Job:
        name = "clocked"
        interval_s = 1.0

        def run_once(self, now=None):  # type: ignore[no-untyped-def]
            seen.append(now or storage.types.utcnow())

    maker = session_factory(engine)
    real = storage.types.utcnow
    monkeypatch.setattr(storage.types, "utcnow", lambda: real() + timedelta(minutes=10))
    with maker() as s:
        before = leases.db_now(s)
    job = SingleRunJob(Job(), maker, "node-a")
    job.run_once()
    with maker() as s:
        after = leases.db_now(s)
    assert len(seen) == 1 and before <= seen[0] <= after
    assert job.keeper.grant is not None and seen[0] == job.keeper.grant.granted_at
