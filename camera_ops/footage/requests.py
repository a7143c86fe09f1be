"""Clip requests: validate the window, pick each camera's acquisition method, queue one clip and
one archive job per camera. Answered at once; the worker does the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from camera_ops.custody.ledger import Actor, EventType, MIN_PURPOSE_CHARS, append
from camera_ops.errors import Conflict, ValidationFailed
from camera_ops.footage.reach import (
    RecordingReach,
    ReachVerdict,
    check_problem,
    check_window_reach,
    overwrite_warning,
    reach_of,
)
from camera_ops.registry.cameras import get_camera
from camera_ops.settings import Settings
from storage.models import Camera, RecordingCapability, User
from storage.models_evidence import (
    AcquisitionMethod,
    ArchiveJob,
    Case,
    CaseStatus,
    Clip,
    ClipRequest,
    ClipStatus,
    FINAL_CLIP_STATUSES,
)
from storage.types import utcnow

MAX_CAMERAS_PER_REQUEST = 50  # a request covers a scene, not a province
LIVE_MAX_LEAD = timedelta(hours=24)  # live capture may be booked up to a day ahead
LIVE_START_SLACK = timedelta(seconds=5)  # "now" typed by a person is a few seconds old on arrival
LIVE_WAKE_LEAD = timedelta(seconds=10)  # a worker claims a live job this long before it starts
URGENT_QUEUE_JUMP = timedelta(days=365)  # ahead of any job queued normally (they are due "now" or later)


def recording_reach(camera: Camera) -> RecordingReach | None:
    return reach_of(camera.recording_from, camera.recording_until, camera.recording_checked_at)


@dataclass(frozen=True)
class Window:
    start: datetime  # true UTC
    end: datetime


def check_window(
    window: Window, *, now: datetime, live: bool, max_minutes: int, keeps_hours: float | None
) -> None:
    """Raise ``ValidationFailed`` naming the field to fix; pure (``now`` is given)."""
    start, end = window.start, window.end
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationFailed(f"{name} has no time zone; give UTC (…Z) or an offset", field=name,
                                   key="err.window.no_zone")
    if start >= end:
        raise ValidationFailed("start must be before end", field="end", key="err.window.order")
    if end - start > timedelta(minutes=max_minutes):
        raise ValidationFailed(f"a clip may be at most {max_minutes} minutes long", field="end",
                               key="err.window.too_long", params={"minutes": max_minutes})
    if live:
        if end <= now:
            raise ValidationFailed("live capture needs a window that ends in the future", field="end",
                                   key="err.window.live_past")
        if start < now - LIVE_START_SLACK:
            raise ValidationFailed("live capture cannot reach back in time; request recorded footage for the past",
                                   field="start", key="err.window.live_back")
        if start > now + LIVE_MAX_LEAD:
            raise ValidationFailed("live capture can be booked at most 24 hours ahead", field="start",
                                   key="err.window.live_ahead", params={"hours": 24})
        return
    if end > now:
        raise ValidationFailed("the window ends in the future; only live capture can record ahead", field="end",
                               key="err.window.future")
    if keeps_hours is not None and start < now - timedelta(hours=keeps_hours):
        raise ValidationFailed(f"cameras keep about {keeps_hours:g} hours of footage; this window is older",
                               field="start", key="err.window.too_old", params={"hours": keeps_hours})


def method_for(camera: Camera, *, live: bool) -> AcquisitionMethod:
    if live:
        if not camera.main_stream_uri:
            raise ValidationFailed(f"camera {camera.code} has no stream address (not registered yet)",
                                   field="camera_ids", key="err.request.no_stream", params={"camera": camera.code})
        return AcquisitionMethod.live
    recording = camera.effective_recording
    if recording is RecordingCapability.onvif_replay and camera.replay_uri:
        return AcquisitionMethod.onvif_replay
    if recording is RecordingCapability.vendor_playback and camera.playback_url_template:
        return AcquisitionMethod.vendor_playback
    raise ValidationFailed(f"camera {camera.code} keeps no recording we can fetch; only live capture is possible",
                           field="camera_ids", key="err.request.no_recording", params={"camera": camera.code})


def create_request(
    session: Session, settings: Settings, actor: Actor, user: User, case: Case, *, camera_ids: Sequence[int],
    window: Window, purpose: str, live: bool = False, scope: Sequence[str] | None = None,
    now: datetime | None = None,
) -> ClipRequest:
    if case.status is not CaseStatus.open:
        raise Conflict(f"case {case.number} is closed", field="case_id", key="err.case.closed",
                       params={"number": case.number})
    if len(purpose.strip()) < MIN_PURPOSE_CHARS:
        raise ValidationFailed("say why the footage is needed (purpose)", field="purpose", key="err.request.purpose",
                               params={"min": MIN_PURPOSE_CHARS})
    ids = list(dict.fromkeys(camera_ids))  # one clip per camera, order kept
    if not ids or len(ids) > MAX_CAMERAS_PER_REQUEST:
        raise ValidationFailed(f"name 1 to {MAX_CAMERAS_PER_REQUEST} cameras", field="camera_ids",
                               key="err.request.camera_count", params={"max": MAX_CAMERAS_PER_REQUEST})
    now = now or utcnow()
    cameras = [get_camera(session, camera_id, scope=scope) for camera_id in ids]
    reaches = [recording_reach(camera) for camera in cameras]
    # cameras that told us their reach are judged by it; the general footage-hours rule is for the rest
    keeps_hours = None if all(r is not None for r in reaches) else settings.camera_footage_hours
    check_window(window, now=now, live=live, max_minutes=settings.max_clip_minutes, keeps_hours=keeps_hours)
    methods = [method_for(camera, live=live) for camera in cameras]
    if not live:
        for camera, reach in zip(cameras, reaches):
            if reach is None:  # a camera with a card problem has no reach: it can give nothing
                check_problem(camera.recording_problem, camera_code=camera.code)
    verdicts = [ReachVerdict(None) if live else check_window_reach(
        window.start, window.end, reach, now=now, camera_code=camera.code, tz=settings.timezone)
        for camera, reach in zip(cameras, reaches)]
    request = ClipRequest(case_id=case.id, requested_by_id=user.id, purpose=purpose.strip(),
                          start_at=window.start, end_at=window.end, live=live)
    session.add(request)
    session.flush()
    not_before = window.start - LIVE_WAKE_LEAD if live else utcnow()
    for camera, method, verdict in zip(cameras, methods, verdicts):
        clip = Clip(request_id=request.id, case_id=case.id, camera_id=camera.id, start_at=window.start,
                    end_at=window.end, method=method, status=ClipStatus.queued, legal_hold=case.legal_hold, gaps=[])
        if verdict.overwritten_in is not None:
            clip.status_reason = overwrite_warning(verdict.overwritten_in)
        session.add(clip)
        session.flush()
        # jobs are claimed by not_before: one about to be overwritten is due "long ago", so it goes first
        due = not_before - URGENT_QUEUE_JUMP if verdict.urgent else not_before
        session.add(ArchiveJob(clip_id=clip.id, not_before=due))
        append(session, EventType.requested, actor, case_id=case.id, clip_id=clip.id, purpose=request.purpose,
               details={"request": request.id, "camera": camera.code, "camera_mac": camera.mac,
                        "start": window.start.isoformat(), "end": window.end.isoformat(),
                        "method": method.value, "live": live})
    session.flush()
    return request


def request_status(clips: Sequence[Clip]) -> str:
    """One word for a request: the least advanced clip wins until all are final."""
    statuses = [clip.status for clip in clips]
    if not all(s in FINAL_CLIP_STATUSES for s in statuses):
        for status in (ClipStatus.queued, ClipStatus.acquiring, ClipStatus.verifying):
            if status in statuses:
                return status.value
    if all(s is ClipStatus.archived for s in statuses):
        return ClipStatus.archived.value
    if all(s is ClipStatus.failed for s in statuses):
        return ClipStatus.failed.value
    return ClipStatus.partial.value
