"""Attacker's review 2026-12-07, vendor recording search: the camera-network allow-list checked
the camera's name, then let the HTTP client look the name up again — a name whose answer changes
between the two (DNS rebinding, or a DDNS record taken over) got the camera's username and password
sent to a host outside CAMERA_OPS_CAMERA_NETWORKS. Real sockets; only the name lookup is scripted."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import timezone

import pytest

from camera_ops import netpolicy
from camera_ops.footage.vendor_reach import vendor_recordings

NAME = "rebind.camera.test"


class Listener:
    """A web server that asks for basic auth and keeps what it was sent."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    while not self.stop.is_set():
                        data = conn.recv(65536)
                        if not data:
                            break
                        self.received.append(data)
                        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n"
                                     b"Content-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def rebinding_name(monkeypatch):
    """``NAME`` is 127.0.0.1 (a camera network) when first asked, 127.0.0.2 (outside) afterwards."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if (host.decode() if isinstance(host, bytes) else host) != NAME:  # anyio asks in IDNA bytes
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    netpolicy.configure(["127.0.0.1/32"])
    yield asked
    netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)


@pytest.mark.parametrize("style", ["hikvision", "dahua"])
def test_a_name_that_changes_its_answer_after_the_check_gets_no_password(rebinding_name, style) -> None:
    camera = Listener("127.0.0.1")
    try:
        outsider = Listener("127.0.0.2", camera.port)
    except OSError:
        camera.close()
        pytest.skip("127.0.0.2 cannot be bound here")
    try:
        found = asyncio.run(vendor_recordings(style, f"http://{NAME}:{camera.port}", "admin", "s3cret-pass",
                                              channel=1, zone=timezone.utc, clock_offset_s=0.0, timeout_s=1.0))
    finally:
        camera.close()
        outsider.close()
    assert outsider.received == [], b"".join(outsider.received)[:300]
    assert camera.received, found  # the search went to the address that was checked
    assert found.problem == "auth"
    assert all(f"Host: {NAME}:{camera.port}".encode() in r for r in camera.received if r.startswith((b"GET", b"POST")))


def test_the_monitors_snapshot_goes_to_the_checked_address_too(rebinding_name) -> None:
    from camera_ops.errors import CameraAuthFailed
    from camera_ops.monitor.probe import ProbeTarget, fetch_snapshot, snapshot_client

    camera = Listener("127.0.0.1")
    try:
        outsider = Listener("127.0.0.2", camera.port)
    except OSError:
        camera.close()
        pytest.skip("127.0.0.2 cannot be bound here")

    async def snapshot() -> None:
        target = ProbeTarget(camera_id=1, area_id=1, host=NAME, onvif_port=camera.port, username="u",
                             password="secret-pw", rtsp_url=None, snapshot_url=f"http://{NAME}:{camera.port}/snap.jpg",
                             keyframe_url=None)
        async with snapshot_client(timeout_s=2, max_connections=2) as client:
            with pytest.raises(CameraAuthFailed):
                await fetch_snapshot(client, target, timeout_s=2)

    try:
        asyncio.run(snapshot())
    finally:
        camera.close()
        outsider.close()
    assert outsider.received == [], b"".join(outsider.received)[:300]
    assert camera.received and all(f"Host: {NAME}:{camera.port}".encode() in r for r in camera.received)


@pytest.mark.parametrize("style", ["hikvision", "dahua"])
def test_an_endless_answer_is_cut_short(style) -> None:
    """Whatever answers at a camera's address (a household router's forward, a device swapped in)
    can send an answer without end: the search reads a bounded amount, then gives up on it."""
    sent = {"bytes": 0}
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 400000000\r\n\r\n")
            chunk = b"<a>" + b"x" * 65_533
            try:
                while sent["bytes"] < 400_000_000:
                    conn.sendall(chunk)
                    sent["bytes"] += len(chunk)
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    netpolicy.configure(["127.0.0.1/32"])
    try:
        found = asyncio.run(vendor_recordings(style, f"http://127.0.0.1:{sock.getsockname()[1]}", "admin", "pw",
                                              channel=1, zone=timezone.utc, clock_offset_s=0.0, timeout_s=5.0))
    finally:
        netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
        thread.join(10)
        sock.close()
    assert found.problem == "malformed" and "larger than" in (found.detail or ""), found
    assert sent["bytes"] < 64_000_000  # the answer's first megabytes and what the sockets buffered, not all of it


def test_an_endless_snapshot_is_cut_short() -> None:
    """The monitor's snapshot read the whole answer before checking its size."""
    from camera_ops.errors import CameraProtocolError
    from camera_ops.monitor.probe import ProbeTarget, fetch_snapshot, snapshot_client

    sent = {"bytes": 0}
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 400000000\r\n\r\n")
            try:
                while sent["bytes"] < 400_000_000:
                    conn.sendall(b"\xff" * 65_536)
                    sent["bytes"] += 65_536
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = sock.getsockname()[1]

    async def snapshot() -> None:
        target = ProbeTarget(camera_id=1, area_id=1, host="127.0.0.1", onvif_port=port, username="u", password="pw",
                             rtsp_url=None, snapshot_url=f"http://127.0.0.1:{port}/snap.jpg", keyframe_url=None)
        async with snapshot_client(timeout_s=10, max_connections=2) as client:
            with pytest.raises(CameraProtocolError, match="too large"):
                await fetch_snapshot(client, target, timeout_s=10)

    netpolicy.configure(["127.0.0.1/32"])
    try:
        asyncio.run(snapshot())
    finally:
        netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
        thread.join(10)
        sock.close()
    assert sent["bytes"] < 64_000_000


def test_the_registration_snapshot_check_goes_to_the_checked_address(rebinding_name) -> None:
    """An RTSP-only camera's snapshot URL is tried at registration (and 'connect now') with the
    password: to an address in the camera networks, never to the name looked up again."""
    from camera_ops.errors import CameraNetworkRefused
    from camera_ops.registry.rtsp_check import check_snapshot

    camera = Listener("127.0.0.1")
    try:
        outsider = Listener("127.0.0.2", camera.port)
    except OSError:
        camera.close()
        pytest.skip("127.0.0.2 cannot be bound here")
    try:  # the stream checks before it looked the name up (camera network); the snapshot check follows
        assert asyncio.run(netpolicy.resolve_camera_address(NAME, camera.port)) == "127.0.0.1"
        with pytest.raises(CameraNetworkRefused):  # its own look-up is checked: now outside, nothing sent
            asyncio.run(check_snapshot(f"http://{NAME}:{camera.port}/snap.jpg", "u", "secret-pw", timeout_s=2))
    finally:
        camera.close()
        outsider.close()
    assert outsider.received == [], b"".join(outsider.received)[:300]
