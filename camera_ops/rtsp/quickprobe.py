"""The monitor's per-cycle RTSP probe: OPTIONS then DESCRIBE (with auth) on one fresh TCP connection.

The same exchange as :func:`camera_ops.rtsp.client.rtsp_probe`, cut down for 10,000 cameras a
minute: one small :class:`asyncio.Protocol` instead of stream reader/writer pairs, one deadline
over the whole probe, requests formatted directly, answers framed by ``Content-Length`` and read
with plain code. Nothing is parsed that the health decision does not need: the status codes, the
``WWW-Authenticate`` challenge on a 401, and whether the SDP offers a video track. Codec and
resolution are the registration handshake's business.

:func:`rtsp_liveness` is the per-cycle liveness check: one OPTIONS, no credentials (a 401 proves
the RTSP server answers just as well as a 200), on the connection the last cycle's OPTIONS left
open (``keep``): connecting and closing were half the CPU of a liveness check (the system calls
of a fresh TCP connection). A kept connection the camera closed meanwhile is replaced at once; one
that fails or stays silent is closed, and the failure counts as a failure (the status decision
confirms it with a full check on fresh connections). The full exchange above runs every
``monitor_full_check_s`` and after any trouble.

A :class:`RtspProbeLink` per camera keeps the cleaned URL and the last digest authorizer, so each
cycle's DESCRIBE authenticates up front (no 401 round trip); a stale nonce costs one 401 and is
replaced. Every expected failure raises the same named errors as the full client.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from camera_ops.errors import (
    UNREACHABLE_OS_ERRORS,
    CameraAuthFailed,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
)
from camera_ops.netpolicy import resolve_camera_address
from camera_ops.rtsp.auth import Authorizer, choose_authorizer
from camera_ops.rtsp.client import host_port, split_credentials
from camera_ops.rtsp.messages import USER_AGENT

MAX_ANSWER_BYTES = 64 * 1024  # an OPTIONS/DESCRIBE answer is < 2 KiB; a port that floods us is not RTSP
RTSP_OK_MIN, RTSP_OK_MAX = 200, 299
RTSP_UNAUTHORIZED = 401
RTSP_NOT_FOUND = 404
STATUS_LINE_PREFIX = b"RTSP/1."
HEAD_END = b"\r\n\r\n"

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d+)", re.IGNORECASE)
_CHALLENGE = re.compile(rb"\r\nwww-authenticate[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)


class KeepBudget:
    """How many liveness connections may stay open between cycles at once: each holds a file
    descriptor (100,000 cameras on 3 monitors would be 33,000 each, over a 20,000 limit). Beyond
    the budget a camera's liveness check connects afresh, as without keeping."""

    __slots__ = ("limit", "held")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0


@dataclass(slots=True)
class RtspProbeLink:
    """What the monitor keeps per camera between RTSP probes (holds the password: memory only)."""

    url: str  # without credentials
    host: str
    port: int
    username: str | None
    password: str | None
    authorizer: Authorizer | None = None
    source: tuple[str, str | None, str | None] | None = None  # (url, username, password) it was made from
    kept: _Answers | None = None  # the liveness connection left open for the next cycle
    cseq: int = 0  # the last CSeq sent on ``kept``

    def close(self) -> None:
        """Close the kept liveness connection (the camera left this monitor, or the monitor stops)."""
        kept, self.kept = self.kept, None
        if kept is not None:
            _close(kept)

    @classmethod
    def for_url(cls, url: str, username: str | None, password: str | None) -> RtspProbeLink:
        clean, user, pw = split_credentials(url, username, password)
        host, port = host_port(clean)
        return cls(clean, host, port, user, pw, source=(url, username, password))

    def same_camera(self, url: str, username: str | None, password: str | None) -> bool:
        if self.source == (url, username, password):
            return True  # the same strings as last cycle: no URL parsing per probe
        return (self.url, self.username, self.password) == split_credentials(url, username, password)


class _Answers(asyncio.Protocol):
    """One TCP connection: write a request, hand back the next complete answer (or what came
    before the connection closed)."""

    __slots__ = ("transport", "data", "need", "waiter", "closed", "budget")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.data = bytearray()
        self.need = -1  # length of the whole answer once its head is in; -1: head not complete
        self.waiter: asyncio.Future[bytes] | None = None
        self.closed = False  # the peer closed it (or it broke): not to be used again
        self.budget: KeepBudget | None = None  # counted in this budget while kept

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def ask(self, request: bytes, waiter: asyncio.Future[bytes]) -> None:
        assert self.transport is not None
        self.data.clear()
        self.need = -1
        self.waiter = waiter
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buffer = self.data
        buffer += data
        if len(buffer) > MAX_ANSWER_BYTES:
            self._deliver()  # the parser names it
            return
        if self.need < 0:
            end = buffer.find(HEAD_END)
            if end < 0:
                return
            length = _CONTENT_LENGTH.search(buffer, 0, end + 2)
            self.need = end + len(HEAD_END) + (int(length.group(1)) if length else 0)
        if len(buffer) >= self.need:
            self._deliver()

    def eof_received(self) -> bool:
        self.closed = True
        self._deliver()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.unkeep()
        self._deliver()

    def unkeep(self) -> None:
        budget, self.budget = self.budget, None
        if budget is not None:
            budget.held -= 1

    def _deliver(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(bytes(self.data))


def _request(link: RtspProbeLink, method: str, cseq: int, extra: str = "") -> bytes:
    auth = f"Authorization: {link.authorizer.authorization(method, link.url)}\r\n" if link.authorizer else ""
    return (f"{method} {link.url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {USER_AGENT}\r\n{extra}{auth}\r\n").encode()


def _status(answer: bytes, method: str) -> int:
    if not answer:
        raise CameraProtocolError(f"camera closed the RTSP connection during {method}")
    if not answer.startswith(STATUS_LINE_PREFIX) or len(answer) < 12 or not answer[9:12].isdigit():
        raise CameraProtocolError(f"the RTSP port did not answer {method} in RTSP", field="stream_uri")
    if answer.find(HEAD_END) < 0:
        raise CameraProtocolError(f"incomplete RTSP answer to {method}")
    return int(answer[9:12])


async def _exchange(
    conn: _Answers, link: RtspProbeLink, method: str, cseq: int, extra: str = ""
) -> tuple[int, bytes, int]:
    """Send ``method``; on 401 authenticate and send again. Returns (status, answer, next CSeq).

    A 401 to a request signed with a challenge from this very probe means the password is wrong;
    a 401 to one signed with last cycle's challenge is a stale nonce and gets one fresh try."""
    loop = asyncio.get_running_loop()
    fresh_challenge = False
    while True:
        waiter: asyncio.Future[bytes] = loop.create_future()
        conn.ask(_request(link, method, cseq, extra), waiter)
        answer = await waiter
        cseq += 1
        status = _status(answer, method)
        if status != RTSP_UNAUTHORIZED:
            return status, answer, cseq
        if fresh_challenge or not link.username:
            link.authorizer = None
            raise CameraAuthFailed("camera refused the RTSP username/password", field="password")
        head = answer[: answer.find(HEAD_END) + 2]
        challenges = [value.decode("latin-1") for value in _CHALLENGE.findall(head)]
        link.authorizer = choose_authorizer(challenges, link.username, link.password or "")
        if link.authorizer is None:
            raise CameraAuthFailed("camera requires RTSP credentials we cannot use", field="password")
        fresh_challenge = True


def _check(method: str, status: int) -> None:
    if RTSP_OK_MIN <= status <= RTSP_OK_MAX:
        return
    raise CameraProtocolError(
        f"RTSP {method} answered {status}", field="stream_uri" if status == RTSP_NOT_FOUND else None,
        details={"status": status},
    )


async def quick_rtsp_probe(link: RtspProbeLink, *, timeout_s: float) -> None:
    """OPTIONS + DESCRIBE under one hard deadline. Returns when the camera offers a video stream
    to our credentials; raises CameraTimeout / CameraUnreachable / CameraAuthFailed /
    CameraProtocolError otherwise."""
    loop = asyncio.get_running_loop()
    transport: asyncio.BaseTransport | None = None
    try:
        async with asyncio.timeout(timeout_s):
            try:
                address = await resolve_camera_address(link.host, link.port)  # camera networks only
                transport, conn = await loop.create_connection(_Answers, address, link.port)
            except UNREACHABLE_OS_ERRORS as exc:
                raise CameraUnreachable(
                    f"cannot connect to {link.host}:{link.port} (RTSP): {exc.strerror or exc}", field="host"
                ) from exc
            status, _, cseq = await _exchange(conn, link, "OPTIONS", 1)
            _check("OPTIONS", status)
            status, answer, _ = await _exchange(conn, link, "DESCRIBE", cseq, "Accept: application/sdp\r\n")
            _check("DESCRIBE", status)
    except TimeoutError as exc:
        raise CameraTimeout(f"RTSP probe got no answer within {timeout_s:g} s", field="host") from exc
    finally:
        if transport is not None:
            transport.close()
    if answer.find(b"\nm=video ", answer.find(HEAD_END)) < 0:
        raise CameraProtocolError("DESCRIBE answer offers no video track", field="stream_uri")


async def rtsp_liveness(link: RtspProbeLink, *, timeout_s: float, keep: KeepBudget | None = None) -> int:
    """One exchange: OPTIONS without credentials, under one hard deadline. Returns the RTSP status
    code of the answer (any code: the caller decides what is worth a full check); raises
    CameraTimeout / CameraUnreachable / CameraProtocolError (not RTSP, closed) otherwise.

    ``keep``: send it on ``link.kept`` when that is still open, and leave the connection open for
    the next cycle after a clear answer, within the budget. Any failure closes it."""
    loop = asyncio.get_running_loop()
    # The deadline is a bare timer that cancels this task (asyncio.timeout's bookkeeping costs
    # ~10 µs; this runs 10,000 times a minute). A cancellation we did not cause passes through.
    task = asyncio.current_task()
    assert task is not None
    expired: list[bool] = []
    timer = loop.call_later(timeout_s, _expire, task, expired)
    conn = link.kept
    link.kept = None  # back only after a clear answer
    done = False
    try:
        if conn is not None and not conn.closed:
            link.cseq += 1
            answer = await _ask(loop, conn, _options_request(link, link.cseq))
            if answer or not conn.closed:
                status = _status(answer, "OPTIONS")
                done = True
                return status
            _close(conn)  # the camera closed it as we asked (an idle timeout): once more, afresh
        try:
            _, conn = await loop.create_connection(_Answers, link.host, link.port)
        except UNREACHABLE_OS_ERRORS as exc:
            raise CameraUnreachable(
                f"cannot connect to {link.host}:{link.port} (RTSP): {exc.strerror or exc}", field="host"
            ) from exc
        link.cseq = 1
        status = _status(await _ask(loop, conn, _options_request(link, 1)), "OPTIONS")
        done = True
        return status
    except asyncio.CancelledError as exc:
        if expired and task.uncancel() == 0:
            raise CameraTimeout(f"RTSP liveness check got no answer within {timeout_s:g} s", field="host") from exc
        raise
    finally:
        timer.cancel()
        if conn is not None:
            if done and keep is not None and not conn.closed and (conn.budget is not None or keep.held < keep.limit):
                if conn.budget is None:
                    conn.budget = keep
                    keep.held += 1
                link.kept = conn
            else:
                _close(conn)


async def _ask(loop: asyncio.AbstractEventLoop, conn: _Answers, request: bytes) -> bytes:
    waiter: asyncio.Future[bytes] = loop.create_future()
    conn.ask(request, waiter)
    return await waiter


def _close(conn: _Answers) -> None:
    conn.closed = True
    conn.unkeep()
    if conn.transport is not None:
        conn.transport.close()


def _expire(task: asyncio.Task[object], expired: list[bool]) -> None:
    expired.append(True)
    task.cancel()


def _options_request(link: RtspProbeLink, cseq: int = 1) -> bytes:
    return f"OPTIONS {link.url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {USER_AGENT}\r\n\r\n".encode()
