"""The FastAPI application factory."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from api.errors import install_error_handlers
from api.headers import SecurityHeadersMiddleware
from api.limits import BodyLimitMiddleware
from api.routers import areas, auth, cameras, donors, dossiers, users
from api.routers import cases, clips, custody
from api.routers import health, reports
from api.web import install_web
from camera_ops import __version__
from camera_ops.settings import Settings, get_settings
from storage.db import engine_for

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="camera-ops",
        version=__version__,
        description="Community security cameras (Camera an ninh): registry, health, evidence, custody, reports.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or engine_for(settings.resolved_database_url)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, users, areas, donors, dossiers, cameras, cases, clips, custody, health, reports):
        api.include_router(module.router)
    app.include_router(api)
    install_web(app)
    _install_docs(app)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)  # outermost: the 413 gets headers too

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


SWAGGER_CDN = "https://cdn.jsdelivr.net"  # where FastAPI's Swagger UI page loads its script and CSS


def _install_docs(app: FastAPI) -> None:
    """The API docs page under its own CSP: Swagger UI's files from the CDN and its one inline
    start-up script allowed by hash (never 'unsafe-inline')."""
    html = get_swagger_ui_html(openapi_url=f"{API_PREFIX}/openapi.json", title="camera-ops — API").body.decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S))
    policy = (f"default-src 'self'; script-src 'self' {SWAGGER_CDN} {hashes}; style-src 'self' {SWAGGER_CDN}; "
              "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; base-uri 'self'; "
              "frame-ancestors 'none'")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})
