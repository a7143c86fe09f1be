"""Small HTTP control API (127.0.0.1 only) to read and change faults of a running fleet.

    GET    /cameras                      every camera: connection info + current faults
    GET    /cameras/{name}
    POST   /cameras/{name}/faults        JSON object of changes, e.g. {"offline": true}
    DELETE /cameras/{name}/faults        back to no faults
    POST   /groups/{group}/faults        the same changes for a whole group (power cut of a hamlet)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote

from camera_ops.sim.fleet import Fleet
from camera_ops.sim.wire import BadRequest, Request, read_request, response_bytes

CONTROL_HOST = "127.0.0.1"
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


def _camera_json(fleet: Fleet, name: str) -> dict[str, Any]:
    camera = fleet.camera(name)
    return {**camera.info().to_dict(), "faults": camera.faults.to_dict(), "listening": camera.listening}


async def handle_control(fleet: Fleet, request: Request) -> tuple[int, Any]:
    parts = [unquote(p) for p in request.path.strip("/").split("/") if p]
    try:
        changes = json.loads(request.body or b"{}")
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        match (request.method, parts):
            case ("GET", ["cameras"]):
                return 200, [_camera_json(fleet, c.name) for c in fleet.cameras]
            case ("GET", ["cameras", name]):
                return 200, _camera_json(fleet, name)
            case ("POST" | "PATCH", ["cameras", name, "faults"]):
                await fleet.set_faults(name, **changes)
                return 200, _camera_json(fleet, name)
            case ("DELETE", ["cameras", name, "faults"]):
                await fleet.clear_faults(name)
                return 200, _camera_json(fleet, name)
            case ("POST" | "PATCH", ["groups", group, "faults"]):
                await fleet.set_group_fault(group, **changes)
                return 200, [_camera_json(fleet, c.name) for c in fleet.cameras if c.spec.group == group]
    except KeyError as exc:
        return 404, {"error": str(exc.args[0])}
    except (TypeError, ValueError) as exc:
        return 400, {"error": str(exc)}
    return 404, {"error": "no such endpoint"}


async def start_control_server(fleet: Fleet, port: int) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (request := await read_request(reader)) is not None:
                status, payload = await handle_control(fleet, request)
                body = json.dumps(payload, default=str).encode()
                writer.write(response_bytes("HTTP/1.1", status, REASONS.get(status, "Error"),
                                            [("Content-Type", "application/json")], body))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, BadRequest):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, CONTROL_HOST, port, reuse_address=True)
