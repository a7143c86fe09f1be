"""The simulator's WS-Discovery responder: answers Probes like an ONVIF camera does.

Unicast: each simulated ONVIF camera answers on its own address (``discovery_port``, 3702 by default
in ``camera-ops sim``) while it is powered. Multicast: :func:`start_multicast` joins 239.255.255.250
on one interface (used by the network-namespace test and runnable alone:
``python -m camera_ops.sim.discovery --interface 10.0.0.2 --xaddr http://10.0.0.2/onvif/device_service``).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from camera_ops.onvif.discovery import MULTICAST_GROUP, WSD_PORT, probe_match_message, probe_message_id


@dataclass(frozen=True, slots=True)
class Advert:
    """What one device says about itself in a ProbeMatch."""

    endpoint: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]


def advert_for(*, mac: str, name: str, model: str, xaddr: str) -> Advert:
    """Endpoint ``urn:uuid:…-<MAC>`` (as Hikvision and Dahua firmware do) and the usual ONVIF scopes."""
    tail = mac.replace(":", "").lower()
    return Advert(
        endpoint=f"urn:uuid:4a2f6b1e-5c3d-11ee-8000-{tail}",
        xaddrs=(xaddr,),
        scopes=("onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/Profile/Streaming",
                f"onvif://www.onvif.org/hardware/{model.replace(' ', '%20')}",
                f"onvif://www.onvif.org/name/{name.replace(' ', '%20')}"),
    )


class Responder(asyncio.DatagramProtocol):
    def __init__(self, adverts: Callable[[], Sequence[Advert]]) -> None:
        self._adverts = adverts
        self.transport: asyncio.DatagramTransport | None = None
        self.probes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        message_id = probe_message_id(data)
        if message_id is None or self.transport is None:
            return
        self.probes += 1
        for advert in self._adverts():
            self.transport.sendto(probe_match_message(relates_to=message_id, endpoint=advert.endpoint,
                                                      xaddrs=advert.xaddrs, scopes=advert.scopes), addr)


async def start_unicast(host: str, port: int, adverts: Callable[[], Sequence[Advert]]) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Responder(adverts), local_addr=(host, port))
    return transport


async def start_multicast(interface: str, port: int, adverts: Callable[[], Sequence[Advert]]) -> asyncio.DatagramTransport:
    """Listen on ``port`` for Probes sent to the WS-Discovery group on ``interface`` (an address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", port))
    membership = struct.pack("4s4s", socket.inet_aton(MULTICAST_GROUP), socket.inet_aton(interface))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Responder(adverts), sock=sock)
    return transport


async def _serve_forever(args: argparse.Namespace) -> None:
    advert = advert_for(mac=args.mac, name=args.name, model=args.model, xaddr=args.xaddr)
    transport = await start_multicast(args.interface, args.port, lambda: [advert])
    print("ready", flush=True)  # the test waits for this line
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Answer WS-Discovery probes as one simulated camera.")
    parser.add_argument("--interface", required=True, help="address of the interface to join the group on")
    parser.add_argument("--port", type=int, default=WSD_PORT)
    parser.add_argument("--xaddr", required=True, help="device service URL to announce")
    parser.add_argument("--mac", default="02:5c:a1:00:00:01")
    parser.add_argument("--name", default="Camera sim")
    parser.add_argument("--model", default="SIM-1")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve_forever(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
