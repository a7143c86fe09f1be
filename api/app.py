"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from api.errors import install_error_handlers
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
        docs_url=f"{API_PREFIX}/docs",
    )
    app.state.settings = settings
    app.state.engine = engine or engine_for(settings.resolved_database_url)
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (auth, users, areas, donors, dossiers, cameras, cases, clips, custody, health, reports):
        api.include_router(module.router)
    app.include_router(api)
    install_web(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
