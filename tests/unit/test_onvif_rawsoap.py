"""Raw SOAP GetSystemDateAndTime against tiny HTTP responders on 127.0.0.1."""

import asyncio
import base64
import hashlib
import re
import socket
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import pytest
from lxml import etree

from camera_ops.errors import CameraAuthFailed, CameraProtocolError, CameraTimeout, CameraUnreachable, NotOnvif
from camera_ops.onvif.rawsoap import build_wsse_header, get_system_date_and_time
from camera_ops.rtsp.auth import compute_digest_response, parse_challenge

pytestmark = pytest.mark.timeout(30)
USER, PASSWORD = "admin", "pa$$<word>"


def soap_time(year=2026, month=11, day=21, hour=14, minute=10, second=5):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
        "<SOAP-ENV:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>ICT-7</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime><tt:Time><tt:Hour>{hour}</tt:Hour><tt:Minute>{minute}</tt:Minute><tt:Second>{second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{year}</tt:Year><tt:Month>{month}</tt:Month><tt:Day>{day}</tt:Day></tt:Date></tt:UTCDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


AUTH_FAULT = (
    '<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:ter="http://www.onvif.org/ver10/error"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value>'
    "<env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code>"
    '<env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>'
)


def http(status, body, content_type="application/soap+xml", extra=""):
    data = body.encode()
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n{extra}\r\n".encode() + data


def wsse_ok(request: bytes) -> bool:
    body = request.partition(b"\r\n\r\n")[2]
    root = etree.fromstring(body)
    ns = {"wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
          "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"}
    token = root.find(".//wsse:UsernameToken", ns)
    if token is None:
        return False
    nonce = base64.b64decode(token.findtext("wsse:Nonce", namespaces=ns))
    created = token.findtext("wsu:Created", namespaces=ns)
    expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()).decode()
    return token.findtext("wsse:Username", namespaces=ns) == USER and token.findtext("wsse:Password", namespaces=ns) == expected


@asynccontextmanager
async def responder(answer, *, close=True):
    """answer(request_bytes) -> response bytes | None (None = never answer)."""
    requests = []

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            request = head + await reader.readexactly(length)
            requests.append(request)
            response = answer(request)
            if response is None:
                await asyncio.sleep(3600)
            writer.write(response)
            await writer.drain()
            if not close:
                await asyncio.sleep(3600)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    tasks = set()

    def track(reader, writer):
        task = asyncio.ensure_future(handle(reader, writer))
        tasks.add(task)

    server = await asyncio.start_server(track, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], requests
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def probe(port, **kwargs):
    return await get_system_date_and_time("127.0.0.1", port, timeout_s=kwargs.pop("timeout_s", 5.0), **kwargs)


async def test_unauthenticated_answer_gives_camera_time_offset_and_rtt():
    async with responder(lambda r: http("200 OK", soap_time())) as (port, requests):
        result = await probe(port)
    assert result.camera_utc == datetime(2026, 11, 21, 14, 10, 5, tzinfo=timezone.utc)
    expected = (result.camera_utc - datetime.now(timezone.utc)).total_seconds()
    assert abs(result.clock_offset_s - expected) < 5 and result.rtt_s >= 0 and result.auth is None
    assert b"Content-Type: application/soap+xml" in requests[0] and b"Connection: close" in requests[0]


async def test_server_keeping_the_connection_open_is_fine_when_content_length_is_complete():
    async with responder(lambda r: http("200 OK", soap_time()), close=False) as (port, _):
        assert (await probe(port, timeout_s=2)).camera_utc.year == 2026


async def test_overflowing_time_fields_are_normalized_not_crashing():
    async with responder(lambda r: http("200 OK", soap_time(hour=0, minute=61, second=16))) as (port, _):
        result = await probe(port)
    assert result.camera_utc == datetime(2026, 11, 21, 1, 1, 16, tzinfo=timezone.utc)


@pytest.mark.parametrize("body", [soap_time(month=13), soap_time(minute="xx"), soap_time(second=-1)])
async def test_impossible_dates_are_protocol_errors(body):
    async with responder(lambda r: http("200 OK", body)) as (port, _):
        with pytest.raises(CameraProtocolError):
            await probe(port)


async def test_auth_fault_is_retried_with_wsse_digest_on_the_camera_clock():
    def answer(request):
        if b"UsernameToken" in request and wsse_ok(request):
            return http("200 OK", soap_time())
        return http("400 Bad Request", AUTH_FAULT)

    async with responder(answer) as (port, requests):
        result = await probe(port, username=USER, password=PASSWORD, clock_offset_s=-3600)
    assert result.auth == "wsse-digest" and len(requests) == 2
    created = re.search(rb"<wsu:Created>([^<]+)</wsu:Created>", requests[1]).group(1).decode()
    lag = datetime.now(timezone.utc) - datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert 3590 < lag.total_seconds() < 3610  # Created is on the camera's clock, an hour behind


@pytest.mark.parametrize("jump_s", [600.0, -600.0])
async def test_the_offset_and_the_signature_are_on_the_clock_given_not_this_machine_s(jump_s):
    """The monitor passes its own clock (the database's, carried forward monotonically): the
    camera's offset is measured against it, and a signature dated from the camera's clock through
    it, whatever this machine's wall clock says. Here the given clock is the true time and the
    camera runs an hour behind; had the machine's clock been read, the offset would be off by
    ``jump_s`` (our wall clock stands in for the jumped one: ``wall`` is the true time minus it)."""
    import time
    from datetime import timedelta

    true_now = lambda: time.time() - jump_s  # noqa: E731 — the machine's clock is jump_s off the truth
    camera_now = lambda: datetime.fromtimestamp(true_now(), timezone.utc) - timedelta(hours=1)  # noqa: E731
    t = camera_now()

    def answer(request):
        if b"UsernameToken" in request and wsse_ok(request):
            c = camera_now()
            return http("200 OK", soap_time(c.year, c.month, c.day, c.hour, c.minute, c.second))
        return http("400 Bad Request", AUTH_FAULT)

    async with responder(answer) as (port, requests):
        result = await probe(port, username=USER, password=PASSWORD, clock_offset_s=-3600, wall=true_now)
    assert -3602 < result.clock_offset_s < -3598 and t.year >= 2026
    created = re.search(rb"<wsu:Created>([^<]+)</wsu:Created>", requests[1]).group(1).decode()
    signed = datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert abs((signed - camera_now()).total_seconds()) < 5  # on the camera's clock, not jump_s away from it


async def test_without_a_known_offset_the_refusals_http_date_dates_the_token():
    from email.utils import format_datetime
    from datetime import timedelta

    camera_now = format_datetime(datetime.now(timezone.utc) - timedelta(hours=2), usegmt=True)
    async with responder(lambda r: http("400 Bad Request", AUTH_FAULT, extra=f"Date: {camera_now}\r\n")) as (port, requests):
        with pytest.raises(CameraAuthFailed):
            await probe(port, username=USER, password=PASSWORD)
    created = re.search(rb"<wsu:Created>([^<]+)</wsu:Created>", requests[1]).group(1).decode()
    lag = datetime.now(timezone.utc) - datetime.fromisoformat(created.replace("Z", "+00:00"))
    assert 7190 < lag.total_seconds() < 7210


async def test_http_401_is_retried_with_http_digest():
    nonce = "abc123"

    def answer(request):
        match = re.search(rb"Authorization: (.+)\r\n", request)
        if match:
            params = parse_challenge(match.group(1).decode()).params
            good = compute_digest_response(username=USER, password=PASSWORD, realm="cam", nonce=nonce, method="POST",
                                           uri=params["uri"], qop="auth", nc=params["nc"], cnonce=params["cnonce"])
            if params["response"] == good:
                return http("200 OK", soap_time())
        return http("401 Unauthorized", "", "text/html", f'WWW-Authenticate: Digest realm="cam", nonce="{nonce}", qop="auth"\r\n')

    async with responder(answer) as (port, _):
        result = await probe(port, username=USER, password=PASSWORD)
    assert result.auth == "http-digest"


async def test_wrong_password_is_auth_failure_that_never_shows_the_password():
    async with responder(lambda r: http("400 Bad Request", AUTH_FAULT)) as (port, _):
        with pytest.raises(CameraAuthFailed) as info:
            await probe(port, username=USER, password="hunter2-secret")
    assert info.value.field == "password" and "hunter2-secret" not in str(info.value)


async def test_auth_required_without_credentials_is_auth_failure():
    async with responder(lambda r: http("400 Bad Request", AUTH_FAULT)) as (port, _):
        with pytest.raises(CameraAuthFailed):
            await probe(port)


@pytest.mark.parametrize("response", [
    http("404 Not Found", "<html><body>Not Found</body></html>", "text/html"),
    http("200 OK", "<!DOCTYPE html><html><head><title>Router</title></head></html>", "text/html"),
    http("200 OK", '{"status": "ok"}', "application/json"),
    http("200 OK", "<config><a>1</a></config>", "text/xml"),
    b"SSH-2.0-OpenSSH_9.2\r\n",
])
async def test_port_that_is_not_onvif_says_fix_the_port(response):
    async with responder(lambda r: response) as (port, _):
        with pytest.raises(NotOnvif) as info:
            await probe(port)
    assert info.value.field == "port"


async def test_malformed_soap_is_protocol_error():
    broken = soap_time()[:-40]
    async with responder(lambda r: http("200 OK", broken)) as (port, _):
        with pytest.raises(CameraProtocolError):
            await probe(port)


async def test_chunked_answer_is_decoded():
    body = soap_time().encode()
    chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += f"{len(body[:100]):x}\r\n".encode() + body[:100] + b"\r\n" + f"{len(body[100:]):x}\r\n".encode() + body[100:] + b"\r\n0\r\n\r\n"
    async with responder(lambda r: chunked) as (port, _):
        assert (await probe(port)).camera_utc.day == 21


async def test_refused_port_is_unreachable_host():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(CameraUnreachable) as info:
            await probe(sock.getsockname()[1])
    assert info.value.field == "host" and not isinstance(info.value, CameraTimeout)


async def test_silent_camera_hits_the_hard_deadline():
    async with responder(lambda r: None) as (port, _):
        with pytest.raises(CameraTimeout):
            await probe(port, timeout_s=0.3)


def test_wsse_header_digest_formula():
    created = datetime(2026, 11, 21, 14, 10, 5, 123000, tzinfo=timezone.utc)
    xml = build_wsse_header("a&b", "pw", created, b"\x01" * 16)
    digest = base64.b64encode(hashlib.sha1(b"\x01" * 16 + b"2026-11-21T14:10:05.123Z" + b"pw").digest()).decode()
    assert digest in xml and "<wsse:Username>a&amp;b</wsse:Username>" in xml and "pw<" not in xml


# --- the plain-code reading of ordinary answers (the monitor's hot path) ------------------------

def _response(body: str, status: int = 200):
    from camera_ops.onvif.rawsoap import parse_http_response

    return parse_http_response(http(f"{status} OK" if status == 200 else f"{status} Error", body))


@pytest.mark.parametrize("body", [
    soap_time(),
    soap_time(hour=0, minute=61, second=16),  # overflow some cameras send: normalized
    soap_time().replace("tt:", "").replace("xmlns:tt=", "xmlns="),  # default namespace, no prefix
    soap_time().replace("<tt:Hour>14</tt:Hour>", "<tt:Hour> 14 </tt:Hour>").replace("><", ">\n  <"),
])
def test_plain_reading_agrees_with_the_xml_parser(body):
    from camera_ops.onvif.rawsoap import _PARSER, _UTC_TAG, _plain_utc, parse_utc_datetime

    plain = _plain_utc(_response(body))
    by_lxml = parse_utc_datetime(next(etree.fromstring(body.encode(), _PARSER).iter(_UTC_TAG)))
    assert plain is not None and plain == by_lxml


@pytest.mark.parametrize(("body", "status"), [
    (AUTH_FAULT, 200),  # a fault: lxml decides what kind
    (soap_time(), 500),
    (soap_time()[:-40], 200),  # cut short
    (soap_time().replace("<tt:Second>5</tt:Second>", ""), 200),  # a field missing
    (soap_time().replace("<tt:Day>21</tt:Day>", "<tt:Day>21</tt:Day><tt:Day>22</tt:Day>"), 200),  # doubled
    (soap_time(year=12345), 200),
    ("<html><body>UTCDateTime></body></html>", 200),
])
def test_unusual_answers_are_left_to_the_xml_parser(body, status):
    from camera_ops.onvif.rawsoap import _plain_utc

    assert _plain_utc(_response(body, status)) is None
