"""Shared pieces of the footage/custody tests: a commune with officers, sim cameras as registry
rows, a case. Cameras are inserted with the simulator's addresses (what a handshake would store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from camera_ops.custody.ledger import Actor
from camera_ops.footage.cases import create_case
from camera_ops.registry.cameras import resolve_clock
from camera_ops.security import encrypt_secret
from camera_ops.settings import Settings
from camera_ops.sim.camera import SimCameraInfo
from storage.models import Area, Camera, CameraKind, RecordingCapability, RegistrationState, Role, User
from storage.models_evidence import Case
from tests.factories import make_commune, make_user

UNIT = "Công an xã Test"


@dataclass
class World:
    hamlet: Area
    officer: User
    other_officer: User
    auditor: User
    admin: User
    police: User


def make_world(session: Session) -> World:
    commune = make_commune(session)
    officer = make_user(session, Role.officer, [commune.commune])
    officer.unit = UNIT
    other = make_user(session, Role.officer, [commune.commune])
    other.unit = UNIT
    world = World(commune.hamlets[0], officer, other, make_user(session, Role.auditor, [commune.commune]),
                  make_user(session, Role.admin), make_user(session, Role.commune_police, [commune.commune]))
    session.flush()
    return world


def sim_camera_row(
    session: Session, settings: Settings, info: SimCameraInfo, hamlet: Area, *,
    recording: RecordingCapability | None = None, offset_s: float = 0.0,
) -> Camera:
    if recording is None:
        recording = (RecordingCapability.onvif_replay if info.replay_url else
                     RecordingCapability.vendor_playback if info.playback_url_template else RecordingCapability.none)
    camera = Camera(
        code=f"CAM-{info.name}", name=f"Camera {info.name}", area_id=hamlet.id, host=info.host,
        onvif_port=info.onvif_port, username=info.username, password_encrypted=encrypt_secret(info.password, settings),
        manufacturer=info.manufacturer, device_model=info.model, firmware=info.firmware, serial=info.serial,
        mac=info.mac, main_stream_uri=info.rtsp_main_url, sub_stream_uri=info.rtsp_sub_url,
        replay_uri=info.replay_url, playback_url_template=info.playback_url_template, recording=recording,
        clock_offset_s=offset_s, registration=RegistrationState.registered,
        kind=CameraKind.onvif if info.onvif else CameraKind.rtsp,
        playback_clock_auto=True,
    )
    resolve_clock(camera)  # as a registration would store it: Dahua local time, the others UTC
    session.add(camera)
    session.flush()
    return camera


def actor(user: User) -> Actor:
    return Actor(user.username, user.role.value, "127.0.0.1")


def make_case(session: Session, world: World, number: str = "12/2026/VA", **extra: object) -> Case:
    return create_case(session, actor(world.officer), world.officer, number=number, title="Trộm cắp xe máy",
                       legal_basis="Quyết định khởi tố vụ án số 12/QĐ-CSĐT", **extra)  # type: ignore[arg-type]


def recent_window(camera_now: datetime, seconds: float, *, back_s: float = 20.0) -> tuple[datetime, datetime]:
    """A window of ``seconds`` that ended ``back_s - seconds`` ago (inside the camera's card)."""
    start = camera_now.replace(microsecond=0) - timedelta(seconds=back_s)
    return start, start + timedelta(seconds=seconds)
