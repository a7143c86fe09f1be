"""A TCP port-forward, as a household router or a VPN gateway does it: listen on one address and
port, relay every connection to the camera's. For tests of reachability as entered.

``drop=True`` accepts each connection and closes it at once (a forward whose inside end is dead, a
router that resets): the client sees a connection that succeeds and then breaks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

RELAY_CHUNK_BYTES = 64 * 1024
START_TIMEOUT_S = 10.0


@dataclass
class Forwarder:
    listen_host: str
    target_host: str
    target_port: int
    drop: bool = False
    port: int = 0  # the listening port (known once started)
    connections: int = 0  # accepted so far
    _server: asyncio.Server | None = field(default=None, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.listen_host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.drop:
            writer.transport.abort()
            return
        try:
            inside_reader, inside_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pipes = [asyncio.ensure_future(_pipe(reader, inside_writer)), asyncio.ensure_future(_pipe(inside_reader, writer))]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._tasks.discard(pipe)
            writer.transport.abort()
            inside_writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(RELAY_CHUNK_BYTES):
        writer.write(data)
        await writer.drain()


@contextmanager
def running_forwarders(listen_host: str, targets: list[tuple[str, int]], *, drop: bool = False) -> Iterator[list[Forwarder]]:
    """One forwarder per (host, port) target on ``listen_host``, in a background loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="forwarder", daemon=True)
    thread.start()
    forwarders = [Forwarder(listen_host, host, port, drop=drop) for host, port in targets]
    try:
        for forwarder in forwarders:
            asyncio.run_coroutine_threadsafe(forwarder.start(), loop).result(START_TIMEOUT_S)
        yield forwarders
    finally:
        for forwarder in forwarders:
            asyncio.run_coroutine_threadsafe(forwarder.stop(), loop).result(START_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
        loop.close()
