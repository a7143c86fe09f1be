"""How uvicorn serves the app: one place for ``serve`` and ``demo`` (and the tests).

Forwarded headers (``X-Forwarded-For``, ``X-Forwarded-Proto``) are believed only when the TCP
peer is one of ``CAMERA_OPS_TRUSTED_PROXIES`` (addresses or networks; default none). Uvicorn's own
default trusts 127.0.0.1, which let anyone on the machine, or any local forwarder, put a made-up
client address into the custody ledger (issue 12, finding 8).
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from camera_ops.settings import Settings


def proxy_options(settings: Settings) -> dict[str, Any]:
    if not settings.trusted_proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


def server_config(app: FastAPI, settings: Settings, *, host: str | None = None, port: int | None = None,
                  log_level: str = "info") -> uvicorn.Config:
    return uvicorn.Config(app, host=host or settings.host, port=port or settings.port, log_level=log_level,
                          server_header=False, **proxy_options(settings))
