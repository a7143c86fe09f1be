"""SDP (RFC 4566) as cameras send it in DESCRIBE answers: media, rtpmap, fmtp, control URLs.

Also pulls H.264 ``sprop-parameter-sets`` and H.265 ``sprop-vps/sps/pps`` out of ``a=fmtp`` and
resolves relative ``a=control`` against Content-Base (RFC 2326 C.1.1).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from urllib.parse import urljoin

from camera_ops.errors import CameraProtocolError, NoUsableStream
from camera_ops.rtsp.h26x import H264, H265, SpsInfo, nal_type, parse_sps

RTP_VIDEO_CLOCK_HZ = 90_000  # RFC 6184 / RFC 7798: H.264 and H.265 always use a 90 kHz clock
_CODEC_NAMES = {"H264": H264, "H265": H265, "HEVC": H265}


@dataclass
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[int]
    rtpmap: dict[int, tuple[str, int]] = field(default_factory=dict)  # pt → (encoding, clock Hz)
    fmtp: dict[int, dict[str, str]] = field(default_factory=dict)
    control: str | None = None
    framerate: float | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SessionDescription:
    control: str | None = None
    range: str | None = None
    media: list[MediaDescription] = field(default_factory=list)


@dataclass(frozen=True)
class VideoTrack:
    """What the client needs to set up and depacketize the video track."""

    codec: str  # "h264" | "hevc"
    payload_type: int
    clock_rate: int
    control_url: str
    parameter_sets: tuple[bytes, ...]  # NAL units (VPS, SPS, PPS) in decoding order
    width: int | None
    height: int | None
    framerate: float | None


def _parse_fmtp(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep:
            params[key.strip().lower()] = val.strip()
    return params


def parse_sdp(text: str) -> SessionDescription:
    session = SessionDescription()
    current: MediaDescription | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            parts = value.split()
            if len(parts) < 3:
                raise CameraProtocolError(f"malformed SDP media line {line[:80]!r}")
            try:
                formats = [int(fmt) for fmt in parts[3:] if fmt.isdigit()]
                current = MediaDescription(parts[0], int(parts[1].split("/")[0]), parts[2], formats)
            except ValueError as exc:
                raise CameraProtocolError(f"malformed SDP media line {line[:80]!r}") from exc
            session.media.append(current)
        elif kind == "a":
            name, _, attr = value.partition(":")
            _apply_attribute(session, current, name.strip(), attr.strip())
    return session


def _apply_attribute(
    session: SessionDescription, media: MediaDescription | None, name: str, value: str
) -> None:
    if media is None:
        if name == "control":
            session.control = value
        elif name == "range":
            session.range = value
        return
    media.attributes.append((name, value))
    if name == "control":
        media.control = value
    elif name == "framerate":
        try:
            media.framerate = float(value)
        except ValueError:
            pass
    elif name in ("rtpmap", "fmtp"):
        pt_text, _, rest = value.partition(" ")
        if not pt_text.isdigit():
            return
        if name == "fmtp":
            media.fmtp[int(pt_text)] = _parse_fmtp(rest)
            return
        encoding, _, clock = rest.partition("/")
        try:
            media.rtpmap[int(pt_text)] = (encoding.strip(), int(clock.split("/")[0]))
        except ValueError:
            media.rtpmap[int(pt_text)] = (encoding.strip(), RTP_VIDEO_CLOCK_HZ)


def resolve_control(base_url: str, control: str | None) -> str:
    """Absolute URL of a track: ``*`` or missing = the base itself; absolute stays; else join."""
    if not control or control == "*":
        return base_url
    if "://" in control:
        return control
    base = base_url if base_url.endswith("/") else base_url + "/"
    if "?" in base_url and not control.startswith("/"):
        # Dahua / KBVision: ``.../cam/realmonitor?channel=1&subtype=0/`` + ``trackID=0``. FFmpeg and
        # live555 append the control to the base; a URL join would drop the query (SETUP → 404).
        return base + control
    return urljoin(base, control)


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CameraProtocolError("bad base64 in SDP parameter sets") from exc


def parameter_sets(codec: str, fmtp: dict[str, str]) -> tuple[bytes, ...]:
    if codec == H264:
        values = [v for v in fmtp.get("sprop-parameter-sets", "").split(",") if v]
    else:
        values = [fmtp[key] for key in ("sprop-vps", "sprop-sps", "sprop-pps") if fmtp.get(key)]
        values = [item for value in values for item in value.split(",") if item]
    return tuple(nal for nal in (_b64(value) for value in values) if nal)


def _sps_info(codec: str, sets: tuple[bytes, ...]) -> SpsInfo | None:
    sps_type = 7 if codec == H264 else 33
    for nal in sets:
        if nal_type(codec, nal) == sps_type:
            try:
                return parse_sps(codec, nal)
            except (ValueError, IndexError):
                return None
    return None


def video_track(session: SessionDescription, base_url: str) -> VideoTrack:
    """The first H.264/H.265 video track; CameraProtocolError if the SDP has none."""
    session_base = resolve_control(base_url, session.control)
    for media in session.media:
        if media.media != "video":
            continue
        for pt in media.formats:
            encoding, clock = media.rtpmap.get(pt, ("", RTP_VIDEO_CLOCK_HZ))
            codec = _CODEC_NAMES.get(encoding.upper())
            if codec is None:
                continue
            sets = parameter_sets(codec, media.fmtp.get(pt, {}))
            info = _sps_info(codec, sets)
            return VideoTrack(
                codec=codec,
                payload_type=pt,
                clock_rate=clock,
                control_url=resolve_control(session_base, media.control),
                parameter_sets=sets,
                width=info.width if info else None,
                height=info.height if info else None,
                framerate=media.framerate,
            )
    offered = sorted({media.rtpmap.get(pt, (pt, 0))[0] or pt for media in session.media if media.media == "video"
                      for pt in media.formats})
    raise NoUsableStream(
        f"the stream offers no H.264/H.265 video ({', '.join(offered) or 'no video track'})",
        field="stream_url", details={"codecs": offered}, key="err.rtsp.no_h26x",
        params={"codecs": ", ".join(offered) or "-"},
    )
