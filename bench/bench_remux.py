"""In-process stream copy of a 10-minute 1080p H.264 recording: × realtime (target ≥ 1,000×).

Two paths, both into fragmented MP4 through a HashingSink (SHA-256 + SHA-512 of every byte):
  file    remux_file(): MP4 demux → MP4 mux (vendor playback / local files)
  rtp     RTP packets (pre-built, as a camera would send them) → our depacketizer →
          AccessUnitMuxer (ONVIF replay path, minus the socket)

The source is generated once with libx264 ultrafast into bench/out/ (gitignored): a static-ish
street-like scene with a moving block and sensor noise, FPS frames per second.

    python bench/bench_remux.py [--minutes 10] [--fps 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository (camera_ops, storage, tests)

from camera_ops.rtsp.depacketize import Depacketizer
from camera_ops.rtsp.packetize import packetize_access_unit
from camera_ops.rtsp.rtp import build_rtp, parse_rtp
from camera_ops.video.hashing import HashingSink
from camera_ops.video.remux import AccessUnitMuxer, remux_file
from camera_ops.video.testing import split_access_units

OUT = Path(__file__).parent / "out"
WIDTH, HEIGHT = 1920, 1080
GOP_S = 2  # cameras send a keyframe every 1–4 s


def generate(path: Path, minutes: float, fps: int) -> None:
    frames = int(minutes * 60 * fps)
    rng = np.random.default_rng(7)
    base = rng.integers(40, 200, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    raw = path.with_suffix(".h264")
    started = time.perf_counter()
    with av.open(str(raw), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast", "bf": "0", "g": str(GOP_S * fps), "crf": "26"}
        for index in range(frames):
            image = base.copy()
            x = (index * 12) % (WIDTH - 160)
            image[500:620, x : x + 160] = (230, 230, 230)
            image[::97, ::89] = rng.integers(0, 255, image[::97, ::89].shape, dtype=np.uint8)  # sensor noise
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-r", str(fps), "-i", str(raw), "-c", "copy", str(path)], check=True)
    print(f"generated {frames} frames in {time.perf_counter() - started:.0f} s → {path}", file=sys.stderr)


def rtp_packets(raw: Path, fps: int) -> tuple[list[bytes], str]:
    units = split_access_units(raw.read_bytes())
    packets: list[bytes] = []
    seq, ticks = 0, 90_000 // fps
    for number, nals in enumerate(units):
        payloads = packetize_access_unit("h264", nals)
        for part, payload in enumerate(payloads):
            packets.append(build_rtp(payload, sequence=seq, timestamp=number * ticks, marker=part == len(payloads) - 1))
            seq = (seq + 1) & 0xFFFF
    return packets, "h264"


class NullSink:
    def write(self, data: bytes) -> int:
        return len(data)


def bench_rtp(packets: list[bytes]) -> tuple[float, int, int]:
    sink = HashingSink()
    started = time.perf_counter()
    depacketizer = Depacketizer("h264")
    with AccessUnitMuxer(sink, "h264") as muxer:
        for raw in packets:
            for unit in depacketizer.push(parse_rtp(raw)):
                muxer.write(unit)
        for unit in depacketizer.flush():
            muxer.write(unit)
        facts = muxer.close()
    sink.close()
    return time.perf_counter() - started, facts.frame_count, sink.bytes_written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=10)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    source = OUT / f"remux_src_1080p_{args.minutes:g}min_{args.fps}fps.mp4"
    if not source.exists():
        generate(source, args.minutes, args.fps)
    duration_s = args.minutes * 60
    size_mb = source.stat().st_size / 1e6
    print(f"source: {source.name}, {size_mb:.0f} MB, {size_mb * 8 / duration_s:.2f} Mbit/s, {args.fps} fps")

    for label, make_sink in (
        ("file→fMP4 (no hashing)", NullSink),
        ("file→fMP4+SHA-256+SHA-512", HashingSink),
    ):
        best = min(_timed_file(source, make_sink) for _ in range(3))
        print(f"{label:40s}: {best:.3f} s = {duration_s / best:,.0f}× realtime ({size_mb / best:,.0f} MB/s)")

    packets, _ = rtp_packets(source.with_suffix(".h264"), args.fps)
    runs = [bench_rtp(packets) for _ in range(3)]
    seconds, frames, written = min(runs)
    print(
        f"{'RTP→depacketize→fMP4+SHA-256+SHA-512':40s}: {seconds:.3f} s = {duration_s / seconds:,.0f}× realtime "
        f"({len(packets) / seconds:,.0f} packets/s, {frames / seconds:,.0f} frames/s, {written / 1e6:.0f} MB out)"
    )


def _timed_file(source: Path, make_sink: Callable[[], Any]) -> float:
    started = time.perf_counter()
    sink = make_sink()
    remux_file(str(source), sink)
    if isinstance(sink, HashingSink):
        sink.close()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
