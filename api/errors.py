"""Errors → HTTP, in one place. Every error body has the same shape:

    {"error": {"code": "camera_auth_failed", "message": "...", "field": "password",
               "message_key": "err.onvif.auth", "params": {}, "details": {}}}

``message`` is in the language the client asks for with ``Accept-Language`` (Vietnamese by
default, English on request); ``code``, ``field``, ``message_key`` and ``params`` are stable for
programs.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from camera_ops import audit, i18n
from camera_ops.error_text import error_message, render_message
from camera_ops.errors import CameraOpsError, NotAuthenticated, PasswordRequired, PermissionDenied, TooManyAttempts

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable code, e.g. camera_auth_failed, validation_failed, csrf_failed")
    message: str
    field: str | None = Field(default=None, description="the input field to fix, when one is to blame")
    message_key: str | None = Field(default=None, description="the catalog key of the message, e.g. err.window.future")
    params: dict[str, Any] = Field(default_factory=dict, description="the values the message was made from")
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
    429: {"model": ErrorOut, "description": "too many attempts (login throttle); see Retry-After"},
    502: {"model": ErrorOut, "description": "a camera did not answer as it should (named in `error.code`)"},
    503: {"model": ErrorOut, "description": "storage, ledger or database unavailable, or the server is busy "
                                            "(Retry-After)"},
}


# pydantic error types → our message keys (the rest: ``err.field.invalid``)
PYDANTIC_KEYS: dict[str, str] = {
    "missing": "err.field.required",
    "string_too_short": "err.field.too_short",
    "too_short": "err.field.too_short",
    "string_too_long": "err.field.too_long",
    "too_long": "err.field.too_long",
    "int_parsing": "err.field.not_integer",
    "int_from_float": "err.field.not_integer",
    "int_type": "err.field.not_integer",
    "float_parsing": "err.field.not_number",
    "float_type": "err.field.not_number",
    "date_parsing": "err.field.not_date",
    "date_from_datetime_parsing": "err.field.not_date",
    "enum": "err.field.choice",
    "literal_error": "err.field.choice",
    "greater_than": "err.field.out_of_range",
    "greater_than_equal": "err.field.out_of_range",
    "less_than": "err.field.out_of_range",
    "less_than_equal": "err.field.out_of_range",
    # the input refusals of api.schemas.In (issue 12): control characters, explicit nulls, size, range
    "control_chars": "api.control_chars",
    "not_null": "api.not_null",
    "text_too_long": "api.text_too_long",
    "int_range": "api.int_range",
}
HTTP_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed",
              413: "payload_too_large"}


def accepted_lang(header: str | None) -> i18n.Lang:
    """The first of our languages in an ``Accept-Language`` header, by quality; Vietnamese if none."""
    best: tuple[float, int, i18n.Lang] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        lang = i18n.parse_lang(tag.strip().lower().split("-")[0])
        if lang is None:
            continue
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, lang)
    return best[2] if best else i18n.DEFAULT_LANG


def accept_lang(request: Request) -> i18n.Lang:
    """The language of an API error message: ``?lang=``, else ``Accept-Language``, else Vietnamese."""
    return i18n.parse_lang(request.query_params.get("lang")) or accepted_lang(request.headers.get("accept-language"))


lang_of_header = accepted_lang  # the name other modules used first


def error_body(code: str, message: str, field: str | None = None, details: dict | None = None, *,
               message_key: str | None = None, params: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field, "message_key": message_key,
                      "params": params or {}, "details": details or {}}}


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


def domain_error_response(request: Request, exc: CameraOpsError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after_s)}
    lang = accept_lang(request)
    body = error_body(exc.code, error_message(exc, lang), exc.field, exc.details, message_key=exc.key,
                      params=exc.to_dict()["params"])
    return JSONResponse(body, exc.http_status, headers=headers)


def _validation_item(error: dict[str, Any], lang: i18n.Lang) -> dict[str, Any]:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
    field = ".".join(loc) or None
    key = PYDANTIC_KEYS.get(str(error.get("type")), "err.field.invalid")
    value = error.get("input")
    params = {"value": value if isinstance(value, (str, int, float)) else "",
              **{k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (str, int, float))}}
    message = render_message("validation_failed", key, params, str(error.get("msg", "")), lang, field=field)
    return {"field": field, "message": message, "message_key": key, "type": error.get("type")}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CameraOpsError)
    async def _domain(request: Request, exc: CameraOpsError) -> JSONResponse:
        if isinstance(exc, AUDITED_REFUSALS):
            await run_in_threadpool(audit_refusal, request, exc)
        return domain_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = accept_lang(request)
        items = [_validation_item(e, lang) for e in exc.errors()]
        first = items[0] if items else {"field": None, "message": i18n.t("error.code.validation_failed", lang),
                                        "message_key": None}
        return JSONResponse(error_body("validation_failed", first["message"], first["field"], {"errors": items},
                                       message_key=first["message_key"]), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = accept_lang(request)
        if exc.status_code == 413 and getattr(exc, "kind", None):  # api.limits.BodyTooLarge: its own message
            return JSONResponse(error_body("payload_too_large", str(exc.detail), None,
                                           {"kind": exc.kind, "limit_bytes": getattr(exc, "limit", None)}), 413)  # type: ignore[attr-defined]
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = render_message(code, None, None, "", lang)
        return JSONResponse(error_body(code, message, details={"detail": str(exc.detail)}), exc.status_code,
                            headers=getattr(exc, "headers", None))
