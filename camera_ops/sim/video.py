"""H.264 footage, encoded on demand one GOP at a time and cached.

Design: footage is cut into *segments* of one camera-clock second = one GOP (IDR + P frames).
A segment is a pure function of (look, size, fps, second), so it is encoded at most once while it
stays in the LRU cache, however many live viewers or replays ask for it, and nothing is encoded
when nobody watches. Each segment comes from a fresh libx264 encoder with fixed settings, so every
segment starts with the same SPS/PPS (checked) and decodes independently: replay can start at any
second, and a recording gap can drop whole segments.

Encoding runs in a small thread pool (libx264 and OpenCV release the GIL) so the event loop keeps
answering other cameras while a segment is being made.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2

from camera_ops.sim.scene import Look, render

ENCODER_THREADS = 2  # the machine has 2 cores shared with everything else
SEGMENT_CACHE_BYTES = 96 * 1024 * 1024  # ~40 min of 360p footage: many viewers/replays, bounded RSS
NAL_SEI = 6
NAL_SPS = 7
NAL_PPS = 8
NAL_IDR = 5
X264_OPTIONS = {
    # ultrafast + zerolatency: cheapest CPU, no B-frames, no lookahead; one slice thread keeps the
    # output deterministic; scenecut off so a GOP is exactly one second.
    "preset": "ultrafast",
    "tune": "zerolatency",
    "profile": "baseline",
    "threads": "1",
    "x264-params": "scenecut=0:repeat-headers=1:aud=0",
}
BITRATE_BITS_PER_PIXEL_SECOND = 0.12  # ~330 kbit/s at 640x360@12: a cheap camera's sub-1 Mbit/s


@dataclass(frozen=True)
class AccessUnit:
    """One coded picture as NAL units (without start codes)."""

    nals: tuple[bytes, ...]
    capture_time: float  # camera-clock epoch seconds
    keyframe: bool

    @property
    def size(self) -> int:
        return sum(len(n) for n in self.nals)


@dataclass(frozen=True)
class Segment:
    second: int  # camera-clock epoch second of the first frame
    units: tuple[AccessUnit, ...]

    @property
    def size(self) -> int:
        return sum(u.size for u in self.units)


@dataclass(frozen=True)
class ParameterSets:
    sps: bytes
    pps: bytes

    @property
    def profile_level_id(self) -> str:
        return self.sps[1:4].hex().upper()

    @property
    def sprop(self) -> str:
        return f"{base64.b64encode(self.sps).decode()},{base64.b64encode(self.pps).decode()}"


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (3- or 4-byte start codes)."""
    nals: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt == -1 else nxt
        nal = data[begin:end]
        if nxt != -1 and nal.endswith(b"\x00"):
            nal = nal[:-1]  # the leading zero of a 4-byte start code
        if nal:
            nals.append(nal)
        start = nxt
    return nals


def encode_segment(look: Look, size: tuple[int, int], fps: int, second: int) -> Segment:
    """Render and encode one second (one GOP) of the scene. CPU-bound; call from a worker thread."""
    width, height = size
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps, 1)
    codec.gop_size = fps
    codec.max_b_frames = 0
    codec.bit_rate = int(width * height * fps * BITRATE_BITS_PER_PIXEL_SECOND)
    codec.options = dict(X264_OPTIONS, **{"keyint_min": str(fps)})
    units: list[AccessUnit] = []
    pending: list[float] = []

    def collect(packets: list[av.Packet]) -> None:
        for packet in packets:
            nals = tuple(n for n in split_annexb(bytes(packet)) if n[0] & 0x1F != NAL_SEI)
            capture = pending.pop(0)
            units.append(AccessUnit(nals, capture, any(n[0] & 0x1F == NAL_IDR for n in nals)))

    for index in range(fps):
        capture_time = second + index / fps
        image = render(look, capture_time, size, index)
        # OpenCV's BGR->I420 is ~6x cheaper than swscale's bgr24->yuv420p for the same result
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        frame.pts = index
        pending.append(capture_time)
        collect(codec.encode(frame))
    collect(codec.encode(None))
    return Segment(second, tuple(units))


_params_lock = threading.Lock()
_params: dict[tuple[int, int, int], ParameterSets] = {}


def parameter_sets(size: tuple[int, int], fps: int) -> ParameterSets:
    """SPS/PPS for this size and rate (every segment uses the same ones); computed once."""
    key = (size[0], size[1], fps)
    with _params_lock:
        if key not in _params:
            segment = encode_segment(Look(seed=0, label="", mode="black"), size, fps, 0)
            _params[key] = parameter_sets_of(segment)
        return _params[key]


def parameter_sets_of(segment: Segment) -> ParameterSets:
    first = segment.units[0].nals
    sps = next(n for n in first if n[0] & 0x1F == NAL_SPS)
    pps = next(n for n in first if n[0] & 0x1F == NAL_PPS)
    return ParameterSets(sps, pps)


SegmentKey = tuple[Look, tuple[int, int], int, int]


class SegmentCache:
    """LRU of encoded segments, bounded in bytes, with one encode per key in flight."""

    def __init__(self, max_bytes: int = SEGMENT_CACHE_BYTES, threads: int = ENCODER_THREADS) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[SegmentKey, Segment] = OrderedDict()
        self._inflight: dict[SegmentKey, asyncio.Future[Segment]] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sim-encode")
        self.encoded = 0  # segments encoded since start (for benchmarks)

    async def get(self, look: Look, size: tuple[int, int], fps: int, second: int) -> Segment:
        key: SegmentKey = (look, size, fps, second)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        future = self._inflight.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._pool, encode_segment, look, size, fps, second)
            self._inflight[key] = future
            future.add_done_callback(lambda f, k=key: self._done(k, f))
        return await asyncio.shield(future)

    def prefetch(self, look: Look, size: tuple[int, int], fps: int, second: int) -> None:
        """Start encoding a segment we will need soon (fire and forget)."""
        key: SegmentKey = (look, size, fps, second)
        if key not in self._items and key not in self._inflight:
            task = asyncio.ensure_future(self.get(look, size, fps, second))
            task.add_done_callback(lambda t: t.exception())  # errors are seen by the real get()

    def _done(self, key: SegmentKey, future: asyncio.Future[Segment]) -> None:
        self._inflight.pop(key, None)
        if future.cancelled() or future.exception() is not None:
            return
        segment = future.result()
        self.encoded += 1
        self._items[key] = segment
        self._bytes += segment.size
        while self._bytes > self._max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.size

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
