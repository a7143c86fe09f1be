"""The monitor's database edge: read the camera set, write results in batches.

Reads use plain column selects (no ORM objects: 10,000 cameras reload in tens of ms). Writes
happen in one transaction per batch with executemany statements: status changes (history rows
and the camera's current status), probe details, picture results.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, insert, select, text, type_coerce, update
from sqlalchemy.orm import Session

from camera_ops.errors import ConfigurationError
from camera_ops.footage.reach import not_recording, problem_stops_recording, reach_of
from camera_ops.health.vocabulary import Reason, Status, reasons_to_mask
from camera_ops.security import decrypt_secret
from camera_ops.settings import Settings
from storage.models import Camera, CameraKind, CameraStatus, Lifecycle, RegistrationState
from storage.models_monitoring import CameraHealth, CameraStatusChange

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """Everything a probe needs to reach one camera."""

    camera_id: int
    area_id: int
    host: str
    onvif_port: int
    username: str
    password: str
    rtsp_url: str | None  # OPTIONS + DESCRIBE target (main stream, else sub)
    snapshot_url: str | None  # HTTP JPEG, digest auth
    keyframe_url: str | None  # RTSP sub stream, when there is no snapshot URI
    onvif: bool = True  # False: an RTSP-only camera (no ONVIF probe: it would only say "not ONVIF")
    not_recording: bool = False  # its recording reach says the newest footage is hours old


@dataclass(frozen=True, slots=True)
class CameraRow:
    """One camera as the monitor sees it at a reload."""

    target: ProbeTarget
    in_maintenance: bool
    status: Status
    status_since: datetime
    reasons: tuple[str, ...]
    state: dict[str, Any] | None
    picture_state: dict[str, Any] | None
    maintenance_requested_at: datetime | None
    reference_requested_at: datetime | None


class PasswordCache:
    """Decrypt each camera password once (Fernet costs ~30 µs; a reload sees 10,000 cameras)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._plain: dict[int, tuple[bytes, str]] = {}

    def get(self, camera_id: int, encrypted: bytes) -> str:
        cached = self._plain.get(camera_id)
        if cached is not None and cached[0] == encrypted:
            return cached[1]
        plain = decrypt_secret(encrypted, self._settings)
        self._plain[camera_id] = (encrypted, plain)
        return plain


_CAMERA_COLUMNS = (
    Camera.id, Camera.area_id, Camera.host, Camera.onvif_port, Camera.username, Camera.password_encrypted,
    Camera.main_stream_uri, Camera.sub_stream_uri, Camera.snapshot_uri, Camera.lifecycle, Camera.status,
    Camera.status_since, Camera.status_reasons, Camera.kind, CameraHealth.maintenance_requested_at,
    CameraHealth.reference_requested_at, Camera.recording_from, Camera.recording_until, Camera.recording_checked_at,
    Camera.recording_problem,
)
STATE_CHUNK = 500  # ids per IN (...) when fetching saved states (SQLite allows 32,766 parameters)


def ensure_health_rows(session: Session) -> int:
    """Give every camera its ``camera_health`` row (new cameras); returns how many were added."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":  # one inserter at a time: two monitors inserting 100,000 rows deadlock
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('camera-ops:camera-health-rows'))"))
    missing = select(Camera.id).where(~Camera.id.in_(select(CameraHealth.camera_id))).order_by(Camera.id)
    ids = list(session.scalars(missing))
    if ids:
        # several monitors starting together insert the same rows: the second one's are no-ops
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        session.execute(dialect_insert(CameraHealth).on_conflict_do_nothing(), [{"camera_id": i} for i in ids])
    return len(ids)


CameraMark = tuple[Any, ...]  # (updated_at, lifecycle, health row id, maintenance asked, reference asked), raw


def load_marks(session: Session) -> dict[int, CameraMark]:
    """Every camera that is not retired: its ``updated_at`` and the switches people set, as the
    driver returns them (no datetime conversion: 10,000 cameras in a few ms). Compared with the
    last reload's marks only; the full row is read when any of them moved."""
    stmt = (
        select(Camera.id, type_coerce(Camera.updated_at, String), type_coerce(Camera.lifecycle, String),
               CameraHealth.camera_id, type_coerce(CameraHealth.maintenance_requested_at, String),
               type_coerce(CameraHealth.reference_requested_at, String))
        .outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
        .where(Camera.lifecycle != Lifecycle.retired)
    )
    return {r[0]: tuple(r[1:]) for r in session.execute(stmt)}


def refresh_rows(
    session: Session, passwords: PasswordCache, known: dict[int, CameraRow], known_marks: dict[int, CameraMark],
) -> tuple[dict[int, CameraRow], dict[int, CameraMark]]:
    """The camera set as of now, re-reading full rows only for new or changed cameras."""
    marks = load_marks(session)
    if any(mark[2] is None for mark in marks.values()):  # cameras without a camera_health row yet
        ensure_health_rows(session)
    stale = [i for i, mark in marks.items() if i not in known or known_marks.get(i) != mark or mark[2] is None]
    fresh = load_cameras(session, passwords, only=stale, states=False) if stale else {}
    rows: dict[int, CameraRow] = {}
    for camera_id in marks:
        row = fresh.get(camera_id) or known.get(camera_id)
        if row is not None:  # None: its password could not be decrypted (logged by load_cameras)
            rows[camera_id] = row
    return rows, marks


def load_cameras(
    session: Session, passwords: PasswordCache, known: Collection[int] = (), *,
    only: Collection[int] | None = None, states: bool = True,
) -> dict[int, CameraRow]:
    """Every registered camera that is not retired (or those of ``only``), keyed by id: a pending
    camera is "not connected yet" (never probed, never offline, no uptime until "connect now"
    completes it). Saved health and picture states (the picture state holds reference thumbnails:
    kilobytes of JSON each) are read only for cameras not in ``known`` (the monitor already holds
    newer ones in memory), and not at all with ``states=False`` (a monitor reads them for the
    cameras it owns only)."""
    base = (
        select(*_CAMERA_COLUMNS)
        .outerjoin(CameraHealth, CameraHealth.camera_id == Camera.id)
        .where(Camera.lifecycle != Lifecycle.retired, Camera.registration == RegistrationState.registered)
    )
    if only is None:
        results: Iterable[Any] = session.execute(base)
    else:
        ids = sorted(only)
        results = (r for start in range(0, len(ids), STATE_CHUNK)
                   for r in session.execute(base.where(Camera.id.in_(ids[start:start + STATE_CHUNK]))))
    rows: dict[int, CameraRow] = {}
    for r in results:
        try:
            password = passwords.get(r.id, r.password_encrypted)
        except ConfigurationError as exc:  # a bad ciphertext must not stop the other 9,999
            log.error("camera %s: cannot decrypt its password (%s); not probed", r.id, exc.__class__.__name__)
            continue
        target = ProbeTarget(
            camera_id=r.id, area_id=r.area_id, host=r.host, onvif_port=r.onvif_port, username=r.username,
            password=password, rtsp_url=r.main_stream_uri or r.sub_stream_uri, snapshot_url=r.snapshot_uri,
            keyframe_url=r.sub_stream_uri or r.main_stream_uri, onvif=r.kind is not CameraKind.rtsp,
            not_recording=not_recording(reach_of(r.recording_from, r.recording_until, r.recording_checked_at))
            or problem_stops_recording(r.recording_problem),
        )
        rows[r.id] = CameraRow(
            target=target, in_maintenance=r.lifecycle == Lifecycle.maintenance, status=Status(r.status.value),
            status_since=r.status_since, reasons=tuple(r.status_reasons or ()), state=None,
            picture_state=None, maintenance_requested_at=r.maintenance_requested_at,
            reference_requested_at=r.reference_requested_at,
        )
    if not states:
        return rows
    new = [camera_id for camera_id in rows if camera_id not in known]
    for start in range(0, len(new), STATE_CHUNK):
        chunk = new[start:start + STATE_CHUNK]
        saved = select(CameraHealth.camera_id, CameraHealth.state, CameraHealth.picture_state).where(
            CameraHealth.camera_id.in_(chunk))
        for camera_id, state, picture_state in session.execute(saved):
            rows[camera_id] = replace(rows[camera_id], state=state, picture_state=picture_state)
    return rows


# --- writing --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusChangeRecord:
    camera_id: int
    at: datetime  # when this row's status/reasons began
    status: Status
    reasons: tuple[Reason, ...]
    since: datetime  # when the status itself began (differs from ``at`` when only reasons changed)


@dataclass(slots=True)
class DetailsRecord:
    camera_id: int
    last_probe_at: datetime
    last_seen_at: datetime | None
    rtt_ms: float | None
    clock_offset_s: float | None
    last_error: str | None
    state: dict[str, Any]


@dataclass(slots=True)
class PictureRecord:
    camera_id: int
    at: datetime
    metrics: dict[str, Any] | None
    problems: list[str]
    picture_state: dict[str, Any] | None
    thumbnail: bytes | None
    reference_taken_at: datetime | None = None  # set when a requested reference was re-taken


@dataclass(slots=True)
class Batch:
    changes: list[StatusChangeRecord] = field(default_factory=list)
    details: dict[int, DetailsRecord] = field(default_factory=dict)
    pictures: dict[int, PictureRecord] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changes or self.details or self.pictures)

    def merge_back(self, later: Batch) -> Batch:
        """A batch that failed to write, with what arrived since (later details win)."""
        return Batch(
            changes=[*self.changes, *later.changes],
            details={**self.details, **later.details},
            pictures={**self.pictures, **later.pictures},
        )


_camera = Camera.__table__
_health = CameraHealth.__table__

_UPDATE_CAMERA_STATUS = (
    update(_camera)
    .where(_camera.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), status_since=bindparam("b_since"), status_reasons=bindparam("b_reasons"))
)
_UPDATE_DETAILS = (
    update(_health)
    .where(_health.c.camera_id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"), last_probe_at=bindparam("b_probe"), last_seen_at=bindparam("b_seen"),
        rtt_ms=bindparam("b_rtt"), clock_offset_s=bindparam("b_clock"), last_error=bindparam("b_error"),
    )
)
_UPDATE_PICTURE = (
    update(_health)
    .where(_health.c.camera_id == bindparam("b_id"))
    .values(
        picture_state=bindparam("b_pstate"), picture_metrics=bindparam("b_metrics"),
        picture_problems=bindparam("b_problems"), snapshot_at=bindparam("b_at"), thumbnail=bindparam("b_thumb"),
    )
)
_UPDATE_REFERENCE = (
    update(_health)
    .where(_health.c.camera_id == bindparam("b_id"))
    .values(reference_taken_at=bindparam("b_taken"), reference_requested_at=None)
)


def write_batch(session: Session, batch: Batch) -> None:
    """Write one batch; the caller commits (one transaction per batch)."""
    if batch.changes:
        session.execute(insert(CameraStatusChange.__table__), [
            {"camera_id": c.camera_id, "at": c.at, "status": CameraStatus(c.status.value),
             "reasons_mask": reasons_to_mask(c.reasons)}
            for c in batch.changes
        ])
        latest: dict[int, StatusChangeRecord] = {}
        for change in batch.changes:  # in time order per camera: the last one is current
            latest[change.camera_id] = change
        session.execute(_UPDATE_CAMERA_STATUS, [
            {"b_id": c.camera_id, "b_status": CameraStatus(c.status.value), "b_since": c.since,
             "b_reasons": [r.value for r in c.reasons]}
            for c in latest.values()
        ])
    if batch.details:
        session.execute(_UPDATE_DETAILS, [
            {"b_id": d.camera_id, "b_state": d.state, "b_probe": d.last_probe_at, "b_seen": d.last_seen_at,
             "b_rtt": d.rtt_ms, "b_clock": d.clock_offset_s, "b_error": d.last_error}
            for d in batch.details.values()
        ])
    if batch.pictures:
        session.execute(_UPDATE_PICTURE, [
            {"b_id": p.camera_id, "b_pstate": p.picture_state, "b_metrics": p.metrics, "b_problems": p.problems,
             "b_at": p.at, "b_thumb": p.thumbnail}
            for p in batch.pictures.values()
        ])
        retaken = [p for p in batch.pictures.values() if p.reference_taken_at is not None]
        if retaken:
            session.execute(_UPDATE_REFERENCE, [{"b_id": p.camera_id, "b_taken": p.reference_taken_at} for p in retaken])
