"""The FastAPI application factory."""

from __future__ import annotations

import base64
import gc
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import Engine

from api.bounds import bound_integers, bounded_int_params
from api.concurrency import ConcurrencyLimit, size_thread_pool
from api.errors import COMMON_RESPONSES, install_error_handlers, lang_of_header
from api.freshness import AnswerCache, BumpOnWrite, WriteGeneration
from api.headers import SecurityHeadersMiddleware
from api.limits import install_body_limits
from api.metrics import ApiMetrics, MetricsMiddleware
from api.routers import areas, audit, auth, cameras, donors, dossiers, users
from api.routers import cases, clips, custody
from api.routers import health, reports
from api.web import install_web
from camera_ops import __version__, netpolicy
from camera_ops.health_endpoints import run_checks
from camera_ops.i18n import parse_lang
from camera_ops.monitor.counts import Compactor
from camera_ops.readiness import api_checks
from camera_ops.registry.principals import PrincipalCache
from camera_ops.settings import Settings, announce_mode, get_settings
from storage.types import utcnow
from storage.db import engine_for

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    netpolicy.configure(settings.camera_networks)
    announce_mode(settings, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(settings.api_concurrency)
        compactor = Compactor(app.state.engine)
        compactor.start()
        _freeze_start_up_objects()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(compactor.stop)

    app = FastAPI(
        title="camera-ops",
        version=__version__,
        description="Community security cameras (Camera an ninh): registry, health, evidence, custody, reports.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = utcnow  # sessions, throttling: tests inject their own
    app.state.engine = engine or engine_for(settings.resolved_database_url, settings.api_concurrency)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX, responses=COMMON_RESPONSES, dependencies=[Depends(bounded_int_params)])
    for module in (auth, users, areas, donors, dossiers, cameras, cases, clips, custody, health, reports, audit):
        api.include_router(module.router)
    app.include_router(api)
    install_web(app)
    _install_docs(app)
    _bound_openapi_integers(app)
    _install_health(app, settings)
    app.state.metrics = ApiMetrics(app.state.engine)
    writes = WriteGeneration()
    app.state.answers = AnswerCache(settings.api_read_cache_s, writes)
    app.state.principals = PrincipalCache(settings.api_session_check_s)
    app.state.principal_lookups = {}  # (token, epoch) → the lookup in flight (api.deps.current_principal)
    # added innermost first: metrics (timing the wait for a slot too) → headers → request slots → body limits
    install_body_limits(app, settings)
    app.add_middleware(BumpOnWrite, generation=writes)  # inside the slots: a 503 wrote nothing
    app.add_middleware(ConcurrencyLimit, limit=settings.api_concurrency, queue_timeout_s=settings.api_queue_timeout_s)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)  # the 413 and the 503 get headers too
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, token=settings.ops_token)
    return app


_FROZEN: list[bool] = []


def _freeze_start_up_objects() -> None:
    """Once per process: what start-up made (routes, models, metadata, catalogs) leaves the
    collector's generations, so a full collection under load walks only request garbage. Once
    only: apps made again in one process (the tests) would otherwise keep each other forever."""
    if not _FROZEN:
        _FROZEN.append(True)
        gc.collect()
        gc.freeze()


def _install_health(app: FastAPI, settings: Settings) -> None:
    """``/healthz`` and ``/readyz`` in the shape the monitor and the worker share
    (``camera_ops.health_endpoints``); both skip the request queue (``api.concurrency``)."""
    own_threads = anyio.CapacityLimiter(2)  # not the request slots' threads: answers when the API is saturated
    ready = api_checks(app.state.engine, settings)

    def lang(request: Request):  # type: ignore[no-untyped-def]
        return parse_lang(request.query_params.get("lang")) or lang_of_header(request.headers.get("accept-language"))

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        """The process answers (liveness); touches nothing."""
        status, body = run_checks({}, lang(request))
        return JSONResponse({**body, "version": __version__}, status_code=status,
                            headers={"Cache-Control": "no-store"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """The database answers, its schema is at this code's head, the clip store is reachable; custody
        checkpoints failing or late make it "degraded" (still 200: see camera_ops.health_endpoints)."""
        status, body = await anyio.to_thread.run_sync(run_checks, ready, lang(request), limiter=own_threads)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


# Swagger UI and ReDoc come from the installed ``fastapi-offline`` package (its static directory),
# served by us: the docs work without Internet and no third-party origin is in the policy.
DOCS_ASSETS_PATH = "/docs-assets"  # not under /static: that mount would answer first


def _docs_policy(html: str) -> str:
    """Our own origin only; the page's inline start-up script allowed by hash (never 'unsafe-inline')."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.S))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'")


def _install_docs(app: FastAPI) -> None:
    """``/api/v1/docs`` (Swagger UI) and ``/api/v1/redoc`` with assets from an installed package."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS_PATH, StaticFiles(directory=assets), name="apidocs")
    title = "camera-ops — API"
    swagger = get_swagger_ui_html(
        openapi_url=f"{API_PREFIX}/openapi.json", title=title,
        swagger_js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg").body.decode()
    redoc = get_redoc_html(openapi_url=f"{API_PREFIX}/openapi.json", title=title,
                           redoc_js_url=f"{DOCS_ASSETS_PATH}/redoc.standalone.js",
                           redoc_favicon_url="/static/favicon.svg", with_google_fonts=False).body.decode()

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(swagger, headers={"Content-Security-Policy": _docs_policy(swagger)})

    @app.get(f"{API_PREFIX}/redoc", include_in_schema=False)
    def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc, headers={"Content-Security-Policy": _docs_policy(redoc)})


def _bound_openapi_integers(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            bound_integers(build())  # FastAPI caches the document in app.openapi_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
