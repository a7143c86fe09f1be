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

from sqlalchemy import Engine

from camera_ops.custody.anchor import CheckpointKeeper
from camera_ops.footage import jobs
from camera_ops.footage.archive import Outcome, run_claim
from camera_ops.settings import Settings
from storage.clipstore.base import ClipStore, clip_store_for
from storage.db import session_scope

log = logging.getLogger(__name__)


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

    def run_once(self) -> Outcome | None:
        """Claim and run one due job; None when nothing is due."""
        with session_scope(self.engine) as session:
            claim = jobs.claim_next(session, owner=self.name, lease_s=self.settings.worker_lease_s,
                                    max_attempts=self.settings.archive_max_attempts)
        if claim is None:
            return None
        log.info("job %s (clip %s), attempt %s", claim.job_id, claim.clip_id, claim.attempt)
        outcome = run_claim(self.engine, self.store, self.settings, claim)
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
            self.checkpoint_if_due()
            try:
                outcome = self.run_once()
            except Exception:  # noqa: BLE001 - one broken job must not stop the queue
                log.exception("archive job crashed; its lease will expire and it will be retried")
                outcome = None
            if outcome is None:
                stop.wait(self.settings.worker_poll_s)
        log.info("worker %s stopped", self.name)
