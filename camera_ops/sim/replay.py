"""What a PLAY sends: live (paced by the camera clock) or a recorded window (paced or as fast as
the TCP connection drains), turned into interleaved RTP on the client's connection.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from camera_ops.sim.camera import SimCamera
from camera_ops.sim.rtp import Packetizer, ReplayFlags, interleave, onvif_extension, rtp_time
from camera_ops.sim.video import AccessUnit

PREFETCH_SEGMENTS = 2  # encode this many seconds ahead of the one being sent (2 encoder threads)
BLACK_HOLE_POLL_S = 0.2  # how often a stalled stream checks whether the black hole is over
PLAYBACK_CLOSE_GRACE_S = 2.0  # after BYE, time for a polite client to TEARDOWN before we hang up
MAX_LIVE_LAG_S = 2  # a live stream that falls further behind the clock skips ahead
STALLED_CLIENT_TIMEOUT_S = 60.0  # = the RTSP session timeout: a client that stops reading is dropped


@dataclass(frozen=True)
class Plan:
    stream: str  # "main" | "sub"
    first_capture: float  # camera epoch second of the first frame (always a keyframe)
    seconds: tuple[int, ...] | None  # recorded seconds to send, None = live
    end: float | None = None  # exclusive end of a recorded window
    paced: bool = True
    replay: bool = False  # ONVIF replay: 0xABAC extension on every access unit

    @property
    def range_header(self) -> str:
        if self.seconds is None:
            return "npt=now-"
        end = self.end if self.end is not None else self.seconds[-1] + 1
        if self.replay:
            return f"clock={format_clock(self.first_capture)}-{format_clock(end)}"
        return f"npt=0.000-{end - self.first_capture:.3f}"


def format_clock(epoch: float) -> str:
    """ONVIF/RTSP absolute time: ``20261121T141000.250Z``."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%S") + f".{moment.microsecond // 1000:03d}Z"


def live_plan(camera: SimCamera, stream: str) -> Plan:
    return Plan(stream, float(math.floor(camera.now())), None)


def window_plan(
    camera: SimCamera, stream: str, start: float, end: float | None, *, paced: bool, replay: bool
) -> Plan | None:
    """The recorded seconds overlapping [start, end); None when the card has none of them.

    Playback starts at the keyframe at or before ``start``: segments are 1 s GOPs, so that is
    the start of the second ``start`` falls in.
    """
    first, last = camera.recording_window()
    stop = end if end is not None else camera.now()
    seconds = tuple(s for s in range(max(math.floor(start), first), min(math.ceil(stop) - 1, last) + 1) if camera.has_footage(s))
    if not seconds:
        return None
    return Plan(stream, float(seconds[0]), seconds, stop, paced, replay)


async def stream_plan(
    camera: SimCamera, writer: asyncio.StreamWriter, packetizer: Packetizer, channel: int, plan: Plan
) -> None:
    sender = _Sender(camera, writer, packetizer, channel)
    try:
        if plan.seconds is None:
            await _live(camera, sender, plan)
        else:
            await _recorded(camera, sender, plan)
    except (ConnectionError, _Dropped):
        writer.close()


class _Dropped(Exception):
    pass


class _Sender:
    def __init__(self, camera: SimCamera, writer: asyncio.StreamWriter, packetizer: Packetizer, channel: int) -> None:
        self.camera = camera
        self.writer = writer
        self.packetizer = packetizer
        self.channel = channel
        self.started = time.monotonic()
        self.last_capture = 0.0
        self.units_sent = 0

    async def send(self, unit: AccessUnit, extension: bytes | None = None) -> None:
        faults = self.camera.faults
        while faults.black_hole:
            await asyncio.sleep(BLACK_HOLE_POLL_S)
            faults = self.camera.faults
        drop = faults.stream_drop_after_s
        if drop is not None and time.monotonic() - self.started >= drop:
            raise _Dropped
        if faults.stream_drop_after_units is not None and self.units_sent >= faults.stream_drop_after_units:
            raise _Dropped
        self.units_sent += 1
        packets = self.packetizer.packetize(unit.nals, rtp_time(unit.capture_time), extension)
        self.writer.write(b"".join(interleave(self.channel, p) for p in packets))
        self.last_capture = unit.capture_time
        await self._drain()

    async def _drain(self) -> None:
        if self.writer.transport.get_write_buffer_size() == 0:
            return  # the common case, without the cost of a timeout handle
        try:
            await asyncio.wait_for(self.writer.drain(), STALLED_CLIENT_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise _Dropped from None

    async def goodbye(self) -> None:
        rtcp = self.packetizer.goodbye(time.time(), rtp_time(self.last_capture))
        self.writer.write(interleave(self.channel + 1, rtcp))
        await self._drain()


def _size(camera: SimCamera, stream: str) -> tuple[int, int]:
    return camera.spec.main_size if stream == "main" else camera.spec.sub_size


async def _live(camera: SimCamera, sender: _Sender, plan: Plan) -> None:
    size, fps = _size(camera, plan.stream), camera.spec.fps
    second = int(plan.first_capture)
    while True:
        look = camera.look()
        camera.segments.prefetch(look, size, fps, second + 1)
        segment = await camera.segments.get(look, size, fps, second)
        for unit in segment.units:
            delay = unit.capture_time - camera.now()
            if delay > 0:
                await asyncio.sleep(delay)
            await sender.send(unit)
        second = max(second + 1, math.floor(camera.now()) - MAX_LIVE_LAG_S)


async def _recorded(camera: SimCamera, sender: _Sender, plan: Plan) -> None:
    assert plan.seconds is not None
    size, fps = _size(camera, plan.stream), camera.spec.fps
    seconds = plan.seconds
    look = camera.look()
    clock_start = time.monotonic()
    sent_duration = 0.0
    for i, second in enumerate(seconds):
        for ahead in seconds[i + 1 : i + 1 + PREFETCH_SEGMENTS]:
            camera.segments.prefetch(look, size, fps, ahead)
        segment = await camera.segments.get(look, size, fps, second)
        units = [u for u in segment.units if plan.end is None or u.capture_time < plan.end]
        gap_before = i > 0 and seconds[i - 1] != second - 1
        gap_after = i + 1 < len(seconds) and seconds[i + 1] != second + 1
        last_second = i + 1 == len(seconds)
        for j, unit in enumerate(units):
            extension = None
            if plan.replay:
                flags = ReplayFlags(
                    clean_point=unit.keyframe,
                    discontinuity=gap_before and j == 0,
                    end_of_section=gap_after and j == len(units) - 1,
                    terminal=last_second and j == len(units) - 1,
                )
                extension = onvif_extension(unit.capture_time, flags)
            if plan.paced:
                delay = clock_start + sent_duration - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent_duration += 1 / fps
            await sender.send(unit, extension)
    await sender.goodbye()
    if not plan.replay:
        await asyncio.sleep(PLAYBACK_CLOSE_GRACE_S)
        sender.writer.close()
