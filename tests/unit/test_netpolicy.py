"""The camera-network allow-list (issue 12 finding 1): every path that connects to a camera —
ONVIF time probe (monitor, archive clock check), RTSP probe, RTSP session (archive pull,
keyframe), HTTP snapshot, registration handshake — refuses an address outside the list before a
byte is sent, with a clear error naming the host field."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import pytest

from camera_ops import netpolicy
from camera_ops.errors import CameraNetworkRefused
from camera_ops.health.status import reason_for_error
from camera_ops.health.vocabulary import Reason
from camera_ops.monitor.probe import fetch_snapshot, snapshot_client
from camera_ops.monitor.store import ProbeTarget
from camera_ops.onvif.rawsoap import get_system_date_and_time
from camera_ops.rtsp.client import RtspConnection
from camera_ops.rtsp.quickprobe import RtspProbeLink, quick_rtsp_probe

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(("address", "allowed"), [
    ("192.168.1.64", True), ("10.1.2.3", True), ("172.16.0.9", True), ("172.32.0.1", False),
    ("100.64.3.4", True), ("127.0.0.1", True), ("8.8.8.8", False), ("203.0.113.7", False),
    ("::1", True), ("fd00::5", True), ("2001:db8::1", False), ("::ffff:192.168.1.5", True),
    ("::ffff:8.8.8.8", False), ("169.254.169.254", False),  # cloud metadata: never
])
def test_default_camera_networks(address, allowed):
    netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
    assert netpolicy.address_allowed(ipaddress.ip_address(address)) is allowed


def test_a_bad_network_in_the_setting_is_named():
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        netpolicy.parse_networks(["10.0.0.0/8", "10.0.0.0/33"])


def test_a_name_resolving_outside_is_refused_and_a_refusal_is_an_unreachable_reason():
    netpolicy.configure(["192.168.0.0/16"])
    try:
        with pytest.raises(CameraNetworkRefused) as info:
            netpolicy.check_camera_host("localhost")
    finally:
        netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
    assert info.value.field == "host"
    assert reason_for_error(info.value) is Reason.UNREACHABLE


class Listener:
    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[tuple[Listener, int]]:
    seen = Listener()
    server = await asyncio.start_server(seen.handle, "127.0.0.1", 0)
    netpolicy.configure(["192.168.0.0/16"])  # loopback is not a camera network here
    try:
        yield seen, server.sockets[0].getsockname()[1]
    finally:
        netpolicy.configure(netpolicy.DEFAULT_CAMERA_NETWORKS)
        server.close()


async def test_onvif_time_probe_is_refused(listener):
    seen, port = listener
    with pytest.raises(CameraNetworkRefused):
        await get_system_date_and_time("127.0.0.1", port, username="u", password="secret-pw", timeout_s=2)
    assert seen.connections == 0


async def test_rtsp_probe_and_rtsp_session_are_refused(listener):
    seen, port = listener
    url = f"rtsp://127.0.0.1:{port}/live"
    with pytest.raises(CameraNetworkRefused):
        await quick_rtsp_probe(RtspProbeLink(url, "127.0.0.1", port, "u", "secret-pw"), timeout_s=2)
    with pytest.raises(CameraNetworkRefused):
        await RtspConnection(url, "u", "secret-pw", timeout_s=2).open()
    assert seen.connections == 0


async def test_snapshot_is_refused(listener):
    seen, port = listener
    target = ProbeTarget(camera_id=1, area_id=1, host="127.0.0.1", onvif_port=port, username="u", password="secret-pw",
                         rtsp_url=None, snapshot_url=f"http://127.0.0.1:{port}/snap.jpg", keyframe_url=None)
    async with snapshot_client(timeout_s=2, max_connections=2) as client:
        with pytest.raises(CameraNetworkRefused):
            await fetch_snapshot(client, target, timeout_s=2)
    assert seen.connections == 0
