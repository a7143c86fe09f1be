"""Per-connection entry point: one handler for HTTP and RTSP, chosen by the request line.

That is what lets ``Fleet(shared_port=True)`` serve ONVIF, snapshots and RTSP on a single listening
socket per camera (half the file descriptors at 10,000 cameras).
"""

from __future__ import annotations

import asyncio

from camera_ops.sim.camera import SimCamera
from camera_ops.sim.http import serve_http
from camera_ops.sim.rtsp import RtspConnection
from camera_ops.sim.wire import BadRequest, read_request, swallow

FIRST_REQUEST_TIMEOUT_S = 30.0  # a client that connects and says nothing is dropped after this


WRONG_PROTOCOL_REPLY = {  # what a port answers to a request in the other protocol
    "rtsp": b"RTSP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    "http": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
}


async def handle_connection(
    camera: SimCamera, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, accepts: frozenset[str]
) -> None:
    try:
        if camera.faults.black_hole:
            await swallow(reader)
            return
        request = await asyncio.wait_for(read_request(reader), FIRST_REQUEST_TIMEOUT_S)
        if request is None:
            return
        protocol = "rtsp" if request.is_rtsp else "http"
        if protocol not in accepts:
            (port_protocol,) = accepts
            if port_protocol == "rtsp" and camera.faults.silent_to_http:
                await swallow(reader)  # waits for an RTSP request that never comes
                return
            writer.write(WRONG_PROTOCOL_REPLY[port_protocol])
            await writer.drain()
            return
        if request.is_rtsp:
            await RtspConnection(camera, reader, writer).run(request)
        else:
            await serve_http(camera, reader, writer, request)
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, BadRequest):
        return
