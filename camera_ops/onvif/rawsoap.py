"""The cheap per-cycle ONVIF probe: ``GetSystemDateAndTime`` as raw SOAP 1.2 over one asyncio
TCP connection (HTTP/1.1, ``Connection: close``), parsed with lxml. No zeep, no HTTP client.

The device service answers this call without authentication on compliant cameras; cheap ones
demand it anyway — then we retry once with HTTP Digest (if the camera answers HTTP 401) or a
WS-Security UsernameToken digest built on the camera's clock (if it answers a SOAP auth fault).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from xml.sax.saxutils import escape

from lxml import etree

from camera_ops.errors import (
    UNREACHABLE_OS_ERRORS,
    CameraAuthFailed,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    NotOnvif,
)
from camera_ops.netpolicy import resolve_camera_address
from camera_ops.rtsp.auth import choose_authorizer

WallClock = Callable[[], float]  # "now", seconds since the epoch
DEVICE_SERVICE_PATH = "/onvif/device_service"
DEFAULT_TIMEOUT_S = 5.0
MAX_RESPONSE_BYTES = 256 * 1024  # a GetSystemDateAndTime answer is ~2 KiB
WSSE_NONCE_BYTES = 16
MAX_TIME_FIELD = 99  # tolerate "00:61:16"-style overflow by normalizing; reject nonsense beyond

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_TT = "http://www.onvif.org/ver10/schema"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

_BODY = '<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>'
_ENVELOPE = f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS_SOAP12}">{{header}}{_BODY}</s:Envelope>'
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)
_UTC_TAG = f"{{{NS_TT}}}UTCDateTime"
_FAULT_TAGS = (f"{{{NS_SOAP12}}}Fault", f"{{{NS_SOAP11}}}Fault")
_ENVELOPE_TAGS = (f"{{{NS_SOAP12}}}Envelope", f"{{{NS_SOAP11}}}Envelope")



ONVIF_PORTS_TO_TRY = (80, 8000, 8080, 2020, 8899)  # where cameras usually serve ONVIF
PROTOCOL_SNIFF_BYTES = 5  # "HTTP/" or "RTSP/": enough to know what the port speaks
WSSE_CLOCK_WINDOW_S = 5.0  # cameras refuse a Created further off than a few seconds


def rtsp_port_error(host: str, port: int) -> NotOnvif:
    ports = ", ".join(str(p) for p in ONVIF_PORTS_TO_TRY)
    return NotOnvif(f"{host}:{port} is an RTSP (video) port, not ONVIF; ONVIF is usually on port {ports}",
                    field="port", details={"speaks": "rtsp", "try_ports": list(ONVIF_PORTS_TO_TRY)},
                    key="err.onvif.rtsp_port", params={"address": f"{host}:{port}", "ports": ports})


class SoapAuthRequired(CameraAuthFailed):
    """The camera answered GetSystemDateAndTime with an authentication fault (or HTTP 401)."""


@dataclass(frozen=True, slots=True)
class CameraTime:
    camera_utc: datetime
    clock_offset_s: float  # camera UTC − our UTC at the middle of the exchange (±1 s resolution)
    rtt_s: float
    auth: str | None  # None (answered without auth) | "http-digest" | "http-basic" | "wsse-digest"
    signed_on_camera_clock_s: float | None = None  # WS-Security signed with this offset read from the camera


def build_wsse_header(username: str, password: str, created_utc: datetime, nonce: bytes) -> str:
    """WS-Security UsernameToken with PasswordDigest = Base64(SHA1(nonce + created + password))."""
    created = created_utc.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{created_utc.microsecond // 1000:03d}Z"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode("utf-8")).digest()).decode()
    return (
        f'<s:Header><wsse:Security xmlns:wsse="{NS_WSSE}" xmlns:wsu="{NS_WSU}" s:mustUnderstand="1">'
        f"<wsse:UsernameToken><wsse:Username>{escape(username)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{BASE64_BINARY}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"
    )


@lru_cache(maxsize=65536)  # one per camera of the fleet; a probe sends the same bytes every cycle
def plain_request(host: str, port: int, path: str) -> bytes:
    """The unauthenticated request, built once per camera."""
    return build_request(host, port, path)


def build_request(host: str, port: int, path: str, header_xml: str = "", authorization: str | None = None) -> bytes:
    body = _ENVELOPE.format(header=header_xml).encode()
    host_header = f"[{host}]" if ":" in host else host
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host_header}:{port}",
        'Content-Type: application/soap+xml; charset=utf-8; action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"',
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]


def _dechunk(data: bytes) -> bytes:
    out, offset = bytearray(), 0
    while True:
        line_end = data.find(b"\r\n", offset)
        if line_end < 0:
            raise CameraProtocolError("truncated chunked HTTP body")
        size = int(data[offset:line_end].split(b";")[0] or b"0", 16)
        if size == 0:
            return bytes(out)
        out += data[line_end + 2 : line_end + 2 + size]
        offset = line_end + 2 + size + 2


def parse_http_response(data: bytes) -> HttpResponse:
    if data.startswith(b"RTSP/"):
        raise NotOnvif("the port answers RTSP, not HTTP", field="port", details={"speaks": "rtsp"})
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/"):
        raise NotOnvif("the port does not answer HTTP", field="port", key="err.onvif.not_http")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise NotOnvif("malformed HTTP status line", field="port", key="err.onvif.not_http")
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
    response = HttpResponse(int(parts[1]), headers, body)
    try:
        if (response.header("Transfer-Encoding") or "").lower() == "chunked":
            response.body = _dechunk(body)
        elif (length := response.header("Content-Length")) is not None:
            response.body = body[: int(length)]
    except ValueError as exc:
        raise CameraProtocolError("malformed HTTP framing") from exc
    return response


def _expected_length(head: bytes) -> int | None:
    """Total response length from the head, if it says (Content-Length); else read to close."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(head) + 4 + int(value.strip())
            except ValueError:
                return None
    return None


class _Exchange(asyncio.Protocol):
    """Write one request, collect the response until close or a complete Content-Length body."""

    def __init__(self, request: bytes, done: asyncio.Future[bytes]) -> None:
        self._request = request
        self._done = done
        self._data = bytearray()
        self._head_seen = False
        self._expected: int | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        transport.write(self._request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self._data += data
        if len(self._data) >= PROTOCOL_SNIFF_BYTES and not self._data.startswith(b"HTTP/"):
            self._finish(bytes(self._data))  # not HTTP (RTSP, a banner, binary): say so now, not at the deadline
            return
        if len(self._data) > MAX_RESPONSE_BYTES:
            self._finish(CameraProtocolError("ONVIF answer too large"))
            return
        if not self._head_seen and (end := self._data.find(b"\r\n\r\n")) >= 0:
            self._head_seen = True
            self._expected = _expected_length(bytes(self._data[:end]))
        if self._expected is not None and len(self._data) >= self._expected:
            self._finish(bytes(self._data))  # complete: no need to wait for the close

    def eof_received(self) -> bool:
        self._finish(bytes(self._data))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(bytes(self._data))

    def _finish(self, result: bytes | Exception) -> None:
        if not self._done.done():
            if isinstance(result, Exception):
                self._done.set_exception(result)
            else:
                self._done.set_result(result)
        if self._transport is not None:
            self._transport.close()


async def _exchange(
    host: str, port: int, request: bytes, connected: list[bool] | None = None, wall: WallClock = time.time,
) -> tuple[bytes, float, float]:
    """Returns (raw response, send time on ``wall``, RTT). Caller holds the deadline; ``connected``
    gets True appended once the TCP connection stands (a later timeout is then the port's)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    address = await resolve_camera_address(host, port)  # outside the camera networks: refused, nothing sent
    try:
        transport, _ = await loop.create_connection(lambda: _Exchange(request, done), address, port)
    except TimeoutError:
        raise
    except UNREACHABLE_OS_ERRORS as exc:
        raise CameraUnreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}", field="host",
                                key="err.onvif.connect_address", params={"address": f"{host}:{port}"}) from exc
    if connected is not None:
        connected.append(True)
    sent_wall, started = wall(), time.perf_counter()
    try:
        raw = await done
    finally:
        transport.close()
    if not raw:
        raise NotOnvif(f"{host}:{port} accepted the connection and closed it without answering: a port-forward "
                       "to a camera that is off or elsewhere, or not the ONVIF port", field="port",
                       details={"dropped": True}, key="err.onvif.dropped", params={"address": f"{host}:{port}"})
    return raw, sent_wall, time.perf_counter() - started


def _utc(wall: WallClock) -> datetime:
    return datetime.fromtimestamp(wall(), timezone.utc)


def _fault_is_auth(fault: etree._Element) -> bool:
    text = " ".join(t.strip() for t in fault.itertext()).lower()
    return "notauthorized" in text or "auth" in text or ("sender" in text and "security" in text)


_TIME_FIELDS = ("Year", "Month", "Day", "Hour", "Minute", "Second")
_TIME_TAGS = {name: f"{{{NS_TT}}}{name}" for name in _TIME_FIELDS}
_TIME_LIMITS = {"Year": 9999}


def _time_fields(utc: etree._Element) -> dict[str, int]:
    # UTCDateTime → Date/Time → fields: two levels, read directly (the hot path of every probe)
    texts = {element.tag: element.text for part in utc for element in part}
    values: dict[str, int] = {}
    for name in _TIME_FIELDS:
        text = texts.get(_TIME_TAGS[name])
        if text is None:
            raise CameraProtocolError(f"camera time has no {name}")
        try:
            value = int(text.strip())
        except ValueError as exc:
            raise CameraProtocolError(f"camera time field {name} is not a number") from exc
        if not 0 <= value <= _TIME_LIMITS.get(name, MAX_TIME_FIELD):
            raise CameraProtocolError(f"camera time field {name} out of range")
        values[name] = value
    return values


def parse_utc_datetime(utc: etree._Element) -> datetime:
    """``tt:UTCDateTime`` → aware datetime; ``00:61:16``-style overflow is normalized."""
    return _utc_from_fields(_time_fields(utc))


def _utc_from_fields(f: dict[str, int]) -> datetime:
    try:
        day = datetime(f["Year"], f["Month"], f["Day"], tzinfo=timezone.utc)
    except ValueError as exc:
        raise CameraProtocolError("camera date is not a calendar date") from exc
    return day + timedelta(hours=f["Hour"], minutes=f["Minute"], seconds=f["Second"])


# The ordinary answer, read with plain code: six numbers between the two UTCDateTime tags. Any
# answer this does not fit exactly (a fault, a missing field, an odd layout) goes to lxml.
_UTC_MARK = b"UTCDateTime>"
_FIELD = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(Year|Month|Day|Hour|Minute|Second)>\s*(\d{1,4})\s*</")


def _plain_utc(response: HttpResponse) -> datetime | None:
    body = response.body
    if response.status != 200 or b"Fault" in body or not body.lstrip().startswith(b"<"):
        return None
    if not body.rstrip().endswith(b"Envelope>"):  # cut short: let the XML parser say so
        return None
    start = body.find(_UTC_MARK)
    end = body.find(_UTC_MARK, start + len(_UTC_MARK)) if start >= 0 else -1
    if end < 0 or b"Envelope" not in body[:start]:
        return None
    found = _FIELD.findall(body, start, end)
    fields = {name.decode(): int(value) for name, value in found}
    if len(found) != len(_TIME_FIELDS) or len(fields) != len(_TIME_FIELDS):
        return None
    if any(not 0 <= value <= _TIME_LIMITS.get(name, MAX_TIME_FIELD) for name, value in fields.items()):
        return None
    return _utc_from_fields(fields)


def parse_system_date_and_time(response: HttpResponse) -> datetime:
    """Camera UTC from a GetSystemDateAndTime answer; SoapAuthRequired / NotOnvif / protocol error."""
    plain = _plain_utc(response)
    if plain is not None:
        return plain
    content_type = (response.header("Content-Type") or "").lower()
    if response.status == 401 and "xml" not in content_type:
        raise SoapAuthRequired("camera requires HTTP authentication", field="password")
    if not response.body.lstrip().startswith(b"<"):
        raise NotOnvif(f"port answers HTTP {response.status} but not SOAP", field="port",
                       key="err.onvif.http_not_onvif", params={"status": response.status})
    try:
        root = etree.fromstring(response.body, _PARSER)
    except etree.XMLSyntaxError as exc:
        if b"<html" in response.body[:512].lower():
            raise NotOnvif(f"port answers HTTP {response.status} with a web page, not ONVIF", field="port",
                           key="err.onvif.http_not_onvif", params={"status": response.status}) from exc
        raise CameraProtocolError("malformed SOAP answer") from exc
    if root.tag not in _ENVELOPE_TAGS:
        raise NotOnvif(f"port answers HTTP {response.status} with XML that is not SOAP", field="port",
                       key="err.onvif.http_not_onvif", params={"status": response.status})
    found = {element.tag: element for element in root.iter(_UTC_TAG, *_FAULT_TAGS)}
    fault = next((found[tag] for tag in _FAULT_TAGS if tag in found), None)
    if fault is not None:
        if _fault_is_auth(fault) or response.status == 401:
            raise SoapAuthRequired("camera refused GetSystemDateAndTime without credentials", field="password")
        raise CameraProtocolError("camera answered GetSystemDateAndTime with a SOAP fault")
    utc = found.get(_UTC_TAG)
    if utc is None:
        raise CameraProtocolError("camera answer has no UTCDateTime")
    return parse_utc_datetime(utc)


async def get_system_date_and_time(
    host: str, port: int, *, username: str | None = None, password: str | None = None,
    clock_offset_s: float = 0.0, timeout_s: float = DEFAULT_TIMEOUT_S, path: str = DEVICE_SERVICE_PATH,
    wall: WallClock = time.time,
) -> CameraTime:
    """Ask the camera its UTC time; one hard deadline over connect, auth retry and parse.

    ``clock_offset_s`` (last known camera − our time) dates the WS-Security ``Created`` on the
    camera's clock, which cameras check within a few seconds. Without one (registration), the
    HTTP ``Date`` of the camera's refusal is used when it sent one.

    ``wall``: "our time", seconds since the epoch. The monitor passes the database's clock carried
    forward by the monotonic clock, so a jump of this machine's wall clock neither shifts every
    camera's offset nor dates a WS-Security signature wrongly.
    """
    connected: list[bool] = []
    signed_offset: float | None = None
    try:
        async with asyncio.timeout(timeout_s):
            raw, sent, rtt = await _exchange(host, port, plain_request(host, port, path), connected, wall)
            try:
                response = parse_http_response(raw)
            except NotOnvif as exc:
                raise (rtsp_port_error(host, port) if exc.details.get("speaks") == "rtsp" else exc) from exc
            auth: str | None = None
            try:
                camera_utc = parse_system_date_and_time(response)
            except SoapAuthRequired:
                if not username:
                    raise
                camera_utc, sent, rtt, auth, signed_offset = await _with_credentials(
                    host, port, path, response, username, password or "", clock_offset_s, wall)
    except TimeoutError as exc:
        if connected:  # something listens there, but does not answer ONVIF: the port, not the host
            raise CameraTimeout(f"{host}:{port} accepts connections but gave no ONVIF answer within {timeout_s:g} s",
                                field="port", details={"connected": True}, key="err.onvif.silent_port",
                                params={"address": f"{host}:{port}", "seconds": timeout_s}) from exc
        raise CameraTimeout(f"{host}:{port} did not answer within {timeout_s:g} s", field="host",
                            key="err.onvif.no_answer", params={"address": f"{host}:{port}", "seconds": timeout_s}) from exc
    ours = datetime.fromtimestamp(sent + rtt / 2, timezone.utc)
    return CameraTime(camera_utc, (camera_utc - ours).total_seconds(), rtt, auth, signed_offset)


async def _with_credentials(
    host: str, port: int, path: str, refusal: HttpResponse, username: str, password: str, clock_offset_s: float,
    wall: WallClock = time.time,
) -> tuple[datetime, float, float, str, float | None]:
    """The authenticated retry. HTTP 401 → HTTP digest/basic (no clock involved); a SOAP auth fault →
    WS-Security signed on the camera's clock. When the camera refuses that signature and its own
    ``Date`` shows our guess of its clock was far off, sign once more on the camera's time."""
    request, auth, signed = _authenticated_request(host, port, path, refusal, username, password, clock_offset_s, wall)
    raw, sent, rtt = await _exchange(host, port, request, wall=wall)
    answer = parse_http_response(raw)
    try:
        return parse_system_date_and_time(answer), sent, rtt, auth, signed
    except SoapAuthRequired as exc:
        camera_date = _http_date(answer.header("Date"))
        if auth == "wsse-digest" and camera_date is not None:
            offset = (camera_date - _utc(wall)).total_seconds()
            if signed is None or abs(offset - signed) > WSSE_CLOCK_WINDOW_S:
                header = build_wsse_header(username, password, _utc(wall) + timedelta(seconds=offset),
                                           os.urandom(WSSE_NONCE_BYTES))
                raw, sent, rtt = await _exchange(host, port, build_request(host, port, path, header_xml=header), wall=wall)
                try:
                    return parse_system_date_and_time(parse_http_response(raw)), sent, rtt, auth, offset
                except SoapAuthRequired:
                    pass
        how = "HTTP digest/basic (HTTP 401)" if auth.startswith("http") else \
            "WS-Security digest (SOAP fault), signed on the camera's clock"
        raise CameraAuthFailed(f"camera refused the username/password ({how})", field="password",
                               key="err.onvif.refused_http" if auth.startswith("http") else "err.onvif.refused_wsse",
                               details={"auth": auth}) from exc


def _http_date(value: str | None) -> datetime | None:
    """The camera's clock from its HTTP ``Date`` header (1 s resolution), if it sent one."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _authenticated_request(
    host: str, port: int, path: str, challenge: HttpResponse, username: str, password: str, clock_offset_s: float,
    wall: WallClock = time.time,
) -> tuple[bytes, str, float | None]:
    """(request, scheme, offset the WS-Security Created was signed with when read from the camera)."""
    if challenge.status == 401:
        authorizer = choose_authorizer(challenge.header_all("WWW-Authenticate"), username, password)
        if authorizer is not None:
            scheme = "http-basic" if authorizer.__class__.__name__ == "BasicAuth" else "http-digest"
            return build_request(host, port, path, authorization=authorizer.authorization("POST", path)), scheme, None
    offset, from_camera = clock_offset_s, None
    if not offset and (camera_date := _http_date(challenge.header("Date"))) is not None:
        offset = from_camera = (camera_date - _utc(wall)).total_seconds()  # best clock we have
    created = _utc(wall) + timedelta(seconds=offset)
    header = build_wsse_header(username, password, created, os.urandom(WSSE_NONCE_BYTES))
    return build_request(host, port, path, header_xml=header), "wsse-digest", from_camera
