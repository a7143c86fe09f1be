"""Simulator cost: CPU per request type, idle CPU and RSS of an N-camera fleet, replay throughput.

Runs the fleet in a child process (``python -m camera_ops.sim.cli``) and reads that process's CPU
time from /proc before and after a batch of requests, so monitoring benchmarks can subtract the
simulator's share. Usage::

    python3 bench/bench_sim.py --count 1000
    python3 bench/bench_sim.py --count 10000 --shared-port --requests 5000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

CLK_TCK = os.sysconf("SC_CLK_TCK")
CONCURRENCY = 64  # requests in flight: like a monitor probing a district
SOAP_TIME = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


async def exchange(host: str, port: int, payload: bytes, until: bytes = b"\r\n\r\n") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(payload)
        head = await reader.readuntil(until)
        length = re.search(rb"Content-Length: (\d+)", head, re.I)
        body = await reader.readexactly(int(length.group(1))) if length else b""
        return head + body
    finally:
        writer.close()


def digest(cam: dict, method: str, uri: str, challenge: bytes) -> str:
    realm = re.search(rb'realm="([^"]+)"', challenge).group(1).decode()
    nonce = re.search(rb'nonce="([^"]+)"', challenge).group(1).decode()
    ha1 = hashlib.md5(f"{cam['username']}:{realm}:{cam['password']}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    qop = b"qop=" in challenge
    if qop:
        response = hashlib.md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}".encode()).hexdigest()
        return (f'Digest username="{cam["username"]}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                f'qop=auth, nc=00000001, cnonce="abc", response="{response}"')
    response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    return f'Digest username="{cam["username"]}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}"'


async def get_time(cam: dict) -> None:
    path = "/onvif/device_service"
    request = (f"POST {path} HTTP/1.1\r\nHost: {cam['host']}\r\nContent-Type: application/soap+xml\r\n"
               f"Connection: close\r\nContent-Length: {len(SOAP_TIME)}\r\n\r\n").encode() + SOAP_TIME
    reply = await exchange(cam["host"], cam["onvif_port"], request)
    assert b" 200 " in reply[:20] and b"UTCDateTime" in reply, reply[:200]


async def options_describe(cam: dict) -> None:
    url = cam["rtsp_main_url"]
    reader, writer = await asyncio.open_connection(cam["host"], cam["rtsp_port"])
    try:
        async def ask(method: str, cseq: int, auth: str | None = None) -> bytes:
            extra = f"Authorization: {auth}\r\n" if auth else ""
            writer.write(f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n{extra}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"Content-Length: (\d+)", head)
            return head + (await reader.readexactly(int(length.group(1))) if length else b"")

        assert b" 200 " in (await ask("OPTIONS", 1))[:20]
        challenge = await ask("DESCRIBE", 2)
        assert b" 401 " in challenge[:20]
        described = await ask("DESCRIBE", 3, digest(cam, "DESCRIBE", url, challenge))
        assert b" 200 " in described[:20] and b"sprop-parameter-sets" in described
    finally:
        writer.close()


async def snapshot(cam: dict) -> None:
    target = cam["snapshot_url"].split(str(cam["onvif_port"]), 1)[1]
    reader, writer = await asyncio.open_connection(cam["host"], cam["onvif_port"])
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {cam['host']}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", head).group(1)))
        auth = digest(cam, "GET", target, head)
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {cam['host']}\r\nAuthorization: {auth}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", head).group(1)))
        assert b" 200 " in head[:20] and body[:2] == b"\xff\xd8"
    finally:
        writer.close()


async def batch(kind, cameras: list[dict], requests: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            await kind(cameras[i % len(cameras)])

    await asyncio.gather(*(one(i) for i in range(requests)))


async def replay_throughput(cam: dict, seconds: int) -> float:
    """Seconds of footage per wall second for an ONVIF replay with Rate-Control: no."""
    start = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
    end = start + timedelta(seconds=seconds)
    url = cam["replay_url"]
    reader, writer = await asyncio.open_connection(cam["host"], cam["rtsp_port"])
    cseq = 0

    async def ask(method: str, uri: str, headers: str = "", auth_from: bytes | None = None) -> bytes:
        nonlocal cseq
        cseq += 1
        auth = f"Authorization: {digest(cam, method, uri, auth_from)}\r\n" if auth_from else ""
        writer.write(f"{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\n{auth}{headers}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"Content-Length: (\d+)", head)
        if length:
            await reader.readexactly(int(length.group(1)))
        return head

    challenge = await ask("DESCRIBE", url)
    await ask("DESCRIBE", url, auth_from=challenge)
    setup = await ask("SETUP", url + "/trackID=1", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nRequire: onvif-replay\r\n", challenge)
    session = re.search(rb"Session: ([^;\r]+)", setup).group(1).decode()
    began = time.perf_counter()
    rng = f"clock={start:%Y%m%dT%H%M%S}Z-{end:%Y%m%dT%H%M%S}Z"
    await ask("PLAY", url, f"Session: {session}\r\nRequire: onvif-replay\r\nRange: {rng}\r\nRate-Control: no\r\n", challenge)
    frames = 0
    while True:
        header = await reader.readexactly(4)
        channel, length = header[1], struct.unpack("!H", header[2:])[0]
        packet = await reader.readexactly(length)
        if channel == 1 and packet[1] == 200 and len(packet) > 28 and packet[29] == 203:
            break
        if channel == 0 and packet[1] & 0x80:
            frames += 1
    writer.close()
    return frames / 12 / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--shared-port", action="store_true")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--replay-seconds", type=int, default=120)
    parser.add_argument("--base-address", default=None,
                        help="first simulated camera's address (default: a free random 127.x block)")
    args = parser.parse_args()
    from camera_ops.sim.testing import free_bench_base_address

    out = Path(tempfile.mkdtemp()) / "fleet.json"
    cmd = [sys.executable, "-m", "camera_ops.sim.cli", "--count", str(args.count), "--out", str(out),
           "--base-address", args.base_address or free_bench_base_address(),
           "--control-port", "0", "--http-port", "0", "--rtsp-port", "0"]
    if args.shared_port:
        cmd.append("--shared-port")
    began = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not out.exists():
            if child.poll() is not None:
                raise SystemExit(child.stderr.read().decode())
            time.sleep(0.1)
        time.sleep(0.2)
        cameras = json.loads(out.read_text())["cameras"]
        print(f"fleet: {len(cameras)} cameras up in {time.perf_counter() - began:.1f} s, "
              f"shared port: {cameras[0]['onvif_port'] == cameras[0]['rtsp_port']}")
        print(f"RSS after start: {rss_mb(child.pid):.0f} MB")
        cpu0 = cpu_seconds(child.pid)
        time.sleep(args.idle_seconds)
        idle = (cpu_seconds(child.pid) - cpu0) / args.idle_seconds
        print(f"idle CPU: {idle * 100:.2f} % of one core")
        onvif = [c for c in cameras if c["onvif"]]
        for label, kind, pool in (("GetSystemDateAndTime (new TCP connection each)", get_time, onvif),
                                  ("RTSP OPTIONS + DESCRIBE (401 + digest)", options_describe, cameras),
                                  ("snapshot JPEG 640x360 (401 + digest, keep-alive)", snapshot, cameras)):
            cpu0, wall0 = cpu_seconds(child.pid), time.perf_counter()
            asyncio.run(batch(kind, pool, args.requests))
            cpu, wall = cpu_seconds(child.pid) - cpu0, time.perf_counter() - wall0
            print(f"{label}: {cpu / args.requests * 1e6:.0f} us simulator CPU per request "
                  f"({args.requests} requests, {args.requests / wall:.0f}/s wall with client in same box)")
        print(f"RSS after requests: {rss_mb(child.pid):.0f} MB")
        replay_cam = next(c for c in cameras if c["profile_g"])
        for label in ("cold cache", "warm cache"):
            speed = asyncio.run(replay_throughput(replay_cam, args.replay_seconds))
            print(f"ONVIF replay 640x360, Rate-Control: no, {args.replay_seconds} s window, {label}: {speed:.1f}x realtime")
        print(f"RSS at end: {rss_mb(child.pid):.0f} MB")
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    main()
