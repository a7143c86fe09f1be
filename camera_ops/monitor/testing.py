"""Helpers for tests and benchmarks: register simulated cameras, run a monitor in the background."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.orm import Session

from camera_ops.monitor.engine import Job, Monitor
from camera_ops.security import encrypt_secret
from camera_ops.settings import Settings
from storage.models import Area, Camera, CameraKind, CameraStatus, Lifecycle, RegistrationState
from storage.types import utcnow

STOP_TIMEOUT_S = 30.0


def register_sim_cameras(
    session: Session, settings: Settings, infos: Iterable[object], hamlets: Sequence[Area], *,
    per_hamlet: int = 4, code_prefix: str = "CAM",
) -> list[Camera]:
    """One camera row per simulated camera (``SimCameraInfo``), ``per_hamlet`` to a hamlet, as a
    completed ONVIF handshake would have left it."""
    cameras = []
    now = utcnow()
    for i, info in enumerate(infos):
        camera = Camera(
            code=f"{code_prefix}-{info.name}", name=info.name, area_id=hamlets[(i // per_hamlet) % len(hamlets)].id,  # type: ignore[attr-defined]
            host=info.host, onvif_port=info.onvif_port, username=info.username,  # type: ignore[attr-defined]
            password_encrypted=encrypt_secret(info.password, settings),  # type: ignore[attr-defined]
            main_stream_uri=info.rtsp_main_url, sub_stream_uri=info.rtsp_sub_url,  # type: ignore[attr-defined]
            snapshot_uri=info.snapshot_url if info.onvif else None,  # type: ignore[attr-defined]
            serial=info.serial, manufacturer=info.manufacturer,  # type: ignore[attr-defined]  (no MAC: 3 random bytes collide at 10k)
            device_model=info.model,  # type: ignore[attr-defined]
            kind=CameraKind.onvif if info.onvif else CameraKind.rtsp,  # type: ignore[attr-defined]
            registration=RegistrationState.registered, lifecycle=Lifecycle.active, status=CameraStatus.unknown,
            status_since=now, status_reasons=[],
        )
        session.add(camera)
        cameras.append(camera)
    session.flush()
    return cameras


@asynccontextmanager
async def running_monitor(settings: Settings, *, engine: object = None, jobs: Sequence[Job] = (),
                          record_slots: bool = True) -> AsyncIterator[Monitor]:
    monitor = Monitor(settings, engine=engine, jobs=jobs, record_slots=record_slots)  # type: ignore[arg-type]
    task = asyncio.create_task(monitor.run(), name="monitor")
    try:
        await monitor.wait_for(lambda: monitor.ready.is_set() or task.done(), timeout_s=STOP_TIMEOUT_S)
        if task.done():
            task.result()  # start-up failed: raise it here
        yield monitor
    finally:
        monitor.stop()
        await asyncio.wait_for(task, STOP_TIMEOUT_S)
