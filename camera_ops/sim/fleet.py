"""A fleet of simulated cameras in one asyncio loop.

Addressing: each camera gets its own loopback address (base address upward, skipping .0 and .255
host parts so no address looks like a network or broadcast address) and its own listening sockets.
With port 0 the kernel picks free ports (tests: two fleets never collide); the CLI uses fixed
ports so every camera looks like ``http://127.20.0.N:8080`` / ``rtsp://127.20.0.N:8554``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
from collections.abc import Iterable
from typing import Any

from camera_ops.sim.camera import SimCamera, SimCameraInfo, SnapshotCache
from camera_ops.sim.faults import Faults
from camera_ops.sim.server import handle_connection
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.video import SegmentCache, parameter_sets

log = logging.getLogger(__name__)

DEFAULT_BASE_ADDRESS = "127.20.0.1"
FLAP_TICK_S = 0.25  # how often flapping cameras are switched on/off; idle fleets don't tick
FDS_PER_CONNECTION_RESERVE = 0.5  # keep half the fd limit for client connections


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def allocate_addresses(base: str, count: int) -> list[str]:
    addresses, current = [], ipaddress.IPv4Address(base)
    while len(addresses) < count:
        if not current.is_loopback:
            raise ValueError(f"{current} is not a loopback address: the simulator listens on 127.0.0.0/8 only")
        if current.packed[-1] not in (0, 255):
            addresses.append(str(current))
        current += 1
    return addresses


class Fleet:
    def __init__(
        self,
        specs: Iterable[CameraSpec],
        *,
        base_address: str = DEFAULT_BASE_ADDRESS,
        http_port: int = 0,
        rtsp_port: int = 0,
        shared_port: bool | None = None,
        segment_cache: SegmentCache | None = None,
        discovery_port: int | None = None,
    ) -> None:
        self.specs = list(specs)
        for spec in self.specs:
            if spec.host is not None and not ipaddress.IPv4Address(spec.host).is_loopback:
                raise ValueError(f"camera {spec.name}: {spec.host} is not a loopback address")
        names = [s.name for s in self.specs]
        if len(set(names)) != len(names):
            raise ValueError("camera names must be unique in a fleet")
        fd_limit = raise_fd_limit()
        if shared_port is None:
            # two listeners per camera unless that would eat the descriptors clients need
            shared_port = 2 * len(self.specs) > fd_limit * FDS_PER_CONNECTION_RESERVE
        if http_port and http_port == rtsp_port:
            shared_port = True
        self.shared_port = shared_port
        self.segments = segment_cache or SegmentCache()
        self.snapshots = SnapshotCache()
        auto = iter(allocate_addresses(base_address, sum(1 for s in self.specs if s.host is None)))
        self.cameras: list[SimCamera] = [
            SimCamera(
                spec, host=spec.host or next(auto), http_port=http_port, rtsp_port=rtsp_port,
                shared_port=shared_port, segments=self.segments, snapshots=self.snapshots,
                handler=handle_connection, discovery_port=discovery_port,
            )
            for spec in self.specs
        ]
        self._by_name = {c.name: c for c in self.cameras}
        self._flapper: asyncio.Task[None] | None = None

    def camera(self, name: str) -> SimCamera:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no camera named {name!r} in this fleet") from None

    def infos(self) -> list[SimCameraInfo]:
        return [c.info() for c in self.cameras]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sizes = {(s.main_size, s.fps) for s in self.specs} | {(s.sub_size, s.fps) for s in self.specs}
        for size, fps in sizes:  # SDP needs SPS/PPS: make them once, before the first DESCRIBE
            await loop.run_in_executor(None, parameter_sets, size, fps)
        try:
            for camera in self.cameras:
                await camera.set_faults(camera.spec.faults)
        except BaseException:
            await self.stop()
            raise
        self._ensure_flapper()

    async def stop(self) -> None:
        if self._flapper is not None:
            self._flapper.cancel()
            self._flapper = None
        for camera in self.cameras:
            await camera.close()
        self.segments.close()

    async def set_faults(self, name: str, **changes: Any) -> None:
        camera = self.camera(name)
        await camera.set_faults(camera.faults.replace(**changes))
        self._ensure_flapper()

    async def clear_faults(self, name: str) -> None:
        camera = self.camera(name)
        await camera.set_faults(Faults())
        self._ensure_flapper()

    async def set_group_fault(self, group: str, **changes: Any) -> None:
        """Apply the same changes to every camera of ``group`` (e.g. a hamlet's power cut)."""
        members = [c for c in self.cameras if c.spec.group == group]
        if not members:
            raise KeyError(f"no camera in group {group!r}")
        for camera in members:
            await camera.set_faults(camera.faults.replace(**changes))
        self._ensure_flapper()

    def _ensure_flapper(self) -> None:
        if self._flapper is None and any(c.faults.flapping for c in self.cameras):
            self._flapper = asyncio.ensure_future(self._flap())

    async def _flap(self) -> None:
        while True:
            flapping = [c for c in self.cameras if c.faults.flapping]
            if not flapping:
                self._flapper = None
                return
            for camera in flapping:
                try:
                    await camera.reconcile()
                except OSError as exc:  # port taken meanwhile: try again next tick
                    log.warning("camera %s could not reopen: %s", camera.name, exc)
            await asyncio.sleep(FLAP_TICK_S)
