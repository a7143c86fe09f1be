"""Durable archive jobs: leases, heartbeats, retries with backoff.

A worker claims the oldest due job inside a write transaction: on PostgreSQL with ``SELECT ... FOR
UPDATE SKIP LOCKED`` (workers never wait on each other's rows), on SQLite under ``BEGIN IMMEDIATE``
(one writer at a time; SQLAlchemy leaves ``FOR UPDATE`` out there). The claim sets a lease; the
worker renews it while it works. A job whose lease ran out belongs to a worker that died: it is
due again, and its attempt counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models_evidence import ArchiveJob, JobState
from storage.types import utcnow


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop touching it."""


@dataclass(frozen=True)
class Claim:
    job_id: int
    clip_id: int
    attempt: int
    owner: str
    aborted_by: str | None = None  # the worker whose lease ran out mid-job (it died), if any
    aborted_attempt: int | None = None
    exhausted: bool = False  # that was the last allowed attempt: close the job, do not run it


def backoff_s(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Delay before the next attempt after ``attempt`` failed: base, 2×base, 4×base … capped."""
    return min(cap_s, base_s * 2 ** max(0, attempt - 1))


def claim_next(session: Session, *, owner: str, lease_s: float, now: datetime | None = None,
               max_attempts: int | None = None) -> Claim | None:
    """Lease the next due job (commits nothing: the caller's transaction does).

    A job still ``running`` with an expired lease was cut short (its worker died): the claim says
    so (``aborted_by``), and if that was attempt ``max_attempts`` it is ``exhausted`` — claimed
    only to be closed, its attempt count unchanged."""
    now = now or utcnow()
    due = or_(
        and_(ArchiveJob.state == JobState.queued, ArchiveJob.not_before <= now),
        and_(ArchiveJob.state == JobState.running, ArchiveJob.lease_until < now),
    )
    query = (select(ArchiveJob).where(due).order_by(ArchiveJob.not_before, ArchiveJob.id).limit(1)
             .with_for_update(skip_locked=True))
    job = session.scalars(query).first()
    if job is None:
        return None
    aborted_by = job.lease_owner if job.state is JobState.running else None
    aborted_attempt = job.attempts if aborted_by is not None else None
    exhausted = aborted_by is not None and max_attempts is not None and job.attempts >= max_attempts
    job.state, job.lease_owner = JobState.running, owner
    job.lease_until = now + timedelta(seconds=lease_s)
    if not exhausted:
        job.attempts += 1
    session.flush()
    return Claim(job.id, job.clip_id, job.attempts, owner, aborted_by, aborted_attempt, exhausted)


def renew_lease(session: Session, claim: Claim, *, lease_s: float) -> None:
    result = session.execute(
        update(ArchiveJob)
        .where(ArchiveJob.id == claim.job_id, ArchiveJob.lease_owner == claim.owner,
               ArchiveJob.state == JobState.running)
        .values(lease_until=utcnow() + timedelta(seconds=lease_s))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(f"job {claim.job_id} is no longer ours")


def held_job(session: Session, claim: Claim) -> ArchiveJob:
    job = session.get(ArchiveJob, claim.job_id, with_for_update=True)
    if job is None or job.lease_owner != claim.owner or job.state is not JobState.running:
        raise LeaseLost(f"job {claim.job_id} is no longer ours")
    return job


def finish(session: Session, claim: Claim) -> None:
    job = held_job(session, claim)
    job.state, job.lease_owner, job.lease_until, job.last_error = JobState.done, None, None, None


def give_up(session: Session, claim: Claim, reason: str) -> None:
    job = held_job(session, claim)
    job.state, job.lease_owner, job.lease_until, job.last_error = JobState.failed, None, None, reason


def retry_later(session: Session, claim: Claim, reason: str, *, delay_s: float) -> datetime:
    job = held_job(session, claim)
    job.state, job.lease_owner, job.lease_until, job.last_error = JobState.queued, None, None, reason
    job.not_before = utcnow() + timedelta(seconds=delay_s)
    return job.not_before
