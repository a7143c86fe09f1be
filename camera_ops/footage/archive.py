"""The archive pipeline for one claimed job: acquire → upload → re-hash from storage → manifest
→ mark archived (or partial), with the custody events, in one final transaction.

No database transaction is held during network work (SQLite has one writer). The spool file and
its ``.json`` facts survive a failed upload, so a retry after "S3 unreachable" uploads the same
bytes instead of pulling the camera again. Before every put the store is asked whether the key
exists: an object left by a crashed attempt is re-hashed and adopted, never duplicated.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from camera_ops import faults
from camera_ops.custody.ledger import Actor, EventType, append
from camera_ops.errors import (
    CameraAuthFailed,
    CameraError,
    CameraOpsError,
    ClipUnavailable,
    IntegrityError,
    NoFootage,
    ReplayUnsupported,
    StorageUnavailable,
)
from camera_ops.footage import jobs
from camera_ops.footage.acquire import Acquired, CameraTarget, acquire
from camera_ops.footage.integrity import check_digest, rehash
from camera_ops.footage.manifest import build_manifest, manifest_bytes, manifest_key, object_key, object_metadata
from camera_ops.registry.cameras import camera_password
from camera_ops.settings import Settings
from storage.clipstore.base import ClipStore, ObjectLock
from storage.db import session_scope
from storage.models import Camera, CameraKind, PlaybackClock
from storage.models_evidence import AcquisitionMethod, Clip, ClipRequest, ClipStatus
from storage.types import utcnow

log = logging.getLogger(__name__)

# Worth another attempt later: the camera or the store may come back, the transfer may complete.
TRANSIENT = (CameraError, StorageUnavailable)
# Never worth retrying: the answer will not change.
PERMANENT = (NoFootage, IntegrityError, ReplayUnsupported, CameraAuthFailed)


@dataclass(frozen=True)
class Outcome:
    clip_id: int
    status: ClipStatus
    reason: str | None = None


@dataclass(frozen=True)
class _Job:
    """What the pipeline needs, read once in a short transaction."""

    clip_id: int
    method: AcquisitionMethod
    start: datetime
    end: datetime
    key: str
    manifest_key: str
    target: CameraTarget
    legal_hold: bool


class _LeaseKeeper(threading.Thread):
    """Renews the job's lease every third of its length until stopped."""

    def __init__(self, engine: Engine, claim: jobs.Claim, lease_s: float) -> None:
        super().__init__(name=f"lease-{claim.job_id}", daemon=True)
        self.engine, self.claim, self.lease_s = engine, claim, lease_s
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stopped.wait(self.lease_s / 3):
            try:
                with session_scope(self.engine) as session:
                    jobs.renew_lease(session, self.claim, lease_s=self.lease_s)
            except jobs.LeaseLost:
                self.lost = True
                return
            except Exception:  # noqa: BLE001 - a DB blip: try again next round, the lease has slack
                log.warning("could not renew lease of job %s", self.claim.job_id, exc_info=True)


def spool_paths(settings: Settings, clip_id: int) -> tuple[Path, Path]:
    base = settings.data_dir / "spool"
    base.mkdir(parents=True, exist_ok=True)
    return base / f"clip-{clip_id}.mp4", base / f"clip-{clip_id}.json"


def run_claim(engine: Engine, store: ClipStore, settings: Settings, claim: jobs.Claim) -> Outcome:
    actor = Actor(f"worker:{claim.owner}", "system")
    with session_scope(engine) as session:
        job = _load(session, settings, claim.clip_id)
        clip = session.get(Clip, claim.clip_id)
        assert clip is not None
        if claim.aborted_by is not None:  # the previous attempt's worker died mid-job: on the trail
            append(session, EventType.attempt_aborted, actor, case_id=clip.case_id, clip_id=clip.id,
                   details={"attempt": claim.aborted_attempt, "worker": claim.aborted_by,
                            "status": clip.status.value})
        if clip.status in (ClipStatus.archived, ClipStatus.partial):  # finished before a crash
            jobs.finish(session, claim)
            return Outcome(clip.id, clip.status)
        if claim.exhausted:
            return _give_up_exhausted(session, settings, claim, clip, actor)
        clip.status, clip.status_reason = ClipStatus.acquiring, None
    keeper = _LeaseKeeper(engine, claim, settings.worker_lease_s)
    keeper.start()
    try:
        return _run(engine, store, settings, claim, job, actor)
    except jobs.LeaseLost:
        log.warning("job %s was taken over by another worker; leaving it", claim.job_id)
        return Outcome(claim.clip_id, ClipStatus.queued, "lease lost")
    finally:
        keeper.stopped.set()
        keeper.join()


def hand_back(engine: Engine, settings: Settings, claim: jobs.Claim, reason: str) -> bool:
    """An attempt this worker could not finish because the database went away under it: once the
    database answers again, the job is queued at once (not left until its lease runs out) and the
    cut-short attempt goes on the trail; at the attempt limit the clip is closed as failed.
    Nothing happens when the job is no longer ours: finished (the last commit went through before
    the connection died) or taken over. False while the database is still away (the caller asks
    again on its next turn)."""
    actor = Actor(f"worker:{claim.owner}", "system")
    try:
        with session_scope(engine) as session:
            try:
                job = jobs.held_job(session, claim)
            except jobs.LeaseLost:
                return True
            clip = session.get(Clip, claim.clip_id)
            assert clip is not None
            append(session, EventType.attempt_aborted, actor, case_id=clip.case_id, clip_id=clip.id,
                   details={"attempt": claim.attempt, "worker": claim.owner, "status": clip.status.value,
                            "reason": reason})
            if claim.attempt >= settings.archive_max_attempts:
                gave_up = f"gave up after {claim.attempt} attempts (the last was cut short: {reason})"
                jobs.give_up(session, claim, gave_up)
                clip.status, clip.status_reason = ClipStatus.failed, gave_up
                append(session, EventType.acquisition_failed, actor, case_id=clip.case_id, clip_id=clip.id,
                       details={"reason": gave_up, "error": "attempts_exhausted", "attempts": claim.attempt})
            else:
                jobs.retry_later(session, claim, reason, delay_s=0)
                clip.status = ClipStatus.queued
                clip.status_reason = f"attempt {claim.attempt} was cut short ({reason}); retrying now"
            log.warning("job %s (clip %s): attempt %s handed back (%s)", job.id, clip.id, claim.attempt, reason)
    except SQLAlchemyError:
        return False
    return True


def _give_up_exhausted(session: Session, settings: Settings, claim: jobs.Claim, clip: Clip, actor: Actor) -> Outcome:
    """Every allowed attempt was used (the last ones died mid-job): failed, never a 6th try."""
    reason = f"gave up after {claim.aborted_attempt} attempts (the last was cut short: worker {claim.aborted_by} died)"
    jobs.give_up(session, claim, reason)
    clip.status, clip.status_reason = ClipStatus.failed, reason
    append(session, EventType.acquisition_failed, actor, case_id=clip.case_id, clip_id=clip.id,
           details={"reason": reason, "error": "attempts_exhausted", "attempts": claim.aborted_attempt})
    spool, facts_path = spool_paths(settings, clip.id)
    _drop_spool(spool, facts_path)
    return Outcome(clip.id, clip.status, reason)


def _run(engine: Engine, store: ClipStore, settings: Settings, claim: jobs.Claim, job: _Job, actor: Actor) -> Outcome:
    spool, facts_path = spool_paths(settings, job.clip_id)
    try:
        acquired, version_id = _acquire_and_store(engine, store, settings, claim, job, spool, facts_path)
        digest = rehash(store, job.key, version_id)
        check_digest(digest, sha256=acquired.sha256, sha512=acquired.sha512, size=acquired.size,
                     what=f"clip {job.clip_id} read back from {store.name}")
        return _finish(engine, store, settings, claim, job, actor, acquired, version_id, spool, facts_path)
    except jobs.LeaseLost:
        raise
    except CameraOpsError as exc:
        return _failed(engine, settings, claim, job, actor, exc, spool, facts_path)
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen fault: an attempt that counts, not a crash loop
        log.exception("clip %s: attempt %s broke", job.clip_id, claim.attempt)
        return _failed(engine, settings, claim, job, actor, UnexpectedFailure(f"{type(exc).__name__}: {exc}"),
                       spool, facts_path)


class UnexpectedFailure(StorageUnavailable):
    """An exception the pipeline does not name: retried like a transient fault, within the limit."""

    code = "archive_attempt_broke"


def _load(session: Session, settings: Settings, clip_id: int) -> _Job:
    clip = session.get(Clip, clip_id, options=[joinedload(Clip.camera).joinedload(Camera.area)])
    assert clip is not None
    camera = clip.camera
    target = CameraTarget(
        code=camera.code, host=camera.host, onvif_port=camera.onvif_port, username=camera.username,
        password=camera_password(camera, settings), main_stream_uri=camera.main_stream_uri,
        replay_uri=camera.replay_uri, playback_url_template=camera.playback_url_template,
        registered_offset_s=camera.clock_offset_s,
        onvif=camera.registration.value == "registered" and camera.kind is not CameraKind.rtsp,
        playback_tz=settings.timezone if camera.playback_clock is PlaybackClock.local else None,
    )
    return _Job(clip.id, clip.method, clip.start_at, clip.end_at, object_key(clip, camera), manifest_key(clip),
                target, clip.legal_hold)


def _lock(settings: Settings, legal_hold: bool) -> ObjectLock:
    return ObjectLock(utcnow() + timedelta(days=settings.retention_days), settings.object_retention_mode, legal_hold)


def _acquire_and_store(
    engine: Engine, store: ClipStore, settings: Settings, claim: jobs.Claim, job: _Job, spool: Path, facts_path: Path
) -> tuple[Acquired, str | None]:
    store.ensure_ready()
    existing = store.stat(job.key)
    acquired = _spooled(facts_path, spool)
    if existing is not None:
        # A crashed attempt stored it already: adopt it if its bytes match what it says it is
        # (the caller re-hashes it from the store before anything is recorded).
        if acquired is None:
            raise IntegrityError(f"object {job.key} exists but its acquisition facts are lost; check it by hand")
        _complete(engine, store, settings, job, job.key, "video/mp4", acquired, existing.lock)
        return acquired, existing.version_id
    part = None
    if acquired is None:  # pulled into a file of this attempt's own: a worker that took the job over
        part = spool.with_name(f"{spool.name}.{claim.attempt}.{os.getpid()}.part")  # may be pulling too
        try:
            acquired = asyncio.run(acquire(job.target, job.method, job.start, job.end, part))
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        faults.reached("after_pull")
    try:
        with session_scope(engine) as session:
            # Fenced before anything is spooled or stored: a lease that ran out meanwhile (the
            # database was away longer than the lease) may belong to another worker now.
            jobs.renew_lease(session, claim, lease_s=settings.worker_lease_s)
            clip = session.get(Clip, job.clip_id)
            assert clip is not None
            clip.status = ClipStatus.verifying
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    if part is not None:
        os.replace(part, spool)
        _write_json(facts_path, acquired.to_dict())
    faults.reached("after_spool")
    with session_scope(engine) as session:
        clip = session.get(Clip, job.clip_id, options=[joinedload(Clip.camera)])
        assert clip is not None
        metadata = object_metadata(clip, clip.camera, acquired)
    with spool.open("rb") as source:
        stored = store.put(job.key, _Reading(source), length=acquired.size, content_type="video/mp4",
                           metadata=metadata, lock=_lock(settings, job.legal_hold))
    faults.reached("after_sidecar")
    return acquired, stored.version_id


class _Reading:
    """The spool file as the store reads it; marks the ``during_upload`` crash point."""

    def __init__(self, source: BinaryIO) -> None:
        self.source, self.reads = source, 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            faults.reached("during_upload")
        return self.source.read(size)


def _complete(engine: Engine, store: ClipStore, settings: Settings, job: _Job, key: str, content_type: str,
              acquired: Acquired, lock: dict[str, str]) -> None:
    """An object a crashed put left without its sidecar (local store): write the sidecar now."""
    repair = getattr(store, "repair_sidecar", None)
    if lock or repair is None:
        return
    with session_scope(engine) as session:
        clip = session.get(Clip, job.clip_id, options=[joinedload(Clip.camera)])
        assert clip is not None
        metadata = object_metadata(clip, clip.camera, acquired) if key == job.key else {"clip-id": str(job.clip_id)}
    if repair(key, content_type=content_type, metadata=metadata, lock=_lock(settings, job.legal_hold)):
        log.warning("clip %s: %s had no sidecar (a put was cut short); written now", job.clip_id, key)


def _drop_spool(spool: Path, facts_path: Path) -> None:
    """The clip is closed: its spool, facts and any file a cut-short attempt was pulling into."""
    for path in (spool, facts_path, *spool.parent.glob(f"{spool.name}.*.part")):
        path.unlink(missing_ok=True)


def _spooled(facts_path: Path, spool: Path) -> Acquired | None:
    if not facts_path.exists() or not spool.exists():
        return None
    acquired = Acquired.from_dict(json.loads(facts_path.read_text("utf-8")))
    return acquired if spool.stat().st_size == acquired.size else None


def _write_json(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), "utf-8")
    os.replace(tmp, path)


def _finish(
    engine: Engine, store: ClipStore, settings: Settings, claim: jobs.Claim, job: _Job, actor: Actor,
    acquired: Acquired, version_id: str | None, spool: Path, facts_path: Path,
) -> Outcome:
    lock = _lock(settings, job.legal_hold)
    now = utcnow()
    with session_scope(engine) as session:
        jobs.held_job(session, claim)
        clip = session.get(Clip, job.clip_id, options=[joinedload(Clip.camera).joinedload(Camera.area),
                                                        joinedload(Clip.case)])
        assert clip is not None
        request = session.get(ClipRequest, clip.request_id)
        assert request is not None
        manifest = build_manifest(case=clip.case, clip=clip, request=request, camera=clip.camera, acquired=acquired,
                                  key=job.key, version_id=version_id, retention_until=lock.retain_until,
                                  legal_hold=job.legal_hold, created_at=now)
    body = manifest_bytes(manifest)
    found = store.stat(job.manifest_key)
    if found is None:
        found = store.put(job.manifest_key, io.BytesIO(body), length=len(body), content_type="application/json",
                          metadata={"clip-id": str(job.clip_id)}, lock=lock)
    else:
        _complete(engine, store, settings, job, job.manifest_key, "application/json", acquired, found.lock)
    manifest_digest = rehash(store, job.manifest_key, found.version_id)
    faults.reached("before_final")
    with session_scope(engine) as session:
        jobs.finish(session, claim)
        clip = session.get(Clip, job.clip_id)
        assert clip is not None
        _record(clip, acquired, job, version_id, found.version_id, manifest_digest.sha256, lock, now)
        details = {"method": acquired.method.value, "camera_window": [acquired.camera_start.isoformat(),
                   acquired.camera_end.isoformat()], "clock_offset_s": [acquired.offset_before_s, acquired.offset_after_s],
                   "first_frame": clip.first_frame_at.isoformat() if clip.first_frame_at else None,
                   "last_frame": clip.last_frame_at.isoformat() if clip.last_frame_at else None,
                   "frames": clip.frame_count, "gaps": len(acquired.gaps), "sha256": acquired.sha256,
                   "size_bytes": acquired.size, "tools": acquired.tool_versions}
        append(session, EventType.acquired, actor, case_id=clip.case_id, clip_id=clip.id, details=details)
        append(session, EventType.verified, actor, case_id=clip.case_id, clip_id=clip.id,
               details={"sha256": acquired.sha256, "sha512": acquired.sha512, "read_back_from": store.name})
        append(session, EventType.archived, actor, case_id=clip.case_id, clip_id=clip.id,
               details={"object_key": job.key, "version_id": version_id, "manifest_key": job.manifest_key,
                        "manifest_sha256": manifest_digest.sha256, "retention_until": lock.retain_until.isoformat(),
                        "retention_mode": lock.mode, "legal_hold": lock.legal_hold, "status": clip.status.value})
        outcome = Outcome(clip.id, clip.status, clip.status_reason)
    _drop_spool(spool, facts_path)
    return outcome


def _record(
    clip: Clip, acquired: Acquired, job: _Job, version_id: str | None, manifest_version: str | None,
    manifest_sha256: str, lock: ObjectLock, now: datetime,
) -> None:
    facts = acquired.facts
    clip.camera_start_at, clip.camera_end_at = acquired.camera_start, acquired.camera_end
    clip.clock_offset_before_s, clip.clock_offset_after_s = acquired.offset_before_s, acquired.offset_after_s
    first, last = facts.get("first_frame_time"), facts.get("last_frame_time")
    clip.first_frame_at = datetime.fromisoformat(first) if isinstance(first, str) else None
    clip.last_frame_at = datetime.fromisoformat(last) if isinstance(last, str) else None
    clip.frame_count, clip.codec, clip.gaps, clip.facts = facts.get("frame_count"), facts.get("codec"), acquired.gaps, facts
    clip.tool_versions = acquired.tool_versions
    clip.object_key, clip.version_id = job.key, version_id
    clip.manifest_key, clip.manifest_version_id, clip.manifest_sha256 = job.manifest_key, manifest_version, manifest_sha256
    clip.size_bytes, clip.sha256, clip.sha512 = acquired.size, acquired.sha256, acquired.sha512
    clip.verified_at, clip.archived_at = now, now
    clip.retention_until, clip.legal_hold = lock.retain_until, lock.legal_hold
    if acquired.gaps:
        total = sum(g["seconds"] for g in acquired.gaps)
        clip.status = ClipStatus.partial
        clip.status_reason = f"the camera's recording has {len(acquired.gaps)} gap(s), {total:.1f} s missing in all"
    else:
        clip.status, clip.status_reason = ClipStatus.archived, None


def _failed(
    engine: Engine, settings: Settings, claim: jobs.Claim, job: _Job, actor: Actor, exc: CameraOpsError,
    spool: Path, facts_path: Path,
) -> Outcome:
    transient = isinstance(exc, TRANSIENT) and not isinstance(exc, PERMANENT)
    if job.method is AcquisitionMethod.live and isinstance(exc, ClipUnavailable):
        transient = False  # the moment has passed; a live window cannot be captured again
    retry = transient and claim.attempt < settings.archive_max_attempts
    with session_scope(engine) as session:
        clip = session.get(Clip, job.clip_id)
        assert clip is not None
        if retry:
            delay = jobs.backoff_s(claim.attempt, base_s=settings.archive_backoff_s, cap_s=settings.archive_backoff_max_s)
            when = jobs.retry_later(session, claim, exc.message, delay_s=delay)
            clip.status = ClipStatus.queued
            clip.status_reason = f"attempt {claim.attempt} failed ({exc.message}); retrying at {when:%H:%M:%S} UTC"
            return Outcome(clip.id, clip.status, clip.status_reason)
        jobs.give_up(session, claim, exc.message)
        clip.status = ClipStatus.failed
        clip.status_reason = exc.message if not transient else f"gave up after {claim.attempt} attempts: {exc.message}"
        append(session, EventType.acquisition_failed, actor, case_id=clip.case_id, clip_id=clip.id,
               details={"reason": clip.status_reason, "error": exc.code, "attempts": claim.attempt})
        outcome = Outcome(clip.id, clip.status, clip.status_reason)
    _drop_spool(spool, facts_path)
    return outcome
