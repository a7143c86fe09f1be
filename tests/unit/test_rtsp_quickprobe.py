"""The monitor's lean RTSP probe against a tiny in-process camera over real 127.0.0.1 sockets."""

import asyncio
import socket
from collections.abc import Callable

import pytest

from camera_ops.errors import CameraAuthFailed, CameraProtocolError, CameraTimeout, CameraUnreachable
from camera_ops.rtsp.quickprobe import KeepBudget, RtspProbeLink, quick_rtsp_probe
from camera_ops.rtsp.testing import FakeRtspCamera, serve_rtsp
from camera_ops.video.testing import encode_clip, split_access_units

pytestmark = pytest.mark.timeout(30)
TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def units():
    return split_access_units(encode_clip("h264", frames=2, width=160, height=120, gop=10))


def camera(units, **kwargs):
    return FakeRtspCamera(access_units=units, username="admin", password="s3cret!", **kwargs)


def methods(cam):
    return [m for m, _ in cam.requests]


@pytest.mark.parametrize("scheme", ["digest", "basic"])
async def test_probe_authenticates_then_reuses_the_authorizer_without_a_401(units, scheme):
    cam = camera(units, auth=scheme)
    async with serve_rtsp(cam) as url:
        link = RtspProbeLink.for_url(url, "admin", "s3cret!")
        await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)
        assert methods(cam) == ["OPTIONS", "DESCRIBE", "DESCRIBE"]  # first cycle: one 401
        cam.requests.clear()
        await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)
    assert methods(cam) == ["OPTIONS", "DESCRIBE"]  # next cycles: authenticated up front
    assert cam.requests[1][1].get("Accept") == "application/sdp"


async def test_stale_nonce_costs_one_401_and_is_replaced(units):
    cam = camera(units)
    async with serve_rtsp(cam) as url:
        link = RtspProbeLink.for_url(url, "admin", "s3cret!")
        await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)
        cam._nonce = "rotated"  # the camera restarted: the old nonce is no longer valid
        cam.requests.clear()
        await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)
        assert methods(cam) == ["OPTIONS", "DESCRIBE", "DESCRIBE"]
        cam.requests.clear()
        await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)
    assert methods(cam) == ["OPTIONS", "DESCRIBE"]


async def test_wrong_password_is_auth_failure_and_never_sends_or_shows_the_password(units):
    cam = camera(units)
    async with serve_rtsp(cam) as url:
        link = RtspProbeLink.for_url(url.replace("rtsp://", "rtsp://admin:wrong-pass@"), None, None)
        with pytest.raises(CameraAuthFailed) as info:
            await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)
    assert info.value.field == "password" and "wrong-pass" not in str(info.value)
    assert methods(cam) == ["OPTIONS", "DESCRIBE", "DESCRIBE"]  # no endless retries
    assert all("wrong-pass" not in str(headers) for _, headers in cam.requests)
    assert link.authorizer is None  # the next cycle starts from a fresh challenge


async def test_no_credentials_for_a_camera_that_wants_them_is_auth_failure(units):
    async with serve_rtsp(camera(units)) as url:
        with pytest.raises(CameraAuthFailed):
            await quick_rtsp_probe(RtspProbeLink.for_url(url, None, None), timeout_s=TIMEOUT_S)


def test_link_knows_when_the_camera_changed():
    link = RtspProbeLink.for_url("rtsp://admin:pw@10.0.0.5/s1", None, None)
    assert (link.url, link.host, link.port, link.username, link.password) == ("rtsp://10.0.0.5/s1", "10.0.0.5", 554, "admin", "pw")
    assert link.same_camera("rtsp://10.0.0.5/s1", "admin", "pw")
    assert not link.same_camera("rtsp://10.0.0.5/s1", "admin", "new-password")
    assert not link.same_camera("rtsp://10.0.0.6/s1", "admin", "pw")


async def test_refused_port_is_unreachable_host():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(CameraUnreachable) as info:
            await quick_rtsp_probe(RtspProbeLink.for_url(f"rtsp://127.0.0.1:{port}/x", "a", "b"), timeout_s=TIMEOUT_S)
    assert info.value.field == "host" and not isinstance(info.value, CameraTimeout)


async def serve(answer: Callable[[bytes], bytes | None]):
    """A one-off server: reads each request head and writes ``answer(head)`` (None: say nothing;
    empty: close the connection)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                reply = answer(head)
                if reply is None:
                    await reader.read()
                    return
                if not reply:
                    return
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def rtsp(status: str, head: bytes, body: bytes = b"", extra: str = "") -> bytes:
    cseq = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"cseq")).split(b":")[1].strip()
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"RTSP/1.0 {status}\r\nCSeq: {cseq.decode()}\r\n{extra}{length}\r\n".encode() + body


@pytest.mark.parametrize(("name", "answer", "error", "field"), [
    ("hangs", lambda head: None, CameraTimeout, "host"),
    ("speaks HTTP", lambda head: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", CameraProtocolError, "stream_uri"),
    ("wrong path", lambda head: rtsp("404 Not Found", head) if head.startswith(b"DESCRIBE") else rtsp("200 OK", head),
     CameraProtocolError, "stream_uri"),
    ("refuses OPTIONS", lambda head: rtsp("500 Internal Server Error", head), CameraProtocolError, None),
    ("no video track", lambda head: rtsp("200 OK", head, b"v=0\r\ns=x\r\nm=audio 0 RTP/AVP 0\r\n"), CameraProtocolError, "stream_uri"),
    ("closes at once", lambda head: b"", CameraProtocolError, None),
])
async def test_a_port_that_misbehaves_gets_a_named_error(name, answer, error, field):
    server = await serve(answer)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(error) as info:
            await quick_rtsp_probe(RtspProbeLink.for_url(f"rtsp://127.0.0.1:{port}/x", "a", "b"), timeout_s=0.5)
    finally:
        server.close()
    assert info.value.field == field, name


async def test_answer_split_over_many_segments_with_an_sdp_body_is_framed_by_content_length():
    sdp = b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            reply = rtsp("200 OK", head, sdp if head.startswith(b"DESCRIBE") else b"")
            for index in range(0, len(reply), 7):  # dribble the answer in 7-byte writes
                writer.write(reply[index:index + 7])
                await writer.drain()
                await asyncio.sleep(0)
        await reader.read()  # keep the connection open: the probe must not wait for a close
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await quick_rtsp_probe(RtspProbeLink.for_url(f"rtsp://127.0.0.1:{port}/x", "a", "b"), timeout_s=2.0)
    finally:
        server.close()


# --- the per-cycle liveness check: one OPTIONS, no credentials ---------------------------------------


@pytest.mark.parametrize("auth", ["digest", "basic"])
async def test_liveness_is_one_options_without_credentials(units, auth):
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    cam = camera(units, auth=auth)
    async with serve_rtsp(cam) as url:
        link = RtspProbeLink.for_url(url, "admin", "s3cret!")
        status = await rtsp_liveness(link, timeout_s=TIMEOUT_S)
    assert status in (200, 401)
    assert methods(cam) == ["OPTIONS"]
    assert "Authorization" not in cam.requests[0][1]  # nothing about the password goes out


@pytest.mark.parametrize(("name", "answer", "outcome"), [
    ("answers 200", lambda head: rtsp("200 OK", head), 200),
    ("wants credentials", lambda head: rtsp("401 Unauthorized", head, extra='WWW-Authenticate: Basic realm="x"\r\n'), 401),
    ("answers 503", lambda head: rtsp("503 Service Unavailable", head), 503),
    ("hangs", lambda head: None, CameraTimeout),
    ("speaks HTTP", lambda head: b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", CameraProtocolError),
    ("closes at once", lambda head: b"", CameraProtocolError),
])
async def test_liveness_reports_the_status_or_a_named_error(name, answer, outcome):
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    server = await serve(answer)
    port = server.sockets[0].getsockname()[1]
    link = RtspProbeLink.for_url(f"rtsp://127.0.0.1:{port}/x", "a", "b")
    try:
        if isinstance(outcome, int):
            assert await rtsp_liveness(link, timeout_s=0.5) == outcome, name
        else:
            with pytest.raises(outcome):
                await rtsp_liveness(link, timeout_s=0.5)
    finally:
        server.close()


async def test_liveness_on_a_refused_port_is_unreachable():
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(CameraUnreachable) as info:
            await rtsp_liveness(RtspProbeLink.for_url(f"rtsp://127.0.0.1:{port}/x", "a", "b"), timeout_s=TIMEOUT_S)
    assert not isinstance(info.value, CameraTimeout)


# --- the liveness connection kept between cycles -------------------------------------------------------


class _Camera:
    """Counts connections; ``reply(n, head)`` answers the n-th request of a connection (None: say
    nothing more; b"": close). ``power_off()`` closes the port and drops every open connection."""

    def __init__(self, reply: Callable[[int, bytes], bytes | None] = lambda n, head: rtsp("200 OK", head)) -> None:
        self.reply = reply
        self.connections = 0
        self.cseqs: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        n = 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                n += 1
                self.cseqs.append(next(x for x in head.split(b"\r\n") if x.startswith(b"CSeq")).split(b":")[1].strip())
                reply = self.reply(n, head)
                if reply is None:
                    await reader.read()
                    return
                if not reply:
                    return
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def power_off(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()


async def test_liveness_with_keep_sends_every_cycle_s_options_on_one_connection():
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    budget = KeepBudget(10)

    cam = _Camera()
    link = RtspProbeLink.for_url(f"rtsp://127.0.0.1:{await cam.start()}/x", "a", "b")
    for _ in range(3):
        assert await rtsp_liveness(link, timeout_s=TIMEOUT_S, keep=budget) == 200
    assert cam.connections == 1 and cam.cseqs == [b"1", b"2", b"3"] and budget.held == 1
    link.close()
    assert link.kept is None and budget.held == 0
    cam.power_off()


async def test_without_keep_every_cycle_connects_afresh():
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    cam = _Camera()
    link = RtspProbeLink.for_url(f"rtsp://127.0.0.1:{await cam.start()}/x", "a", "b")
    for _ in range(2):
        assert await rtsp_liveness(link, timeout_s=TIMEOUT_S) == 200
    assert cam.connections == 2 and link.kept is None
    cam.power_off()


async def test_a_kept_connection_the_camera_closed_is_replaced_without_a_failure():
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    budget = KeepBudget(10)

    # the camera closes each connection after one answer (an idle-timeout camera, seen from here)
    cam = _Camera(lambda n, head: rtsp("200 OK", head) if n == 1 else b"")
    link = RtspProbeLink.for_url(f"rtsp://127.0.0.1:{await cam.start()}/x", "a", "b")
    for _ in range(3):
        assert await rtsp_liveness(link, timeout_s=TIMEOUT_S, keep=budget) == 200
    assert cam.connections >= 2
    link.close()
    cam.power_off()


async def test_a_kept_connection_gone_silent_is_a_timeout_and_the_next_cycle_connects_afresh():
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    budget = KeepBudget(10)

    silent = [False]
    cam = _Camera(lambda n, head: None if silent[0] else rtsp("200 OK", head))
    link = RtspProbeLink.for_url(f"rtsp://127.0.0.1:{await cam.start()}/x", "a", "b")
    assert await rtsp_liveness(link, timeout_s=TIMEOUT_S, keep=budget) == 200
    silent[0] = True
    with pytest.raises(CameraTimeout):
        await rtsp_liveness(link, timeout_s=0.3, keep=budget)
    assert link.kept is None  # a connection that failed is never used again
    silent[0] = False
    assert await rtsp_liveness(link, timeout_s=TIMEOUT_S, keep=budget) == 200
    assert cam.connections == 2
    link.close()
    cam.power_off()


async def test_a_camera_powered_off_under_a_kept_connection_is_unreachable_at_the_next_cycle():
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    budget = KeepBudget(10)

    cam = _Camera()
    link = RtspProbeLink.for_url(f"rtsp://127.0.0.1:{await cam.start()}/x", "a", "b")
    assert await rtsp_liveness(link, timeout_s=TIMEOUT_S, keep=budget) == 200
    cam.power_off()
    await asyncio.sleep(0.05)  # the reset reaches us between cycles
    with pytest.raises(CameraUnreachable) as info:
        await rtsp_liveness(link, timeout_s=TIMEOUT_S, keep=budget)
    assert not isinstance(info.value, CameraTimeout) and link.kept is None and budget.held == 0


async def test_beyond_the_budget_a_camera_s_liveness_connects_afresh():
    """Kept connections are file descriptors: never more than the budget stay open."""
    from camera_ops.rtsp.quickprobe import rtsp_liveness

    budget = KeepBudget(1)
    cam = _Camera()
    port = await cam.start()
    first, second = (RtspProbeLink.for_url(f"rtsp://127.0.0.1:{port}/{n}", "a", "b") for n in "xy")
    for _ in range(2):
        assert await rtsp_liveness(first, timeout_s=TIMEOUT_S, keep=budget) == 200
        assert await rtsp_liveness(second, timeout_s=TIMEOUT_S, keep=budget) == 200
    assert first.kept is not None and second.kept is None and budget.held == 1
    assert cam.connections == 3  # one kept, two fresh
    first.close()
    assert budget.held == 0
    assert await rtsp_liveness(second, timeout_s=TIMEOUT_S, keep=budget) == 200
    assert second.kept is not None and budget.held == 1
    second.close()
    cam.power_off()
