"""Every fault shows up as the protocol behaviour (and picture) a real broken camera has."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import av
import cv2
import httpx
import numpy as np
import pytest

from camera_ops.sim import CameraSpec
from camera_ops.sim.camera import SimCameraInfo
from camera_ops.sim.testing import FleetHandle, running_fleet
from tests.sim.rtsp_probe import RtspProbe

SHORT_TIMEOUT_S = 1.0  # the client deadline used to prove that a black hole never answers
POLL_S = 0.05


def connect(host: str, port: int) -> socket.socket:
    return socket.create_connection((host, port), timeout=SHORT_TIMEOUT_S)


def snapshot(cam: SimCameraInfo, password: str | None = None) -> httpx.Response:
    return httpx.get(cam.snapshot_url, auth=httpx.DigestAuth(cam.username, password or cam.password), timeout=5)


def picture(cam: SimCameraInfo) -> np.ndarray:
    reply = snapshot(cam)
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/jpeg"
    return cv2.imdecode(np.frombuffer(reply.content, np.uint8), cv2.IMREAD_GRAYSCALE)


def sharpness(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


@pytest.fixture
def cam(fleet: FleetHandle) -> Iterator[SimCameraInfo]:
    """A spare camera that is repaired after each test."""
    yield fleet.camera("spare1")
    fleet.clear_faults("spare1")


def test_offline_refuses_connections_and_comes_back(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, offline=True)
    for port in (cam.onvif_port, cam.rtsp_port):
        with pytest.raises(ConnectionRefusedError):
            connect(cam.host, port)
    fleet.set_faults(cam.name, offline=False)
    connect(cam.host, cam.rtsp_port).close()
    assert snapshot(cam).status_code == 200


def test_offline_drops_a_running_stream(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    with RtspProbe(cam.rtsp_sub_url, cam.username, cam.password) as probe:
        assert probe.play().status == 200
        assert len(probe.units(max_units=2)) == 2
        fleet.set_faults(cam.name, offline=True)
        assert len(probe.units(max_units=200)) < 200  # ends: connection reset by the dead camera


def test_black_hole_accepts_but_never_answers(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, black_hole=True)
    with connect(cam.host, cam.rtsp_port) as sock:
        sock.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        with pytest.raises(socket.timeout):
            sock.recv(100)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(cam.device_url, content=b"<x/>", timeout=SHORT_TIMEOUT_S)


def test_latency_delays_every_answer(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, latency_s=0.6)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(cam.snapshot_url, timeout=0.2)
    assert httpx.get(cam.snapshot_url, timeout=5).status_code == 401  # answered, just late


def test_changed_password_refuses_the_old_one_everywhere(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, password="n3w-pass")
    assert snapshot(cam).status_code == 401
    assert snapshot(cam, "n3w-pass").status_code == 200
    with RtspProbe(cam.rtsp_main_url, cam.username, cam.password) as probe:
        assert probe.request("DESCRIBE").status == 401


def test_stream_drops_after_the_configured_time(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, stream_drop_after_s=1.0)
    with RtspProbe(cam.rtsp_sub_url, cam.username, cam.password, timeout=5) as probe:
        assert probe.play().status == 200
        units = probe.units(max_units=100)  # 100 frames would take > 8 s live
    assert 0 < len(units) < 40


def test_clock_skew_moves_the_burned_in_clock(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    from camera_ops.sim.scene import read_marker

    fleet.set_faults(cam.name, clock_skew_s=-3600)
    with RtspProbe(cam.rtsp_sub_url, cam.username, cam.password) as probe:
        assert probe.play().status == 200
        unit = probe.units(max_units=1)[0]
    frame = av.CodecContext.create("h264", "r").decode(av.Packet(unit.annexb()))[0]
    second, _ = read_marker(frame.to_ndarray(format="bgr24"))
    assert abs(second - (time.time() - 3600)) < 3
    assert abs(fleet.camera_clock(cam.name).timestamp() - (time.time() - 3600)) < 1


def test_picture_faults_show_in_snapshots(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    normal = picture(cam)
    assert sharpness(normal) > 300 and normal.mean() > 60
    fleet.set_faults(cam.name, black=True)
    assert picture(cam).mean() < 10
    fleet.set_faults(cam.name, black=False, covered=True)
    covered = picture(cam)
    assert covered.std() < 6 and 25 < covered.mean() < 60
    fleet.set_faults(cam.name, covered=False, defocused=True)
    assert sharpness(picture(cam)) < 30
    fleet.set_faults(cam.name, defocused=False, turned_away=True)
    assert np.abs(picture(cam).astype(int) - normal.astype(int)).mean() > 20
    fleet.set_faults(cam.name, turned_away=False, night_ir=True)
    night = picture(cam)
    assert night.mean() < normal.mean() * 0.7 and sharpness(night) > 100


def test_frozen_picture_is_byte_identical_over_time(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, frozen=True)
    first = snapshot(cam).content
    time.sleep(1.1)
    assert snapshot(cam).content == first
    fleet.set_faults(cam.name, frozen=False)
    time.sleep(1.1)
    assert snapshot(cam).content != first


def test_black_picture_shows_in_rtsp_frames(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    fleet.set_faults(cam.name, black=True)
    with RtspProbe(cam.rtsp_sub_url, cam.username, cam.password) as probe:
        assert probe.play().status == 200
        unit = probe.units(max_units=1)[0]
    frame = av.CodecContext.create("h264", "r").decode(av.Packet(unit.annexb()))[0]
    assert frame.to_ndarray(format="gray").mean() < 20


def test_flapping_alternates_between_refused_and_up() -> None:
    with running_fleet([CameraSpec("flappy", vendor="generic")]) as fleet:
        cam = fleet.camera("flappy")
        fleet.set_faults("flappy", flapping=(0.5, 0.5))
        states = set()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(states) < 2:
            try:
                connect(cam.host, cam.rtsp_port).close()
                states.add("up")
            except ConnectionRefusedError:
                states.add("down")
            time.sleep(POLL_S)
        assert states == {"up", "down"}


def test_group_fault_cuts_power_to_the_whole_hamlet_only(fleet: FleetHandle) -> None:
    fleet.set_group_fault("hamlet-c", offline=True)
    try:
        for name in ("spare1", "spare2"):
            with pytest.raises(ConnectionRefusedError):
                connect(fleet.camera(name).host, fleet.camera(name).rtsp_port)
        connect(fleet.camera("generic").host, fleet.camera("generic").rtsp_port).close()
    finally:
        fleet.set_group_fault("hamlet-c", offline=False)
    connect(fleet.camera("spare2").host, fleet.camera("spare2").rtsp_port).close()


def test_control_api_changes_faults_over_http(fleet: FleetHandle, cam: SimCameraInfo) -> None:
    assert fleet.control_url
    request = urllib.request.Request(f"{fleet.control_url}/cameras/{cam.name}/faults",
                                     data=json.dumps({"offline": True}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert json.load(reply)["faults"]["offline"] is True
    with pytest.raises(ConnectionRefusedError):
        connect(cam.host, cam.rtsp_port)
    request = urllib.request.Request(f"{fleet.control_url}/cameras/{cam.name}/faults", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert json.load(reply)["listening"] is True
    bad = urllib.request.Request(f"{fleet.control_url}/cameras/{cam.name}/faults",
                                 data=json.dumps({"exploded": True}).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(bad, timeout=5)
    assert caught.value.code == 400


def test_sim_fleet_fixture_starts_and_stops_fleets(sim_fleet) -> None:  # type: ignore[no-untyped-def]
    handle = sim_fleet(count=2, shared_port=True)
    a, b = handle.cameras
    assert a.onvif_port == a.rtsp_port and a.host != b.host
    with RtspProbe(a.rtsp_main_url, a.username, a.password) as probe:
        assert probe.request("DESCRIBE").status == 200
    assert httpx.post(a.device_url, content=b"<bad", timeout=5).status_code == 400
