"""Make small, deterministic test footage with PyAV's bundled encoders (tests and benches only)."""

from __future__ import annotations

import io

import av
import numpy as np

from camera_ops.rtsp.h26x import H264, split_annexb

ENCODER_FOR_CODEC = {H264: "libx264", "hevc": "libx265"}


def encode_clip(
    codec: str = H264, *, frames: int = 50, width: int = 320, height: int = 240, fps: int = 25,
    gop: int = 25, preset: str = "ultrafast",
) -> bytes:
    """An Annex-B elementary stream (no B-frames, like most IP cameras) of a moving square."""
    buf = io.BytesIO()
    fmt = "h264" if codec == H264 else "hevc"
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(ENCODER_FOR_CODEC[codec], rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == H264:
            stream.codec_context.options = {"preset": preset, "bf": "0", "g": str(gop), "threads": "1"}
        else:
            stream.codec_context.options = {
                "preset": preset,
                "x265-params": f"bframes=0:keyint={gop}:min-keyint={gop}:log-level=error:pools=1:frame-threads=1",
            }
        for index in range(frames):
            image = np.full((height, width, 3), 40 + (index * 3) % 150, np.uint8)
            x = (index * 4) % max(1, width - 32)
            image[16:48, x : x + 32] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def split_access_units(elementary: bytes, codec: str = H264) -> list[list[bytes]]:
    """Annex-B stream → access units (lists of NAL units) using FFmpeg's own parser."""
    with av.open(io.BytesIO(elementary), format="h264" if codec == H264 else "hevc") as source:
        return [split_annexb(bytes(packet)) for packet in source.demux() if packet.size]
