"""Fixtures for the simulator's own tests: fleets over real sockets, probed by independent clients."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from camera_ops.sim import CameraSpec
from camera_ops.sim.camera import SimCameraInfo
from camera_ops.sim.pytest_plugin import sim_fleet  # noqa: F401  (the fixture under test, too)
from camera_ops.sim.testing import FleetHandle, running_fleet

CLIENT_TIMEOUT_S = 20  # every external client call is capped; a hung simulator fails fast

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs Debian ffmpeg/ffprobe")


def with_credentials(url: str, cam: SimCameraInfo, password: str | None = None) -> str:
    return url.replace("rtsp://", f"rtsp://{cam.username}:{quote(password or cam.password)}@", 1)


def run(cmd: list[str], timeout: float = CLIENT_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    """One camera per personality, plus spares that fault tests may break (and must repair)."""
    specs = [
        CameraSpec("hik", group="hamlet-a", vendor="hikvision"),
        CameraSpec("dahua", group="hamlet-a", vendor="dahua"),
        CameraSpec("generic", group="hamlet-b", vendor="generic"),
        CameraSpec("cheap", group="hamlet-b", vendor="rtsp_only"),
        CameraSpec("spare1", group="hamlet-c", vendor="generic"),
        CameraSpec("spare2", group="hamlet-c", vendor="generic"),
    ]
    with running_fleet(specs, control_port=0) as handle:
        yield handle
