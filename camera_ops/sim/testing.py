"""Run a fleet from synchronous code (tests, scripts): its own asyncio loop in a background thread."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

from camera_ops.sim.camera import SimCameraInfo
from camera_ops.sim.control import start_control_server
from camera_ops.sim.fleet import Fleet
from camera_ops.sim.spec import CameraSpec, default_specs

T = TypeVar("T")
CALL_TIMEOUT_S = 30.0  # starting 1,000 cameras takes a few seconds; a fault change milliseconds
TEST_ADDRESS_BLOCKS = range(21, 30)  # 127.21-29.x.y: apart from the CLI's 127.20.0.x


def random_base_address() -> str:
    """A random /24 per fleet: ports are ephemeral anyway, and a random block makes it unlikely that
    another test process grabs a port an offline camera wants back when it comes online again."""
    return f"127.{random.choice(TEST_ADDRESS_BLOCKS)}.{random.randrange(256)}.1"


BENCH_ADDRESS_BLOCKS = range(64, 255)  # 127.64-254.x.y: clear of the CLI demo (127.20) and the tests (127.21-29)


def free_bench_base_address(rng: random.Random | None = None, tries: int = 20) -> str:
    """A random 127.X.Y.1 for a bench's simulator that nothing listens on (a running demo, a second
    bench run): the default of the benches' ``--base-address``."""
    import socket

    rng = rng or random.Random()
    for _ in range(tries):
        base = f"127.{rng.choice(BENCH_ADDRESS_BLOCKS)}.{rng.randrange(256)}.1"
        with socket.socket() as probe:
            try:
                probe.bind((base, 0))  # the address is usable ...
            except OSError:
                continue
        with socket.socket() as probe:
            probe.settimeout(0.05)
            if probe.connect_ex((base, 554)) != 0:  # ... and no RTSP server already answers on it
                return base
    raise RuntimeError("no free 127.x block found; pass --base-address")


class FleetHandle:
    """Thread-safe handle on a fleet running in a background loop."""

    def __init__(self, fleet: Fleet, loop: asyncio.AbstractEventLoop, control_url: str | None) -> None:
        self.fleet = fleet
        self._loop = loop
        self.control_url = control_url
        self.cameras: list[SimCameraInfo] = fleet.infos()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def camera(self, name: str) -> SimCameraInfo:
        for info in self.cameras:
            if info.name == name:
                return info
        raise KeyError(f"no camera named {name!r} in this fleet")

    def set_faults(self, name: str, **changes: Any) -> None:
        self._call(self.fleet.set_faults(name, **changes))

    def clear_faults(self, name: str) -> None:
        self._call(self.fleet.clear_faults(name))

    def set_group_fault(self, group: str, **changes: Any) -> None:
        self._call(self.fleet.set_group_fault(group, **changes))

    def camera_clock(self, name: str) -> datetime:
        return datetime.fromtimestamp(self.fleet.camera(name).now(), timezone.utc)

    def faults(self, name: str) -> Any:
        return self.fleet.camera(name).faults


@contextmanager
def running_fleet(
    specs: list[CameraSpec] | None = None,
    *,
    count: int | None = None,
    control_port: int | None = None,
    **fleet_opts: Any,
) -> Iterator[FleetHandle]:
    """Start a fleet (``specs``, or ``count`` default cameras); stop it and close every socket on exit.

    ``control_port`` (0 = any free port) also starts the HTTP control API; see ``handle.control_url``.
    """
    if specs is None:
        specs = default_specs(count if count is not None else 3)
    fleet_opts.setdefault("base_address", random_base_address())
    fleet = Fleet(specs, **fleet_opts)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sim-fleet", daemon=True)
    thread.start()
    control: asyncio.Server | None = None

    async def start() -> str | None:
        nonlocal control
        await fleet.start()
        if control_port is None:
            return None
        control = await start_control_server(fleet, control_port)
        host, port = control.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def stop() -> None:
        if control is not None:
            control.close()
        await fleet.stop()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        url = asyncio.run_coroutine_threadsafe(start(), loop).result(CALL_TIMEOUT_S + len(specs) / 50)
        yield FleetHandle(fleet, loop, url)
    finally:
        try:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(CALL_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT_S)
            loop.close()
