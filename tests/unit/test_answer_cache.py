"""AnswerCache (api.freshness): one making per key for everyone asking together, never joined by a
request that came after a write, copies that expire on the injected clock or at any write."""

from __future__ import annotations

import asyncio
import threading

from api.freshness import AnswerCache, WriteGeneration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def counting_make(started: threading.Event | None = None, release: threading.Event | None = None):
    calls: list[int] = []

    def make() -> bytes:
        calls.append(1)
        n = len(calls)
        if started is not None:
            started.set()
        if release is not None:
            assert release.wait(10)
        return f"answer {n}".encode()

    return make, calls


def test_requests_asking_together_share_one_making():
    cache = AnswerCache(1.0, WriteGeneration(), Clock())
    release = threading.Event()
    make, calls = counting_make(release=release)

    async def scenario() -> list[bytes]:
        waiting = [asyncio.ensure_future(cache.answer("k", make)) for _ in range(20)]
        await asyncio.sleep(0.01)
        release.set()
        return await asyncio.gather(*waiting)

    assert asyncio.run(scenario()) == [b"answer 1"] * 20
    assert calls == [1]


def test_a_request_after_a_write_does_not_join_a_making_started_before_it():
    writes = WriteGeneration()
    cache = AnswerCache(1.0, writes, Clock())
    started, release = threading.Event(), threading.Event()
    make, calls = counting_make(started, release)

    async def scenario() -> tuple[bytes, bytes]:
        before = asyncio.ensure_future(cache.answer("k", make))
        while not started.is_set():
            await asyncio.sleep(0.001)
        writes.bump()  # a write was answered while the first making ran
        after = asyncio.ensure_future(cache.answer("k", make))
        await asyncio.sleep(0.01)
        release.set()
        return await before, await after

    assert asyncio.run(scenario()) == (b"answer 1", b"answer 2")


def test_copies_expire_on_the_clock_and_at_any_write():
    clock, writes = Clock(), WriteGeneration()
    cache = AnswerCache(1.0, writes, clock)
    make, calls = counting_make()

    async def ask() -> bytes:
        return await cache.answer(("summary", None, None), make)

    assert asyncio.run(ask()) == b"answer 1"
    clock.now += 0.999
    assert asyncio.run(ask()) == b"answer 1"
    clock.now += 0.001
    assert asyncio.run(ask()) == b"answer 2"
    writes.bump()
    assert asyncio.run(ask()) == b"answer 3"
    clock.now -= 5  # a clock going back never makes a copy young again
    assert asyncio.run(ask()) == b"answer 4"


def test_no_copies_when_the_setting_is_zero():
    cache = AnswerCache(0.0, WriteGeneration(), Clock())
    make, calls = counting_make()
    for _ in range(3):
        asyncio.run(cache.answer("k", make))
    assert len(calls) == 3


def test_past_half_its_time_a_copy_is_remade_in_the_background_without_anyone_waiting():
    clock = Clock()
    cache = AnswerCache(1.0, WriteGeneration(), clock)
    release = threading.Event()
    make, calls = counting_make(release=release)

    async def scenario() -> list[bytes]:
        release.set()
        first = await cache.answer("k", make)
        release.clear()
        clock.now += 0.6
        ageing = await cache.answer("k", make)  # answered at once from the copy; the next one is being made
        assert cache._making
        release.set()
        while cache._making:
            await asyncio.sleep(0.001)
        clock.now += 0.6  # the first copy would have expired by now; the remade one has not
        return [first, ageing, await cache.answer("k", make)]

    assert asyncio.run(scenario()) == [b"answer 1", b"answer 1", b"answer 2"]
    assert len(calls) == 2
