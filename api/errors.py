"""Errors → HTTP, in one place. Every error body has the same shape:

    {"error": {"code": "camera_auth_failed", "message": "...", "field": "password", "details": {}}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from starlette.concurrency import run_in_threadpool

from camera_ops import audit
from camera_ops.errors import CameraOpsError, NotAuthenticated, PasswordRequired, PermissionDenied, TooManyAttempts
from camera_ops.i18n import DEFAULT_LANG, Lang, parse_lang

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable code, e.g. camera_auth_failed, validation_failed, csrf_failed")
    message: str
    field: str | None = Field(default=None, description="the input field to fix, when one is to blame")
    details: dict[str, Any] = {}


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


# Answers any API operation may give (declared once, on the API router, so the OpenAPI document
# lists every status code an operation can return).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the request cannot be carried out as asked"},
    401: {"model": ErrorOut, "description": "not logged in, or the login expired"},
    403: {"model": ErrorOut, "description": "the role or area does not allow it, or the CSRF check failed"},
    404: {"model": ErrorOut, "description": "no such thing, or outside the caller's areas"},
    409: {"model": ErrorOut, "description": "conflicts with what exists (duplicate code, wrong state)"},
    413: {"model": ErrorOut, "description": "the request body is over its size limit"},
    422: {"model": ErrorOut, "description": "invalid input; `error.field` names the field to fix"},
}


def accept_lang(request: Request) -> Lang:
    """The language of an API error message: ``?lang=``, else the first vi/en in
    ``Accept-Language``, else Vietnamese."""
    return parse_lang(request.query_params.get("lang")) or lang_of_header(request.headers.get("accept-language"))


def lang_of_header(header: str | None) -> Lang:
    for part in (header or "").split(","):
        lang = parse_lang(part.split(";")[0].strip().lower()[:2])
        if lang is not None:
            return lang
    return DEFAULT_LANG


def error_body(code: str, message: str, field: str | None = None, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field, "details": details or {}}}


# Refusals recorded in the audit log, attributed to the logged-in user (the request's own
# transaction is rolled back, so the record is written apart).
AUDITED_REFUSALS = (PermissionDenied, PasswordRequired)


def audit_refusal(request: Request, exc: CameraOpsError) -> None:
    actor = getattr(request.state, "actor", None)
    if actor is None:
        return  # not logged in: a 401 elsewhere, nobody to attribute
    audit.record_apart(request.app.state.engine, actor, "access.denied",
                       target_type="request", target_id=f"{request.method} {request.url.path}"[:64],
                       message=f"{exc.code}: {exc.message}")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CameraOpsError)
    async def _domain(request: Request, exc: CameraOpsError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after_s)}
        if isinstance(exc, AUDITED_REFUSALS):
            await run_in_threadpool(audit_refusal, request, exc)
        return JSONResponse(error_body(exc.code, exc.message, exc.field, exc.details), exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg", "invalid request"))
        details = {"errors": [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
                              for e in errors]}
        return JSONResponse(error_body("validation_failed", message, field, details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {401: "not_authenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
                 413: "payload_too_large"}
        return JSONResponse(error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))
