"""The app under a real uvicorn server (``api.server.server_config``, as ``camera-ops serve`` runs it)
on a free port of 127.0.0.1, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from api.server import server_config
from camera_ops.settings import Settings

START_TIMEOUT_S = 20.0  # a safety net for a loaded CI machine; the wait is on server.started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(app: FastAPI, settings: Settings) -> Iterator[str]:
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
