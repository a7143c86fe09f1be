"""How many requests one API process works on at once, so no request waits on a database pool.

Every request holds at most one database session (``api.deps.get_db``) from its first query to its
end, including while it waits for a worker thread. Capping requests in flight at
``Settings.api_concurrency`` and sizing both the thread pool and the connection pool to that cap
(``storage.db.make_engine``) means a request that got in always gets a thread and a connection at
once; the others wait in the event loop, cheaply, in arrival order. A request still waiting after
``api_queue_timeout_s`` is answered 503 with Retry-After instead of timing out deep inside.

Liveness, readiness and metrics skip the queue: they must answer when the API is saturated.
"""

from __future__ import annotations

import asyncio
import json

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from camera_ops import i18n

UNQUEUED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
RETRY_AFTER_S = 2  # a saturated API drains a full queue within a second or two


def size_thread_pool(concurrency: int) -> None:
    """Sync endpoints and dependencies run in anyio's default thread pool: one thread per request
    in flight is enough (a request uses one thread at a time)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = concurrency


class ConcurrencyLimit:
    """Pure ASGI middleware: at most ``limit`` HTTP requests in flight."""

    def __init__(self, app: ASGIApp, *, limit: int, queue_timeout_s: float) -> None:
        self.app, self.limit, self.queue_timeout_s = app, limit, queue_timeout_s
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNQUEUED_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: no timer, no extra task (wait_for makes one)
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), self.queue_timeout_s)
            except TimeoutError:
                await _busy(scope, send)
                return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


async def _busy(scope: Scope, send: Send) -> None:
    from api.errors import lang_of_header

    headers = dict(scope.get("headers") or ())
    lang = lang_of_header((headers.get(b"accept-language") or b"").decode("latin-1"))
    body = json.dumps({"error": {"code": "server_busy", "message": i18n.t("api.busy", lang), "field": None,
                                 "details": {}}}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(RETRY_AFTER_S).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
