"""Find ONVIF devices with WS-Discovery (ONVIF Core §7, WS-Discovery 1.0 / 2005-04).

Two ways, used together or alone:

- **multicast**: one Probe to 239.255.255.250:3702 on the local network; every ONVIF device on that
  segment answers (multicast does not cross a router or a VPN);
- **unicast**: a Probe sent to each address of a range the user gives (``192.168.1.10-192.168.1.60``,
  ``10.8.0.0/24`` or one address), for cameras behind a router or at the far end of a VPN.

Answers are read for ``timeout_s``. Each is bounded (``MAX_REPLY_BYTES``), parsed with lxml without
DTDs, entities or network access, and must relate to our Probe's MessageID. A reply from an address
that was not probed is ignored and reported; a reply from a probed address whose XAddrs point
elsewhere (the camera reports its LAN address through a VPN or port-forward) keeps the address that
answered, with a warning, since that is the one that reaches it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lxml import etree

from camera_ops.errors import ValidationFailed
from camera_ops.netpolicy import address_allowed

MULTICAST_GROUP = "239.255.255.250"
WSD_PORT = 3702
MAX_REPLY_BYTES = 16 * 1024  # a ProbeMatch is 1-3 KB; anything larger is not a camera's answer
MAX_RANGE_ADDRESSES = 1024  # a /22: enough for any commune network; more would be a port scan
MAX_TIMEOUT_S = 15.0  # the user waits for the answer on a web page
DEFAULT_TIMEOUT_S = 3.0  # WS-Discovery's APP_MAX_DELAY is 500 ms; slow cameras answer within ~2 s
MAX_DEVICES = 4096  # answers kept at most (bounded memory whatever the network sends)
MULTICAST_TTL = 1  # the LAN segment only, as the standard asks
MAX_MESSAGE_ID_CHARS = 200

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
    "dn": "http://www.onvif.org/ver10/network/wsdl",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
}
PROBE_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
MATCHES_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"
_MAC_IN_TEXT = re.compile(r"([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?"
                          r"([0-9a-f]{2})[:-]?([0-9a-f]{2})$", re.IGNORECASE)
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, remove_pis=True)


class DiscoveryReplyInvalid(Exception):
    """One reply that is not a usable ProbeMatch (the reason is a stable code)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    address: str  # the address that answered (and the one to register: it reaches the device)
    endpoint: str  # EndpointReference address, e.g. urn:uuid:...
    xaddrs: tuple[str, ...]  # device service URLs the device reports
    onvif_port: int  # from the XAddr on ``address`` if any, else from the first XAddr
    scopes: tuple[str, ...]
    name: str | None  # onvif://www.onvif.org/name/...
    hardware: str | None  # onvif://www.onvif.org/hardware/...
    mac: str | None  # from a MAC scope or the tail of a urn:uuid (many vendors put it there)
    warnings: tuple[str, ...] = ()  # codes, e.g. "reported_other_address"

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class RejectedReply:
    source: str
    code: str  # malformed, too_large, not_ours, outside_range


@dataclass(slots=True)
class DiscoveryResult:
    devices: list[DiscoveredDevice] = field(default_factory=list)
    rejected: list[RejectedReply] = field(default_factory=list)
    probed: int = 0  # unicast addresses probed


# --- the range -----------------------------------------------------------------------------------


def parse_range(text: str) -> list[str]:
    """Addresses of ``a.b.c.d``, ``a.b.c.d-a.b.c.e``, ``a.b.c.d-e`` or ``a.b.c.0/24`` (IPv4).

    Raises :class:`ValidationFailed` (field ``range``) for anything else or more than
    MAX_RANGE_ADDRESSES addresses.
    """
    text = (text or "").strip()
    try:
        if "/" in text:
            net = ipaddress.IPv4Network(text, strict=False)
            hosts = list(net.hosts()) if net.num_addresses <= MAX_RANGE_ADDRESSES + 2 else None
        elif "-" in text:
            first_text, last_text = (part.strip() for part in text.split("-", 1))
            first = ipaddress.IPv4Address(first_text)
            last = (ipaddress.IPv4Address(last_text) if "." in last_text
                    else ipaddress.IPv4Address(f"{first_text.rsplit('.', 1)[0]}.{int(last_text)}"))
            if last < first:
                raise ValueError("range end before its start")
            count = int(last) - int(first) + 1
            hosts = [first + i for i in range(count)] if count <= MAX_RANGE_ADDRESSES else None
        else:
            hosts = [ipaddress.IPv4Address(text)]
    except ValueError as exc:
        raise ValidationFailed(f"not an IPv4 address range: {text!r} ({exc})", field="range",
                               key="err.discover.range", params={"value": text}) from exc
    if hosts is None:
        raise ValidationFailed(f"at most {MAX_RANGE_ADDRESSES} addresses may be probed at once", field="range",
                               key="err.discover.too_many", params={"max": MAX_RANGE_ADDRESSES})
    refused = [h for h in hosts if not address_allowed(h)]
    if refused:  # the same allow-list as every camera connection (CAMERA_OPS_CAMERA_NETWORKS)
        raise ValidationFailed(f"{refused[0]} is outside the networks cameras may be reached on "
                               "(CAMERA_OPS_CAMERA_NETWORKS)", field="range", key="err.discover.outside_networks",
                               params={"address": str(refused[0])})
    return [str(h) for h in hosts]


# --- messages ------------------------------------------------------------------------------------


def probe_message(message_id: str) -> bytes:
    """A WS-Discovery Probe for ONVIF video transmitters (what every ONVIF camera answers)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:d="{NS["d"]}" xmlns:dn="{NS["dn"]}">'
        "<s:Header>"
        f"<a:Action s:mustUnderstand=\"1\">{PROBE_ACTION}</a:Action>"
        f"<a:MessageID>{message_id}</a:MessageID>"
        "<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
        "<a:To s:mustUnderstand=\"1\">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
        "</s:Header>"
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


@dataclass(frozen=True, slots=True)
class ProbeMatch:
    endpoint: str
    xaddrs: tuple[str, ...]
    scopes: tuple[str, ...]


def parse_probe_matches(data: bytes, *, message_id: str) -> list[ProbeMatch]:
    """The ProbeMatch entries of one reply to our Probe. Raises :class:`DiscoveryReplyInvalid`."""
    if len(data) > MAX_REPLY_BYTES:
        raise DiscoveryReplyInvalid("too_large")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DiscoveryReplyInvalid("malformed")  # no DTDs: entity expansion is an attack, not a camera
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryReplyInvalid("malformed") from exc
    if root.tag != f"{{{NS['s']}}}Envelope":
        raise DiscoveryReplyInvalid("malformed")
    relates = root.findtext("s:Header/a:RelatesTo", namespaces=NS)
    if relates is None or relates.strip() != message_id:
        raise DiscoveryReplyInvalid("not_ours")  # another tool's probe, or a stale or forged answer
    matches = root.findall("s:Body/d:ProbeMatches/d:ProbeMatch", namespaces=NS)
    if not matches:
        raise DiscoveryReplyInvalid("malformed")
    out = []
    for match in matches:
        endpoint = (match.findtext("a:EndpointReference/a:Address", namespaces=NS) or "").strip()
        xaddrs = tuple((match.findtext("d:XAddrs", namespaces=NS) or "").split())
        scopes = tuple((match.findtext("d:Scopes", namespaces=NS) or "").split())
        if not endpoint or not xaddrs or not all(_is_http_url(x) for x in xaddrs):
            raise DiscoveryReplyInvalid("malformed")
        out.append(ProbeMatch(endpoint=endpoint[:MAX_MESSAGE_ID_CHARS], xaddrs=xaddrs, scopes=scopes))
    return out


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 80) > 0
    except ValueError:
        return False


def device_from_match(match: ProbeMatch, source: str) -> DiscoveredDevice:
    hosts = [(urlsplit(x).hostname or "", urlsplit(x).port or (443 if x.startswith("https") else 80))
             for x in match.xaddrs]
    on_source = [port for host, port in hosts if host == source]
    warnings = () if on_source else ("reported_other_address",)
    return DiscoveredDevice(
        address=source,
        endpoint=match.endpoint,
        xaddrs=match.xaddrs,
        onvif_port=on_source[0] if on_source else hosts[0][1],
        scopes=match.scopes,
        name=_scope(match.scopes, "name"),
        hardware=_scope(match.scopes, "hardware"),
        mac=_mac(match),
        warnings=warnings,
    )


def _scope(scopes: Sequence[str], key: str) -> str | None:
    prefix = f"onvif://www.onvif.org/{key}/"
    for scope in scopes:
        if scope.lower().startswith(prefix.lower()):
            return unquote(scope[len(prefix):])[:120] or None
    return None


def _mac(match: ProbeMatch) -> str | None:
    for text in (_scope(match.scopes, "MAC"), _scope(match.scopes, "mac"), match.endpoint):
        found = _MAC_IN_TEXT.search(text or "")
        if found:
            return ":".join(g.lower() for g in found.groups())
    return None


def probe_match_message(*, relates_to: str, endpoint: str, xaddrs: Sequence[str], scopes: Sequence[str]) -> bytes:
    """A ProbeMatches reply (what a camera sends; the simulator answers with it)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:d="{NS["d"]}" xmlns:dn="{NS["dn"]}" '
        f'xmlns:tds="{NS["tds"]}">'
        "<s:Header>"
        f"<a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
        f"<a:RelatesTo>{_xml_text(relates_to)}</a:RelatesTo>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:Action>{MATCHES_ACTION}</a:Action>"
        "</s:Header>"
        "<s:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<a:EndpointReference><a:Address>{_xml_text(endpoint)}</a:Address></a:EndpointReference>"
        "<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
        f"<d:Scopes>{_xml_text(' '.join(scopes))}</d:Scopes>"
        f"<d:XAddrs>{_xml_text(' '.join(xaddrs))}</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion>"
        "</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
    ).encode()


def probe_message_id(data: bytes) -> str | None:
    """The MessageID of a Probe (for a responder); None if ``data`` is not a Probe."""
    if len(data) > MAX_REPLY_BYTES or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.find("s:Body/d:Probe", namespaces=NS) is None:
        return None
    message_id = root.findtext("s:Header/a:MessageID", namespaces=NS)
    return message_id.strip()[:MAX_MESSAGE_ID_CHARS] if message_id else None


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the network ---------------------------------------------------------------------------------


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str, allowed: frozenset[str] | None, result: DiscoveryResult) -> None:
        self.message_id, self.allowed, self.result = message_id, allowed, result
        self._seen: set[tuple[str, str]] = set()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        source = addr[0]
        if self.allowed is not None and source not in self.allowed:
            self._reject(source, "outside_range")
            return
        try:
            matches = parse_probe_matches(data, message_id=self.message_id)
        except DiscoveryReplyInvalid as exc:
            self._reject(source, exc.code)
            return
        for match in matches:
            key = (source, match.endpoint)
            if key in self._seen or len(self.result.devices) >= MAX_DEVICES:
                continue  # WS-Discovery repeats UDP replies; one entry per device
            self._seen.add(key)
            self.result.devices.append(device_from_match(match, source))

    def _reject(self, source: str, code: str) -> None:
        if len(self.result.rejected) < MAX_DEVICES:
            self.result.rejected.append(RejectedReply(source, code))

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable from a probed address
        pass


async def discover(
    *,
    targets: Sequence[str] = (),
    multicast: bool = False,
    port: int = WSD_PORT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    interface: str | None = None,
) -> DiscoveryResult:
    """Probe ``targets`` (unicast) and/or the LAN (multicast, out of ``interface``'s address if
    given); collect answers for ``timeout_s``. Unicast answers from other addresses are rejected
    as ``outside_range`` unless multicast was asked for too."""
    if not targets and not multicast:
        raise ValidationFailed("give an address range, or ask for the local network (multicast)",
                               field="range", key="err.discover.nothing")
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise ValidationFailed(f"timeout must be between 0 and {MAX_TIMEOUT_S:.0f} s", field="timeout_s",
                               key="err.discover.timeout", params={"max": int(MAX_TIMEOUT_S)})
    message_id = f"urn:uuid:{uuid.uuid4()}"
    result = DiscoveryResult(probed=len(targets))
    allowed = None if multicast else frozenset(targets)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setblocking(False)
    if interface:
        sock.bind((interface, 0))
    if multicast:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("b", MULTICAST_TTL))
        if interface:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    transport, _ = await loop.create_datagram_endpoint(lambda: _Collector(message_id, allowed, result), sock=sock)
    try:
        probe = probe_message(message_id)
        if multicast:
            transport.sendto(probe, (MULTICAST_GROUP, port))
        for target in targets:
            transport.sendto(probe, (target, port))
            await asyncio.sleep(0)  # let early answers in; a /22 is sent in a few ms
        await asyncio.sleep(timeout_s)
    finally:
        transport.close()
    return result
