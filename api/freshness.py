"""Short-lived copies of hot read answers, and what makes them stale.

The fleet summary and a page of the camera list are the same for every user of one scope and cost
milliseconds of SQL and JSON; a province's operators ask for them hundreds of times a second.
:class:`AnswerCache` keeps the JSON per key (the scope and the query) for ``ttl_s`` seconds
(``api_read_cache_s``, default 1 s; ``duration_s`` in the summary is as old as its copy), and throws every copy away as soon as this process answers a request that may have
written (any method but GET/HEAD/OPTIONS: :class:`WriteGeneration`), so a change made through the
API is seen by the next read. What the monitors write (statuses, every minute) and what another API
process writes is seen within ``ttl_s``. Concurrent misses of one key are computed once. The copies
of a process are bounded in number (``MAX_KEYS``) and in bytes (``MAX_BYTES``: answers and keys),
stale ones dropped first, so ever new query strings cannot grow memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_KEYS = 4_096  # scopes × areas asked for, per process; past it the copies are dropped
# bytes of copies (answers and their keys) per process: one reader asking ever new query strings
# (q, limit, offset) would otherwise keep MAX_KEYS pages of up to 1,000 cameras (gigabytes)
MAX_BYTES = 32 * 1024 * 1024


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
    size: int  # the body and the key, in bytes (counted against max_bytes)


def _key_size(key: Hashable) -> int:
    return len(str(key).encode())


class AnswerCache:
    """Copies kept on the event loop's side: a fresh one is answered without leaving the loop (and,
    past half its time, the next one is made in the background, so a busy key never has all its
    requests wait at expiry); a missing or stale one is made by one worker-thread trip, shared by
    every request that asks for the same key meanwhile."""

    def __init__(self, ttl_s: float, generation: WriteGeneration, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.generation, self.clock = ttl_s, generation, clock  # tests inject the clock
        self._copies: dict[Hashable, _Copy] = {}
        self._making: dict[tuple[Hashable, int], asyncio.Task[bytes]] = {}
        self.max_bytes = MAX_BYTES
        self.size_bytes = 0  # of the copies kept

    def fresh(self, key: Hashable) -> bytes | None:
        """The remembered answer if it is young enough and nothing was written since."""
        copy = self._copies.get(key)
        if copy is None or copy.generation != self.generation.value:
            return None
        if not 0 <= self.clock() - copy.made_at < self.ttl_s:
            return None
        return copy.body

    async def answer(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The fresh copy, else ``make()`` (in a worker thread) once for everyone asking now. A
        request arriving after a write never joins a making that started before it."""
        body = self.fresh(key)
        if body is not None:
            if self.clock() - self._copies[key].made_at >= self.ttl_s / 2:
                self._make_soon(key, make)  # ready before this copy expires: nobody waits for it
            return body
        if self.ttl_s <= 0:
            return await anyio.to_thread.run_sync(make)
        making_key = (key, self.generation.value)
        task = self._making.get(making_key)
        if task is None:
            task = self._making[making_key] = asyncio.ensure_future(self._make(key, making_key, make))
        return await asyncio.shield(task)  # a requester that goes away does not cancel the others' answer

    def _make_soon(self, key: Hashable, make: Callable[[], bytes]) -> None:
        making_key = (key, self.generation.value)
        if making_key not in self._making:
            task = self._making[making_key] = asyncio.ensure_future(self._make(key, making_key, make))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a failure waits for a reader

    async def _make(self, key: Hashable, making_key: tuple[Hashable, int], make: Callable[[], bytes]) -> bytes:
        started = self.clock()
        try:
            body = await anyio.to_thread.run_sync(make)
        finally:
            del self._making[making_key]
        self._keep(key, _Copy(body, started, making_key[1], len(body) + _key_size(key)))
        return body

    def _keep(self, key: Hashable, copy: _Copy) -> None:
        """Keep ``copy`` within MAX_KEYS and ``max_bytes``: stale copies go first, then the oldest;
        an answer larger than the whole budget is not kept."""
        old = self._copies.pop(key, None)
        if old is not None:
            self.size_bytes -= old.size
        if copy.size > self.max_bytes:
            return
        if len(self._copies) >= MAX_KEYS or self.size_bytes + copy.size > self.max_bytes:
            now, generation = self.clock(), self.generation.value
            for stale in [k for k, c in self._copies.items()
                          if c.generation != generation or not 0 <= now - c.made_at < self.ttl_s]:
                self.size_bytes -= self._copies.pop(stale).size
            while self._copies and (len(self._copies) >= MAX_KEYS or self.size_bytes + copy.size > self.max_bytes):
                self.size_bytes -= self._copies.pop(next(iter(self._copies))).size  # the oldest first
        self._copies[key] = copy
        self.size_bytes += copy.size


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
