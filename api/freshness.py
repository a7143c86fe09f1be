"""Short-lived copies of hot read answers, and what makes them stale.

The fleet summary and a page of the camera list are the same for every user of one scope and cost
milliseconds of SQL and JSON; a province's operators ask for them hundreds of times a second.
:class:`AnswerCache` keeps the JSON per key (the scope and the query) for ``ttl_s`` seconds
(``api_read_cache_s``, default 1 s; ``duration_s`` in the summary is as old as its copy), and throws every copy away as soon as this process answers a request that may have
written (any method but GET/HEAD/OPTIONS: :class:`WriteGeneration`), so a change made through the
API is seen by the next read. What the monitors write (statuses, every minute) and what another API
process writes is seen within ``ttl_s``. Concurrent misses of one key are computed once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_KEYS = 4_096  # scopes × areas asked for, per process; past it the copies are dropped


class WriteGeneration:
    """A counter this process bumps whenever a request that may write is answered."""

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1  # read without a lock: a stale read only means one more recomputation


@dataclass(frozen=True, slots=True)
class _Copy:
    body: bytes
    made_at: float  # AnswerCache.clock(): time.monotonic()
    generation: int


class AnswerCache:
    def __init__(self, ttl_s: float, generation: WriteGeneration, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.generation, self.clock = ttl_s, generation, clock  # tests inject the clock
        self._copies: dict[Hashable, _Copy] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def fresh(self, key: Hashable) -> bytes | None:
        """The remembered answer if it is young enough and nothing was written since (no I/O: the
        event loop may ask)."""
        copy = self._copies.get(key)
        if copy is None or copy.generation != self.generation.value:
            return None
        if not 0 <= self.clock() - copy.made_at < self.ttl_s:
            return None
        return copy.body

    def get_or_make(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The fresh copy, else ``make()`` once for all the threads asking for ``key`` together."""
        if self.ttl_s <= 0:
            return make()
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            body = self.fresh(key)
            if body is not None:
                return body
            generation, started = self.generation.value, self.clock()
            body = make()
            with self._guard:
                if len(self._copies) >= MAX_KEYS:
                    self._copies.clear()
                    self._locks = {key: lock}
                self._copies[key] = _Copy(body, started, generation)
            return body


class BumpOnWrite:
    """Pure ASGI middleware: a request that may write bumps the generation when its answer starts
    (the request's transaction has committed by then) and again when it ends."""

    def __init__(self, app: ASGIApp, *, generation: WriteGeneration) -> None:
        self.app, self.generation = app, generation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return

        async def bump_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.generation.bump()
            await send(message)

        try:
            await self.app(scope, receive, bump_then_send)
        finally:
            self.generation.bump()
