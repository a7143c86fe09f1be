"""Registration check of an RTSP-only camera (ONVIF off or absent): what ONVIF's handshake is for
an ONVIF camera.

1. ``DESCRIBE`` the main stream: the codec (H.264/H.265) and picture size from the SDP;
2. play it until one keyframe and decode it (PyAV): proof that the video is real and readable;
3. the same for the sub stream, if given (picture health uses its keyframes when there is no
   snapshot URL);
4. fetch the snapshot URL, if given (HTTP digest, or basic when that is all the camera offers).

Each failure names the form field to fix: a wrong path (404) → the URL's field, refused
credentials → ``password``, no H.264/H.265 → the URL's field with the codec named, nothing
listening → ``rtsp_port``, nothing answering → ``host``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import cv2
import httpx
import numpy as np

from camera_ops.errors import (
    CameraAuthFailed,
    CameraError,
    CameraProtocolError,
    CameraTimeout,
    CameraUnreachable,
    NoUsableStream,
)
from camera_ops.netpolicy import pinned_url, resolve_camera_address
from camera_ops.rtsp.client import RtspProbeResult, grab_keyframe, rtsp_probe

HTTP_OK = 200
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
RTSP_NOT_FOUND = 404
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024  # as the monitor: a 4K JPEG is ~2 MB
JPEG_MAGIC = b"\xff\xd8"


@dataclass(frozen=True)
class StreamFacts:
    url: str
    codec: str  # "h264" | "hevc"
    width: int | None
    height: int | None
    framerate: float | None
    server: str | None
    auth_method: str | None  # "digest" | "basic" | None
    keyframe_width: int
    keyframe_height: int


@dataclass(frozen=True)
class RtspCheckResult:
    main: StreamFacts
    sub: StreamFacts | None
    snapshot_url: str | None
    snapshot_bytes: int | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field_error(exc: CameraError, url_field: str) -> CameraError:
    """The same error, naming the field the person must fix."""
    if isinstance(exc, CameraAuthFailed):
        exc.field = "password"
    elif isinstance(exc, NoUsableStream):
        exc.field = url_field
    elif isinstance(exc, CameraTimeout):
        exc.field = "host"
    elif isinstance(exc, CameraUnreachable):
        refused = isinstance(exc.__cause__, ConnectionRefusedError)
        exc.field = "rtsp_port" if refused or exc.details.get("dropped") else "host"
        if refused:
            exc.key, exc.params = "err.rtsp.refused", {"address": exc.params.get("address") or _address(exc)}
    elif isinstance(exc, CameraProtocolError) and exc.details.get("status") == RTSP_NOT_FOUND:
        exc.message = f"the camera has no stream at this path (RTSP 404): {exc.message}"
        exc.field, exc.key, exc.params = url_field, "err.rtsp.not_found", {}
    elif exc.field is None or exc.field == "stream_uri":
        exc.field = url_field
    return exc


def _address(exc: CameraError) -> str:
    """host:port from a connection error's message ("cannot connect to host:port ...")."""
    words = exc.message.split()
    return next((w.rstrip(":") for w in words if ":" in w.rstrip(":") and w[0].isalnum()), "")


def _picture_size(jpeg: bytes) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise CameraProtocolError("the keyframe could not be decoded")
    return int(image.shape[1]), int(image.shape[0])


async def check_stream(url: str, username: str, password: str, *, url_field: str, timeout_s: float) -> StreamFacts:
    try:
        probe: RtspProbeResult = await rtsp_probe(url, username, password, timeout_s=timeout_s)
        jpeg = await grab_keyframe(url, username, password, timeout_s=timeout_s)
        width, height = await asyncio.to_thread(_picture_size, jpeg)
    except CameraError as exc:
        raise _field_error(exc, url_field) from exc
    return StreamFacts(url=url, codec=probe.codec, width=probe.width or width, height=probe.height or height,
                       framerate=probe.framerate, server=probe.server, auth_method=probe.auth_method,
                       keyframe_width=width, keyframe_height=height)


async def check_snapshot(url: str, username: str, password: str, *, timeout_s: float) -> int:
    """Bytes of one JPEG from the snapshot URL; CameraError naming ``snapshot_url`` / ``password``."""
    parts = urlsplit(url)
    try:  # camera networks only, and to the address checked (the name is not looked up again)
        address = await resolve_camera_address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except CameraError as exc:
        raise _field_error(exc, "snapshot_url") from exc
    url, headers, extensions = pinned_url(url, address)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False) as client:
        try:
            response = await client.get(url, auth=httpx.DigestAuth(username, password), headers=headers,
                                        extensions=extensions)
            if response.status_code == HTTP_UNAUTHORIZED and "basic" in response.headers.get(
                    "www-authenticate", "").lower():
                response = await client.get(url, auth=httpx.BasicAuth(username, password), headers=headers,
                                            extensions=extensions)
        except httpx.TimeoutException as exc:
            raise CameraTimeout(f"the snapshot did not arrive within {timeout_s:g} s", field="snapshot_url",
                                key="err.snapshot.timeout", params={"seconds": timeout_s}) from exc
        except httpx.HTTPError as exc:
            raise CameraUnreachable(f"the snapshot URL cannot be reached ({exc.__class__.__name__})",
                                    field="snapshot_url", key="err.snapshot.unreachable") from exc
    if response.status_code == HTTP_UNAUTHORIZED:
        raise CameraAuthFailed("the camera refused the username/password for the snapshot", field="password",
                               key="err.snapshot.refused")
    if response.status_code != HTTP_OK:
        raise CameraProtocolError(f"the snapshot URL answered HTTP {response.status_code}", field="snapshot_url",
                                  details={"status": response.status_code}, key="err.snapshot.http_status",
                                  params={"status": response.status_code})
    body = response.content
    if len(body) > MAX_SNAPSHOT_BYTES or not body.startswith(JPEG_MAGIC):
        raise CameraProtocolError("the snapshot URL does not give a JPEG picture", field="snapshot_url",
                                  key="err.snapshot.not_jpeg")
    return len(body)


async def check_rtsp_camera(
    main_url: str, sub_url: str | None, snapshot_url: str | None, username: str, password: str, *,
    timeout_s: float,
) -> RtspCheckResult:
    main = await check_stream(main_url, username, password, url_field="stream_url", timeout_s=timeout_s)
    sub = None
    if sub_url:
        sub = await check_stream(sub_url, username, password, url_field="sub_stream_url", timeout_s=timeout_s)
    size = await check_snapshot(snapshot_url, username, password, timeout_s=timeout_s) if snapshot_url else None
    warnings = []
    if sub is None and snapshot_url is None:
        warnings.append("no sub stream and no snapshot URL: picture health decodes keyframes of the main stream")
    return RtspCheckResult(main=main, sub=sub, snapshot_url=snapshot_url, snapshot_bytes=size, warnings=warnings)
