"""Where the server may connect to cameras: an allow-list of networks (``CAMERA_OPS_CAMERA_NETWORKS``).

Every outgoing camera connection (registration handshake, monitor probe, snapshot, archive pull)
asks :func:`resolve_camera_address` first and connects to the address it returns, so a camera row
(or a URI a camera reported) pointing at a host outside the allow-list never receives a request —
and never a password. Names are resolved once and *every* address they resolve to must be allowed
(a name that resolves to one private and one public address is refused); the connection then goes
to the checked address, so a second DNS answer cannot redirect it.

The allow-list is configured once per process from the settings (:func:`configure`); until then it
is the default: private ranges, carrier-grade NAT (VPNs) and loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from camera_ops.errors import CameraNetworkRefused, CameraUnreachable

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 1918 private ranges, RFC 6598 shared (carrier-grade NAT, many VPNs), loopback, IPv6 unique
# local and loopback: where commune cameras sit (LAN, VPN, port-forward through a household router
# on the station's LAN). Public addresses must be added on purpose.
DEFAULT_CAMERA_NETWORKS: tuple[str, ...] = (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "fc00::/7", "::1/128",
)
RESOLVE_CACHE = 65536  # IP literals checked (one per camera of a province-sized fleet)


def parse_networks(values: Iterable[str]) -> tuple[IpNetwork, ...]:
    """CIDR strings → networks; ValueError naming the bad entry."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a network (CIDR such as 192.168.1.0/24)") from exc
    return tuple(networks)


_networks: tuple[IpNetwork, ...] = parse_networks(DEFAULT_CAMERA_NETWORKS)


def configure(networks: Sequence[str]) -> None:
    """Set this process's allow-list (from ``Settings.camera_networks``)."""
    global _networks
    _networks = parse_networks(networks)
    _literal_allowed.cache_clear()


def current_networks() -> tuple[IpNetwork, ...]:
    return _networks


def address_allowed(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in _networks)


@lru_cache(maxsize=RESOLVE_CACHE)
def _literal_allowed(host: str) -> bool | None:
    """True/False for an IP literal, None for a name (must be resolved)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return address_allowed(address)


def _refused(host: str) -> CameraNetworkRefused:
    return CameraNetworkRefused(
        f"{host} is outside the networks camera-ops may connect cameras on (CAMERA_OPS_CAMERA_NETWORKS)",
        field="host", key="err.camera.network_refused", params={"host": host},
    )


def _check_resolved(host: str, infos: list[tuple]) -> str:
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise CameraUnreachable(f"cannot resolve {host}", field="host", key="err.camera.no_name", params={"host": host})
    if not all(address_allowed(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses):
        raise _refused(host)
    return addresses[0]


def check_camera_host(host: str) -> str:
    """Synchronous check (registration, edits): the address to use, or CameraNetworkRefused."""
    literal = _literal_allowed(host)
    if literal is True:
        return host.strip("[]")
    if literal is False:
        raise _refused(host)
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CameraUnreachable(f"cannot resolve {host}", field="host", key="err.camera.no_name",
                                params={"host": host}) from exc
    return _check_resolved(host, infos)


async def resolve_camera_address(host: str, port: int) -> str:
    """The address to connect to for ``host``, checked against the allow-list (no DNS for literals)."""
    literal = _literal_allowed(host)
    if literal is True:
        return host.strip("[]")
    if literal is False:
        raise _refused(host)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CameraUnreachable(f"cannot resolve {host}", field="host", key="err.camera.no_name",
                                params={"host": host}) from exc
    return _check_resolved(host, infos)


def pinned_url(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """``url`` sent to ``address`` (what :func:`resolve_camera_address` checked) instead of to its
    name, which an HTTP client would look up again — and a name can answer differently the second
    time (DNS rebinding, a taken-over DDNS name): the URL, the Host header and, for https, the name
    the certificate is checked against (httpx ``extensions``)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.hostname == address:
        return url, {}, {}
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = f"[{address}]" if ":" in address else address
    netloc = (f"{userinfo}@" if userinfo else "") + host + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": hostport}, extensions
