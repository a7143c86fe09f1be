"""CPU µs per camera probe, client side only: raw SOAP GetSystemDateAndTime and RTSP
OPTIONS+DESCRIBE (digest auth).

The cameras are the simulator run as a separate process (``camera-ops sim``), else a tiny local
responder in a thread. CPU is the probing thread's own (``getrusage(RUSAGE_THREAD)``), split into
user time (our Python: building, parsing, asyncio) and system time (the kernel's TCP work; on
loopback the sender also pays for the receiver's TCP processing, so ``sys`` here overstates what
a probe across a real network costs). Figures, not a test:

    python bench/bench_probe_cpu.py [--cameras 50] [--rounds 20] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from camera_ops.onvif.rawsoap import get_system_date_and_time
from camera_ops.rtsp.client import AuthCache, rtsp_probe
from camera_ops.rtsp.quickprobe import RtspProbeLink, quick_rtsp_probe

TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Target:
    host: str
    onvif_port: int
    rtsp_url: str
    username: str
    password: str


SIM_START_TIMEOUT_S = 60.0


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def thread_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime, usage.ru_stime


@contextmanager
def cameras(count: int, base_address: str) -> Iterator[tuple[str, list[Target]]]:
    """(where the cameras come from, targets)."""
    if importlib.util.find_spec("camera_ops.sim") is None:
        with _local_responders(count) as targets:
            yield "local responder (thread)", targets
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fleet.json"
        http_port, rtsp_port = _free_port(base_address), _free_port(base_address)
        command = [sys.executable, "-m", "camera_ops.cli", "sim", "-n", str(count), "--out", str(out),
                   "--base-address", base_address, "--control-port", "0",
                   "--http-port", str(http_port), "--rtsp-port", str(rtsp_port)]
        sim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + SIM_START_TIMEOUT_S
            while not out.exists() or not out.stat().st_size:
                if time.monotonic() > deadline or sim.poll() is not None:
                    raise RuntimeError("camera simulator did not start")
                time.sleep(0.2)
            time.sleep(0.5)  # let the file be complete
            data = json.loads(out.read_text())
            yield "camera_ops.sim (separate process)", [
                Target(c["host"], c["onvif_port"], c["rtsp_main_url"], c["username"], c["password"])
                for c in data["cameras"] if c["onvif"]
            ]
        finally:
            sim.terminate()
            sim.wait(10)


@contextmanager
def _local_responders(count: int) -> Iterator[list[Target]]:
    """Fallback: FakeRtspCamera + a canned SOAP answer, on a loop in a background thread."""
    from camera_ops.rtsp.testing import FakeRtspCamera
    from camera_ops.video.testing import encode_clip, split_access_units

    soap = (
        b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:tt="http://www.onvif.org/ver10/schema"><s:Body><GetSystemDateAndTimeResponse><SystemDateAndTime>'
        b"<tt:UTCDateTime><tt:Time><tt:Hour>1</tt:Hour><tt:Minute>2</tt:Minute><tt:Second>3</tt:Second></tt:Time>"
        b"<tt:Date><tt:Year>2026</tt:Year><tt:Month>1</tt:Month><tt:Day>2</tt:Day></tt:Date></tt:UTCDateTime>"
        b"</SystemDateAndTime></GetSystemDateAndTimeResponse></s:Body></s:Envelope>"
    )
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: %d\r\n\r\n%s" % (len(soap), soap)

    async def soap_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"</s:Envelope>")
        writer.write(answer)
        writer.close()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    camera = FakeRtspCamera(split_access_units(encode_clip(frames=1)), username="admin", password="pw")

    async def start() -> tuple[asyncio.Server, asyncio.Server]:
        return await asyncio.start_server(soap_handler, "127.0.0.1", 0), await asyncio.start_server(camera.handle, "127.0.0.1", 0)

    soap_server, rtsp_server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    soap_port, rtsp_port = soap_server.sockets[0].getsockname()[1], rtsp_server.sockets[0].getsockname()[1]
    try:
        yield [Target("127.0.0.1", soap_port, f"rtsp://127.0.0.1:{rtsp_port}/s", "admin", "pw")] * count
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


async def measure(
    targets: list[Target], rounds: int, concurrency: int, probe: Callable[[Target], Awaitable[object]]
) -> tuple[float, float, float]:
    """(user µs, system µs per probe, wall p50 ms) over rounds × targets probes."""
    semaphore = asyncio.Semaphore(concurrency)
    walls: list[float] = []

    async def one(target: Target) -> None:
        async with semaphore:
            started = time.perf_counter()
            await probe(target)
            walls.append(time.perf_counter() - started)

    await asyncio.gather(*(one(t) for t in targets))  # warm-up (imports, caches)
    walls.clear()
    user0, sys0 = thread_cpu()
    for _ in range(rounds):
        await asyncio.gather(*(one(t) for t in targets))
    user1, sys1 = thread_cpu()
    probes = rounds * len(targets)
    return (user1 - user0) / probes * 1e6, (sys1 - sys0) / probes * 1e6, statistics.median(walls) * 1e3


async def soap_probe(t: Target) -> object:
    return await get_system_date_and_time(t.host, t.onvif_port, username=t.username, password=t.password, timeout_s=TIMEOUT_S)


async def rtsp(t: Target) -> object:
    return await rtsp_probe(t.rtsp_url, t.username, t.password, timeout_s=TIMEOUT_S)


_AUTH_CACHE = AuthCache()


async def rtsp_cached(t: Target) -> object:
    return await rtsp_probe(t.rtsp_url, t.username, t.password, timeout_s=TIMEOUT_S, auth_cache=_AUTH_CACHE)


async def both(t: Target) -> object:
    await soap_probe(t)
    return await rtsp_cached(t)


_LINKS: dict[str, RtspProbeLink] = {}


def _link(t: Target) -> RtspProbeLink:
    """One link per camera, kept across rounds (as the monitor keeps it across cycles)."""
    if t.rtsp_url not in _LINKS:
        _LINKS[t.rtsp_url] = RtspProbeLink.for_url(t.rtsp_url, t.username, t.password)
    return _LINKS[t.rtsp_url]


async def rtsp_quick(t: Target) -> object:
    """The monitor's lean probe (one Protocol, authorizer kept per camera)."""
    link = _link(t)
    return await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)


async def _bare(host: str, port: int, requests: list[bytes]) -> None:
    from camera_ops.rtsp.quickprobe import _Answers

    loop = asyncio.get_running_loop()
    transport, conn = await loop.create_connection(_Answers, host, port)
    for request in requests:
        waiter = loop.create_future()
        conn.ask(request, waiter)
        await waiter
    transport.close()


async def bare_floor(t: Target) -> object:
    """The same three exchanges on two fresh connections with no checks, no parsing, no deadlines:
    what the sockets and the event loop alone cost (a floor for the monitor's probe)."""
    from camera_ops.onvif.rawsoap import plain_request
    from camera_ops.rtsp.quickprobe import _request

    link = _link(t)
    if link.authorizer is None:
        await quick_rtsp_probe(link, timeout_s=TIMEOUT_S)  # learn the challenge once
    await _bare(t.host, t.onvif_port, [plain_request(t.host, t.onvif_port, "/onvif/device_service")])
    await _bare(link.host, link.port, [_request(link, "OPTIONS", 1), _request(link, "DESCRIBE", 2, "Accept: application/sdp\r\n")])
    return None


async def monitor_probe(t: Target) -> object:
    """What the monitor does per camera per cycle: SOAP time, then the lean RTSP probe."""
    await soap_probe(t)
    return await rtsp_quick(t)


SAMPLE_SOAP = (
    b'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><env:Body>'
    b"<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
    b"<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>ICT-7</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
    b"<tt:Time><tt:Hour>14</tt:Hour><tt:Minute>10</tt:Minute><tt:Second>5</tt:Second></tt:Time><tt:Date><tt:Year>2026"
    b"</tt:Year><tt:Month>11</tt:Month><tt:Day>21</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
    b"</tds:GetSystemDateAndTimeResponse></env:Body></env:Envelope>"
)
SAMPLE_SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z00AKp2oHgCJ+WbgICAoAAADAAgAAAMBlCA=,aO48gA==\r\n"
    "a=control:trackID=1\r\n"
)


def pure_code_us(repeat: int = 5000) -> tuple[float, float]:
    """Our own per-probe work without sockets or event loop: (SOAP µs, RTSP µs)."""
    from camera_ops.onvif.rawsoap import build_request, parse_http_response, parse_system_date_and_time
    from camera_ops.rtsp.auth import choose_authorizer
    from camera_ops.rtsp.messages import parse_response, serialize_request
    from camera_ops.rtsp.sdp import parse_sdp, video_track

    soap_answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: %d\r\n\r\n%s" % (len(SAMPLE_SOAP), SAMPLE_SOAP)
    rtsp_answer = f"RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Base: rtsp://h/s/\r\nContent-Length: {len(SAMPLE_SDP)}\r\n\r\n{SAMPLE_SDP}".encode()
    authorizer = choose_authorizer(['Digest realm="cam", nonce="abc"'], "admin", "pw")
    assert authorizer is not None

    def soap() -> None:
        build_request("10.0.0.1", 80, "/onvif/device_service")
        parse_system_date_and_time(parse_http_response(soap_answer))

    def rtsp_work() -> None:
        serialize_request("OPTIONS", "rtsp://h/s", 1)
        parse_response(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n")
        serialize_request("DESCRIBE", "rtsp://h/s", 2, [("Authorization", authorizer.authorization("DESCRIBE", "rtsp://h/s"))])
        response = parse_response(rtsp_answer)
        video_track(parse_sdp(response.body.decode()), "rtsp://h/s/")

    results = []
    for work in (soap, rtsp_work):
        best = float("inf")
        for _ in range(3):
            started = time.thread_time()
            for _ in range(repeat):
                work()
            best = min(best, (time.thread_time() - started) / repeat * 1e6)
        results.append(best)
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--base-address", default=None,
                        help="first simulated camera's address (default: a free random 127.x block)")
    args = parser.parse_args()
    runners: list[tuple[str, Callable[[Awaitable[object]], object]]] = [("asyncio", asyncio.run)]
    try:
        import uvloop

        runners.append(("uvloop", uvloop.run))
    except ImportError:
        pass
    soap_us, rtsp_us = pure_code_us()
    print(f"our code alone (no sockets, no loop): SOAP build+parse {soap_us:.1f} µs, RTSP OPTIONS+DESCRIBE messages+SDP+SPS+digest {rtsp_us:.1f} µs")
    base_address = args.base_address or "127.0.0.1"
    if args.base_address is None and importlib.util.find_spec("camera_ops.sim") is not None:
        from camera_ops.sim.testing import free_bench_base_address

        base_address = free_bench_base_address()
    with cameras(args.cameras, base_address) as (source, targets):
        print(f"{len(targets)} cameras from {source}; {args.rounds} rounds; concurrency {args.concurrency}")
        for loop_name, run in runners:
            for name, probe in (("raw SOAP GetSystemDateAndTime", soap_probe), ("RTSP OPTIONS+DESCRIBE (digest)", rtsp), ("RTSP, digest cached", rtsp_cached), ("both (SOAP + RTSP cached)", both),
                                ("RTSP quick probe (monitor)", rtsp_quick), ("monitor probe (SOAP + quick RTSP)", monitor_probe),
                                ("floor: bare exchanges, no checks", bare_floor)):
                user, system, wall_ms = run(measure(targets, args.rounds, args.concurrency, probe))  # type: ignore[arg-type]
                print(f"{loop_name:8s} {name:32s} user {user:6.1f} µs + sys {system:6.1f} µs per probe   wall p50 {wall_ms:6.2f} ms")


if __name__ == "__main__":
    main()
