"""The daily refresh of every ONVIF-replay camera's recording reach (a monitor side job).

Each run asks up to ``batch`` cameras whose reach is older than a day (oldest first), one at a time
with the registration deadline per call; a camera that does not answer is skipped and asked again at
a later run. The monitor reads the reach at its next reload: a camera whose newest recording is hours
old gets the "not recording" reason.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from camera_ops.errors import CameraError
from camera_ops.footage.reach import REFRESH_EVERY, from_camera_clock
from camera_ops.onvif.recordings import recording_summary
from camera_ops.security import decrypt_secret
from camera_ops.settings import Settings
from storage.models import Camera, CameraKind, Lifecycle, RecordingCapability, RegistrationState
from storage.types import utcnow

log = logging.getLogger(__name__)

RUN_EVERY_S = 600.0  # a run every 10 minutes ...
BATCH = 50  # ... of at most this many cameras: 7,200 a day, each asked once a day


class RecordingReachJob:
    name = "recording_reach"

    def __init__(self, session_maker, settings: Settings, *, interval_s: float = RUN_EVERY_S,  # type: ignore[no-untyped-def]
                 batch: int = BATCH) -> None:
        self._session_maker = session_maker
        self._settings = settings
        self.interval_s = interval_s
        self._batch = batch

    def run_once(self, now: datetime | None = None) -> int:
        """Refresh the cameras that are due; returns how many answered."""
        now = now or utcnow()
        with self._session_maker() as session, session.begin():
            due = self._due(session, now)
        answered = 0
        for camera_id, host, port, username, encrypted in due:
            try:
                found = asyncio.run(recording_summary(host, port, username, decrypt_secret(encrypted, self._settings),
                                                      timeout_s=self._settings.onvif_timeout_s))
            except CameraError as exc:
                log.info("camera %s: recording reach not refreshed (%s)", camera_id, exc.code)
                continue
            reach = from_camera_clock(found.earliest, found.latest, clock_offset_s=found.clock_offset_s,
                                      checked_at=utcnow())
            with self._session_maker() as session, session.begin():
                session.execute(update(Camera).where(Camera.id == camera_id).values(
                    recording_from=reach.earliest, recording_until=reach.latest,
                    recording_checked_at=reach.checked_at))
            answered += 1
        return answered

    def _due(self, session: Session, now: datetime) -> list[tuple[int, str, int, str, bytes]]:
        replay = or_(Camera.recording_override == RecordingCapability.onvif_replay,
                     (Camera.recording_override.is_(None)) & (Camera.recording == RecordingCapability.onvif_replay))
        stale = or_(Camera.recording_checked_at.is_(None), Camera.recording_checked_at < now - REFRESH_EVERY)
        rows = session.execute(
            select(Camera.id, Camera.host, Camera.onvif_port, Camera.username, Camera.password_encrypted)
            .where(Camera.lifecycle == Lifecycle.active, Camera.registration == RegistrationState.registered,
                   Camera.kind == CameraKind.onvif, replay, stale)
            .order_by(Camera.recording_checked_at.is_not(None), Camera.recording_checked_at, Camera.id)
            .limit(self._batch))
        return [tuple(r) for r in rows]  # type: ignore[misc]
