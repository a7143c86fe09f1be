"""The daily refresh of every camera's recording reach (a monitor side job): ONVIF-replay cameras
through ONVIF recording search, Hikvision/Dahua-style playback cameras through the vendor's own
search (:mod:`camera_ops.footage.vendor_reach`).

Each run asks up to ``batch`` cameras of each kind whose reach is older than a day (oldest first),
one at a time with the registration deadline per call. A camera that fails (ONVIF or vendor) is stored
as "reach unknown" with its reason and goes to the back of the queue: asked again the next day, or
after ``RETRY_TRANSIENT`` when it did not answer at all (offline for a while). Failing cameras never
hold the head of the queue, so fifty dead cameras cannot starve the rest of the fleet. The monitor reads the
reach at its next reload: a camera whose newest recording is hours old gets the "not recording"
reason.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from camera_ops.errors import (
    CameraAuthFailed,
    CameraError,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    NotOnvif,
    ReplayUnsupported,
)
from camera_ops.footage.reach import REFRESH_EVERY, from_camera_clock
from camera_ops.footage.vendor_reach import (
    VendorReach,
    apply_vendor_reach,
    http_base,
    playback_zone,
    search_style,
    vendor_recordings,
)
from camera_ops.onvif.recordings import recording_summary
from camera_ops.security import decrypt_secret
from camera_ops.settings import Settings
from storage.models import Camera, CameraKind, Lifecycle, RecordingCapability, RegistrationState
from storage.types import utcnow

log = logging.getLogger(__name__)

RUN_EVERY_S = 600.0  # a run every 10 minutes ...
BATCH = 50  # ... of at most this many cameras: 7,200 a day, each asked once a day
RETRY_TRANSIENT = timedelta(hours=2)  # a camera that did not answer is asked again this much later
TRANSIENT_CODES = ("timeout", "unreachable")

# an ONVIF recording search that failed, as a reach problem (see camera_ops.footage.reach.UNKNOWN_CODES);
# the first class that matches wins (CameraTimeout is a CameraUnreachable)
_ONVIF_PROBLEMS: tuple[tuple[type[CameraError], str], ...] = (
    (CameraTimeout, "timeout"), (CameraUnreachable, "unreachable"), (CameraAuthFailed, "auth"),
    (ReplayUnsupported, "unsupported"), (NotOnvif, "unsupported"), (CameraProtocolError, "malformed"),
)


def onvif_problem(exc: CameraError) -> VendorReach:
    """What a failed ONVIF recording search leaves on the camera: reach unknown, with the reason."""
    code = next((code for cls, code in _ONVIF_PROBLEMS if isinstance(exc, cls)), "malformed")
    return VendorReach(problem=code, detail=f"ONVIF recording search: {exc.code}")


def due_for_refresh(now: datetime) -> ColumnElement[bool]:
    """Never asked, asked over a day ago, or asked over ``RETRY_TRANSIENT`` ago without an answer."""
    return or_(Camera.recording_checked_at.is_(None), Camera.recording_checked_at < now - REFRESH_EVERY,
               and_(Camera.recording_problem["code"].as_string().in_(TRANSIENT_CODES),
                    Camera.recording_checked_at < now - RETRY_TRANSIENT))


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
        answered = self._run_vendor(now)
        for camera_id, host, port, username, encrypted in due:
            try:
                found = asyncio.run(recording_summary(host, port, username, decrypt_secret(encrypted, self._settings),
                                                      timeout_s=self._settings.onvif_timeout_s))
            except CameraError as exc:
                log.info("camera %s: recording reach not refreshed (%s)", camera_id, exc.code)
                with self._session_maker() as session, session.begin():
                    camera = session.get(Camera, camera_id)
                    if camera is not None:
                        apply_vendor_reach(camera, onvif_problem(exc))  # to the back of the queue
                continue
            reach = from_camera_clock(found.earliest, found.latest, clock_offset_s=found.clock_offset_s,
                                      checked_at=utcnow())
            with self._session_maker() as session, session.begin():
                session.execute(update(Camera).where(Camera.id == camera_id).values(
                    recording_from=reach.earliest, recording_until=reach.latest,
                    recording_checked_at=reach.checked_at, recording_problem=None))
            answered += 1
        return answered

    def _run_vendor(self, now: datetime) -> int:
        """Hikvision/Dahua-style playback cameras; returns how many told their reach."""
        with self._session_maker() as session, session.begin():
            asks = []
            for camera in self._due_vendor(session, now):
                style = search_style(camera)
                if style is None:
                    continue
                asks.append((camera.id, style, http_base(camera), camera.username,
                             decrypt_secret(camera.password_encrypted, self._settings), camera.channel,
                             playback_zone(camera, self._settings.timezone), camera.clock_offset_s,
                             playback_zone(camera, self._settings.timezone, other=True)))
        answered = 0
        for camera_id, style, base, username, password, channel, zone, offset, other_zone in asks:
            if style == "custom":
                found = VendorReach(problem="custom_template",
                                    detail="a custom playback template: the camera's search is not known")
            else:
                found = asyncio.run(vendor_recordings(style, base, username, password, channel=channel, zone=zone,
                                                      other_zone=other_zone, clock_offset_s=offset,
                                                      timeout_s=self._settings.onvif_timeout_s))
            if found.problem:
                log.info("camera %s: vendor recording search: %s (%s)", camera_id, found.problem, found.detail)
            with self._session_maker() as session, session.begin():
                camera = session.get(Camera, camera_id)
                if camera is not None:
                    apply_vendor_reach(camera, found)
            answered += found.known
        return answered

    def _due_vendor(self, session: Session, now: datetime) -> list[Camera]:
        vendor = or_(Camera.recording_override == RecordingCapability.vendor_playback,
                     (Camera.recording_override.is_(None)) & (Camera.recording == RecordingCapability.vendor_playback))
        stale = due_for_refresh(now)
        return list(session.scalars(
            select(Camera)
            .where(Camera.lifecycle == Lifecycle.active, Camera.registration == RegistrationState.registered,
                   vendor, stale)
            .order_by(Camera.recording_checked_at.is_not(None), Camera.recording_checked_at, Camera.id)
            .limit(self._batch)))

    def _due(self, session: Session, now: datetime) -> list[tuple[int, str, int, str, bytes]]:
        replay = or_(Camera.recording_override == RecordingCapability.onvif_replay,
                     (Camera.recording_override.is_(None)) & (Camera.recording == RecordingCapability.onvif_replay))
        stale = due_for_refresh(now)
        rows = session.execute(
            select(Camera.id, Camera.host, Camera.onvif_port, Camera.username, Camera.password_encrypted)
            .where(Camera.lifecycle == Lifecycle.active, Camera.registration == RegistrationState.registered,
                   Camera.kind == CameraKind.onvif, replay, stale)
            .order_by(Camera.recording_checked_at.is_not(None), Camera.recording_checked_at, Camera.id)
            .limit(self._batch))
        return [tuple(r) for r in rows]  # type: ignore[misc]
