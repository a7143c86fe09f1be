"""HTTP side of a simulated camera: ONVIF SOAP endpoints, JPEG snapshot, the vendor's recording
search and storage status (:mod:`camera_ops.sim.vendor`), a vendor web page."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlsplit

from camera_ops.sim.camera import SimCamera
from camera_ops.sim.onvif import SERVICE_PATHS, handle_soap
from camera_ops.sim.vendor import handles as vendor_handles, route_vendor
from camera_ops.sim.wire import BadRequest, Request, http_date, read_request, response_bytes, swallow

IDLE_TIMEOUT_S = 30.0  # keep-alive connections idle longer than this are closed (frees fds at scale)
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

Reply = tuple[int, list[tuple[str, str]], bytes]


async def serve_http(camera: SimCamera, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: Request) -> None:
    request: Request | None = first
    while request is not None:
        faults = camera.faults
        if faults.black_hole:
            await swallow(reader)
            return
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        status, headers, body = route_http(camera, request)
        close = request.header("connection").lower() == "close" or request.version == "HTTP/1.0"
        headers = [("Server", camera.personality.server_header), ("Date", http_date(camera.now())), *headers]
        if close:
            headers.append(("Connection", "close"))
        writer.write(response_bytes("HTTP/1.1", status, REASONS.get(status, "Error"), headers, body))
        await writer.drain()
        if close:
            return
        try:
            request = await asyncio.wait_for(read_request(reader), IDLE_TIMEOUT_S)
        except (asyncio.TimeoutError, BadRequest):
            return


def route_http(camera: SimCamera, request: Request) -> Reply:
    path = request.path
    p = camera.personality
    if path in SERVICE_PATHS and p.onvif:
        if request.method != "POST":
            return 405, [("Allow", "POST")], b""
        reply = handle_soap(camera, path, request.body, request.header("authorization") or None)
        return reply.status, [("Content-Type", SOAP_CONTENT_TYPE), *reply.headers], reply.body
    snapshot_paths = {urlsplit(camera.channel_url(p.snapshot_path, ch)).path
                      for ch in range(1, camera.spec.channel_count + 1)}
    if path in snapshot_paths and request.method in ("GET", "HEAD"):
        return _snapshot(camera, request)
    if vendor_handles(camera, path):
        return route_vendor(camera, request)
    if path in ("/", "/index.html") and request.method == "GET":
        page = f"<html><head><title>{p.manufacturer} {p.model}</title></head><body>Login</body></html>"
        return 200, [("Content-Type", "text/html")], page.encode()
    return 404, [("Content-Type", "text/html")], b"<html><body>404 Not Found</body></html>"


def _snapshot(camera: SimCamera, request: Request) -> Reply:
    result = camera.check_auth(request.header("authorization") or None, request.method)
    if not result.ok:
        return 401, [("WWW-Authenticate", camera.challenge(qop=True, stale=result.stale))], b""
    query = dict(parse_qsl(urlsplit(request.target).query))
    sub = query.get("profile") == camera.personality.profile_tokens[1]
    jpeg = camera.snapshot(camera.spec.sub_size if sub else None)
    return 200, [("Content-Type", "image/jpeg")], b"" if request.method == "HEAD" else jpeg
