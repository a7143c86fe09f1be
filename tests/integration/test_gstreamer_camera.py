"""Against software we did not write: Debian's GStreamer RTSP server (gst-rtsp-server through
``/usr/bin/python3`` + gi) as an RTSP-only camera, digest and basic auth. It registers, goes online
with a picture assessed, goes offline within two cycles when the server stops and comes back, and a
live clip from it is archived and reads back with ffprobe."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from camera_ops.footage.requests import Window, create_request
from camera_ops.footage.worker import Worker
from camera_ops.health.vocabulary import Status
from camera_ops.monitor.testing import running_monitor
from camera_ops.registry import cameras as camera_service
from storage.clipstore.local import LocalClipStore
from storage.models import CameraKind
from storage.models_evidence import Clip, ClipStatus
from storage.types import utcnow
from tests.footage_fixtures import actor, make_case, make_world
from tests.integration.test_monitor_engine import WAIT_S, db_status, fast_settings, wait_cycles

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).resolve().parent.parent / "gst_rtsp_camera.py"
START_TIMEOUT_S = 30.0
USER, PASSWORD = "admin", "Gst-12345"


def _gst_missing() -> str | None:
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is not installed"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"{SYSTEM_PYTHON} has no gi.repository.GstRtspServer (apt: python3-gi gir1.2-gst-rtsp-server-1.0)"
    if shutil.which("ffprobe") is None:
        return "needs ffprobe"
    return None


MISSING = _gst_missing()
pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(240),
              pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


class GstCamera:
    """The GStreamer RTSP server as a camera process: start, stop (SIGTERM, waited), start again on
    the same port (an outage and a recovery)."""

    def __init__(self, address: str, auth: str) -> None:
        self.address, self.auth, self.port = address, auth, 0
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> int:
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), "--address", self.address, "--port", str(self.port), "--user", USER,
             "--password", PASSWORD, "--auth", self.auth], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"GStreamer RTSP server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self.port

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(START_TIMEOUT_S)


@contextmanager
def gst_camera(address: str, auth: str) -> Iterator[GstCamera]:
    camera = GstCamera(address, auth)
    camera.start()
    try:
        yield camera
    finally:
        camera.stop()


def address() -> str:
    return f"127.{random.randrange(64, 96)}.{random.randrange(256)}.{random.randrange(2, 250)}"


def register(session, settings, world, host: str, port: int, code: str):
    data = camera_service.CameraInput(
        code=code, name=f"GStreamer {code}", area_id=world.hamlet.id, host="", kind=CameraKind.rtsp,
        stream_url=f"rtsp://{host}:{port}/main", sub_stream_url=f"rtsp://{host}:{port}/sub",
        username=USER, password=PASSWORD)
    return camera_service.register_camera(session, settings, data, scope=None)


@pytest.mark.parametrize("auth", ["digest", "basic"])
def test_gstreamer_rtsp_server_registers_as_an_rtsp_only_camera(session, settings, auth):
    settings.onvif_timeout_s = 10.0
    world = make_world(session)
    host = address()
    with gst_camera(host, auth) as server:
        port = server.port
        outcome = register(session, settings, world, host, port, f"GST-{auth}")
        assert outcome.error is None, outcome.error
        main = outcome.handshake["main"]
        assert (main["codec"], main["keyframe_width"], main["keyframe_height"]) == ("h264", 640, 360)
        assert main["auth_method"] == auth and main["server"] == "GStreamer RTSP server"
        wrong = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="GST-WRONG", name="x", area_id=world.hamlet.id, host="", kind=CameraKind.rtsp,
            stream_url=f"rtsp://{host}:{port}/sub", username=USER, password="not-it"), scope=None)
        assert wrong.error is not None and wrong.error.field == "password"
        missing = camera_service.register_camera(session, settings, camera_service.CameraInput(
            code="GST-404", name="x", area_id=world.hamlet.id, host="", kind=CameraKind.rtsp,
            stream_url=f"rtsp://{host}:{port}/nothing", username=USER, password=PASSWORD), scope=None)
        assert missing.error is not None and missing.error.field == "stream_url"


def test_gstreamer_camera_is_monitored_through_an_outage_and_gives_a_live_clip(session, engine, settings):
    settings = fast_settings(settings)
    settings.onvif_timeout_s = 10.0
    world = make_world(session)
    with gst_camera(address(), "digest") as server:
        outcome = register(session, settings, world, server.address, server.port, "GST-MON")
        assert outcome.error is None, outcome.error
        camera_id = outcome.camera.id
        session.commit()

        async def online_with_a_picture(monitor) -> None:
            await monitor.wait_for(lambda: camera_id in monitor.cameras and (
                rt := monitor.cameras[camera_id]).state.status is Status.ONLINE and rt.picture is not None,
                timeout_s=WAIT_S)

        async def outage_and_recovery() -> None:
            async with running_monitor(settings, engine=engine) as monitor:
                await online_with_a_picture(monitor)
                await asyncio.to_thread(server.stop)  # the camera loses power
                await wait_cycles(monitor, [camera_id], 2)
                assert db_status(session, camera_id)[0] is Status.OFFLINE
                await asyncio.to_thread(server.start)  # and comes back on the same address and port
                await monitor.wait_for(lambda: monitor.cameras[camera_id].state.status is Status.ONLINE,
                                       timeout_s=WAIT_S)
        asyncio.run(outage_and_recovery())
        start = utcnow() + timedelta(seconds=1)
        request = create_request(session, settings, actor(world.officer), world.officer, make_case(session, world),
                                 camera_ids=[camera_id], window=Window(start, start + timedelta(seconds=3)),
                                 purpose="xác minh vụ việc", live=True)
        clip_id = request.clips[0].id
        session.commit()
        Worker(engine, settings).run_until_idle()
    clip = session.get(Clip, clip_id)
    session.refresh(clip)
    assert clip.status is ClipStatus.archived, clip.status_reason
    path = LocalClipStore(settings.data_dir / "clips").path_of(clip.object_key)
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(path)],
                           capture_output=True, text=True, timeout=30, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 640, 360)
    assert int(stream["nb_read_frames"]) == clip.frame_count > 0
