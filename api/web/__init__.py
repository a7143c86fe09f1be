"""The server-rendered web interface (Jinja2 templates, plain CSS, small plain JavaScript).

``install_web(app)`` mounts the static files (ours and Leaflet from the ``xstatic-leaflet``
package, so the map works offline), the page routers, and error handlers that answer HTML on page
paths while leaving the JSON API's error shape unchanged.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import xstatic.pkg.leaflet as leaflet
from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.errors import audit_refusal
from api.bounds import bounded_int_params
from api.web import pages
from api.web.context import CsrfRejected, LoginRequired, MustChangePassword, render, request_lang
from camera_ops.error_text import error_message
from camera_ops.errors import CameraOpsError, NotAuthenticated, NotFound, PermissionDenied

STATIC_DIR = Path(__file__).parent / "static"
API_PATH_PREFIX = "/api/"


def install_web(app: FastAPI) -> None:
    app.mount("/static/leaflet", StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    favicon = STATIC_DIR / "favicon.svg"

    @app.get("/favicon.ico", include_in_schema=False)
    def _favicon() -> Response:  # what browsers ask for before reading <link rel="icon">
        return FileResponse(favicon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    for router in pages.routers():
        app.include_router(router, include_in_schema=False, dependencies=[Depends(bounded_int_params)])
    _install_error_pages(app)


def _install_error_pages(app: FastAPI) -> None:
    json_handler = app.exception_handlers[CameraOpsError]

    @app.exception_handler(LoginRequired)
    async def _login_required(_: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)

    @app.exception_handler(MustChangePassword)
    async def _must_change(_: Request, __: MustChangePassword) -> Response:
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        return render(request, "error.html", status_code=403, title_key="error.forbidden",
                      message_key="error.csrf")

    @app.exception_handler(CameraOpsError)
    async def _domain(request: Request, exc: CameraOpsError) -> Response:
        if request.url.path.startswith(API_PATH_PREFIX):
            return await json_handler(request, exc)
        if isinstance(exc, NotAuthenticated):
            return RedirectResponse(f"/login?next={quote(request.url.path, safe='')}", status_code=303)
        if isinstance(exc, NotFound):
            return render(request, "error.html", status_code=404, title_key="error.not_found",
                          message_key="error.not_found_text")
        if isinstance(exc, PermissionDenied):
            await run_in_threadpool(audit_refusal, request, exc)
            return render(request, "error.html", status_code=403, title_key="error.forbidden",
                          message_key="error.forbidden_text")
        return render(request, "error.html", status_code=exc.http_status, title_key="common.error",
                      message=error_message(exc, request_lang(request)))
