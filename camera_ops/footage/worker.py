"""``camera-ops worker``: runs archive jobs and writes custody checkpoints on a schedule.

Each worker process has a name (host:pid) that goes on its leases. ``run_once`` does at most one
job; ``run_forever`` loops until stopped (SIGTERM/SIGINT set the stop event). Several workers on
one database share the queue safely (see :mod:`camera_ops.footage.jobs`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from camera_ops.custody.anchor import CheckpointKeeper
from camera_ops.footage import jobs
from camera_ops.footage.archive import Outcome, hand_back, run_claim
from camera_ops.health_endpoints import OK, CheckResult, OpsServer, database_check, schema_check
from camera_ops.metrics import WorkerCounts, registry_for, worker_metrics
from camera_ops.readiness import custody_anchor_check
from camera_ops.settings import Settings
from storage.clipstore.base import ClipStore, clip_store_for
from storage.db import session_scope

log = logging.getLogger(__name__)


def database_lost(exc: BaseException) -> bool:
    """The database went away (refused, terminated, network), not a statement that failed."""
    return isinstance(exc, DBAPIError) and (isinstance(exc, (OperationalError, InterfaceError))
                                            or exc.connection_invalidated)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, engine: Engine, settings: Settings, *, store: ClipStore | None = None,
                 name: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.store = store or clip_store_for(settings)
        self.name = name or worker_name()
        self.checkpoints = CheckpointKeeper(engine, settings, store=self.store, owner=f"worker:{self.name}")
        self.counts = WorkerCounts()  # for /metrics
        self.last_tick = time.monotonic()  # the main loop's last turn (/healthz)
        self.interrupted: jobs.Claim | None = None  # a job whose attempt the database's loss cut short
        self.database_away = False  # logged once per outage, not at every poll

    def run_once(self) -> Outcome | None:
        """Claim and run one due job; None when nothing is due. A job cut short by the database
        going away is handed back first (its lease would hold it for ``worker_lease_s``)."""
        if self.interrupted is not None:
            if not hand_back(self.engine, self.settings, self.interrupted, "database unreachable"):
                return None  # still away: wait a poll
            self.interrupted = None
        with session_scope(self.engine) as session:
            claim = jobs.claim_next(session, owner=self.name, lease_s=self.settings.worker_lease_s,
                                    max_attempts=self.settings.archive_max_attempts)
        if claim is None:
            return None
        log.info("job %s (clip %s), attempt %s", claim.job_id, claim.clip_id, claim.attempt)
        started = time.monotonic()
        try:
            outcome = run_claim(self.engine, self.store, self.settings, claim)
        except DBAPIError as exc:
            if database_lost(exc):
                self.interrupted = claim  # the pipeline could not even record its failure
            raise
        self.counts.job_done(outcome.status.value, time.monotonic() - started)
        log.info("clip %s: %s %s", outcome.clip_id, outcome.status.value, outcome.reason or "")
        return outcome

    def run_until_idle(self, max_jobs: int = 1000) -> list[Outcome]:
        """Every job due now (tests, ``worker --once``)."""
        done: list[Outcome] = []
        while len(done) < max_jobs and (outcome := self.run_once()) is not None:
            done.append(outcome)
        return done

    def checkpoint_if_due(self, *, force: bool = False) -> None:
        """A checkpoint when the interval has passed and this process holds the writer's lease
        (``force``: now, lease or not; ``CheckpointFailed`` if it cannot be written)."""
        if force:
            self.checkpoints.write_now()
        else:
            self.checkpoints.tick()

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker %s started (store: %s)", self.name, self.store.name)
        while not stop.is_set():
            self.last_tick = time.monotonic()
            self.checkpoint_if_due()
            try:
                outcome = self.run_once()
                if self.database_away and self.interrupted is None:
                    self.database_away = False
                    log.warning("worker %s: the database answers again; archive jobs resume", self.name)
            except Exception as exc:  # noqa: BLE001 - one broken job must not stop the queue
                if not database_lost(exc):
                    log.exception("archive job crashed; its lease will expire and it will be retried")
                elif not self.database_away:
                    self.database_away = True
                    log.error("ALERT worker %s: the database is unreachable (%s); waiting for it",
                              self.name, type(exc).__name__)
                outcome = None
            if outcome is None:
                stop.wait(self.settings.worker_poll_s)
        log.info("worker %s stopped", self.name)


def ops_server(worker: Worker) -> OpsServer | None:
    """``/healthz`` ``/readyz`` ``/metrics`` of this worker, when ``worker_ops_port`` is set."""
    settings = worker.settings
    if settings.worker_ops_port is None:
        return None
    stall_s = 2 * settings.worker_lease_s  # one archive job may run this long between turns

    def loop_turns() -> CheckResult:
        idle = time.monotonic() - worker.last_tick
        return OK if idle < stall_s else CheckResult(False, "loop_stalled", {"seconds": round(idle)})

    def clip_store() -> CheckResult:
        try:
            worker.store.ensure_ready()
        except Exception as exc:  # noqa: BLE001 — any failure means clips cannot be archived
            return CheckResult(False, "clip_store_unreachable", {"error": exc.__class__.__name__})
        return OK

    _, expose = registry_for(lambda: worker_metrics(worker.engine, worker.counts))
    return OpsServer(
        bind=settings.ops_bind, port=settings.worker_ops_port, token=settings.ops_token, metrics=expose,
        live={"loop": loop_turns},
        ready={"database": database_check(worker.engine), "schema": schema_check(worker.engine), "clip_store": clip_store,
               "custody_anchor": custody_anchor_check(worker.engine, settings)},
    )
