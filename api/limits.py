"""Request body size limits, enforced before authentication and before the body is read
(issue 12, finding 6), as a pure ASGI middleware outside everything else.

Each body is one of three kinds, by its ``Content-Type``, each with its own setting:
``multipart/form-data`` → upload (CSV imports), ``application/x-www-form-urlencoded`` → form,
anything else → JSON. A declared ``Content-Length`` over the limit is answered 413 at once without
reading a byte of the body; a body without one (chunked) is counted as it streams and refused as
soon as it passes the limit, so memory stays bounded either way.
"""

from __future__ import annotations

import html
import json
from typing import Literal

from fastapi import FastAPI, HTTPException, Request, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, lang_of_header
from camera_ops.i18n import Lang, t
from camera_ops.settings import Settings

BodyKind = Literal["json", "form", "upload"]


def body_kind(content_type: str | None) -> BodyKind:
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        return "upload"
    if media == "application/x-www-form-urlencoded":
        return "form"
    return "json"


def human_bytes(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def too_large_message(kind: BodyKind, limit: int, lang: Lang) -> str:
    return t("api.payload_too_large", lang, kind=t(f"api.body_kind.{kind}", lang), limit=human_bytes(limit))


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit. An HTTPException so FastAPI's
    body parsing lets it through unchanged (it turns other errors into 400)."""

    def __init__(self, kind: BodyKind, limit: int, lang: Lang) -> None:
        super().__init__(413, detail=too_large_message(kind, limit, lang))
        self.kind, self.limit, self.lang = kind, limit, lang


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limits: dict[BodyKind, int] = {"json": settings.max_json_body_bytes,
                                             "form": settings.max_form_body_bytes,
                                             "upload": settings.max_upload_bytes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        kind = body_kind(headers.get("content-type"))
        limit = self.limits[kind]
        lang = lang_of_header(headers.get("accept-language"))
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _send_413(send, scope["path"], kind, limit, lang)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(kind, limit, lang)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _send_413(send, scope["path"], kind, limit, lang)


def too_large_body(path: str, kind: BodyKind, limit: int, lang: Lang) -> tuple[bytes, str]:
    """JSON in the API's error shape; a small page for the web forms (a browser always declares the
    length of a form it posts, so a too-large upload is answered before a byte is read)."""
    message = too_large_message(kind, limit, lang)
    if path.startswith("/api/"):
        body = json.dumps(error_body("payload_too_large", message, None, {"kind": kind, "limit_bytes": limit}),
                          ensure_ascii=False).encode()
        return body, "application/json"
    page = (f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>413</title>'
            f'<link rel="stylesheet" href="/static/app.css"><main><h1>413</h1><p>{html.escape(message)}</p>'
            f'<p><a href="/">{html.escape(t("common.back", lang))}</a></p></main></html>')
    return page.encode(), "text/html; charset=utf-8"


async def _send_413(send: Send, path: str, kind: BodyKind, limit: int, lang: Lang) -> None:
    body, media = too_large_body(path, kind, limit, lang)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def install_body_limits(app: FastAPI, settings: Settings) -> None:
    """The middleware, and the answer when the app's own handlers meet a body cut off mid-read."""

    async def _too_large(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BodyTooLarge)
        body, media = too_large_body(request.url.path, exc.kind, exc.limit, exc.lang)
        return Response(body, status_code=413, media_type=media, headers={"Connection": "close"})

    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_middleware(BodyLimitMiddleware, settings=settings)
