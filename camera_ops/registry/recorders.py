"""A donated recorder (DVR/NVR) registers once; each of its channels becomes a camera.

- ONVIF recorders: one handshake; the recorder's video sources are its channels (profiles grouped
  by source, in the recorder's order). Every channel camera shares the recorder's credentials and
  identity: the recorder's MAC (and serial) plus the channel number.
- RTSP-only recorders: a stream URL template with ``{channel}`` (e.g. Dahua
  ``rtsp://host:554/cam/realmonitor?channel={channel}&subtype=0``); each channel asked for is
  checked by DESCRIBE + one decoded keyframe.

Channel cameras are named ``{code}-K{n}`` / ``{name} · kênh {n}``. A channel the recorder does not
have is refused naming ``channels`` (with the ones it has); nothing is saved unless every channel
asked for checks out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from camera_ops import audit
from camera_ops.audit import Actor
from camera_ops.errors import CameraError, CameraOpsError, CameraProtocolError, ValidationFailed
from camera_ops.registry.cameras import (
    CameraInput,
    _apply_handshake,
    _apply_rtsp_check,
    _check_duplicates,
    _check_stream_duplicate,
    _new_camera,
    _saved,
    _validate,
    learn_vendor_reach,
    normalize_mac,
    public_error,
    run_handshake,
    run_rtsp_check,
)
from camera_ops.settings import Settings
from camera_ops.registry.playback_clock import ClockChoice
from storage.models import Camera, CameraKind, PlaybackStyle, Watches

MAX_CHANNELS = 64  # the largest recorders sold for this use have 32–64 channels
RTSP_NOT_FOUND = 404


@dataclass
class RecorderInput:
    code: str  # the recorder's code; channel cameras are "{code}-K{n}"
    name: str
    area_id: int
    host: str
    username: str
    password: str
    onvif_port: int = 80
    kind: CameraKind = CameraKind.onvif  # onvif, or rtsp with stream_url_template
    channels: list[int] | None = None  # None: every channel the recorder has (ONVIF) — required for RTSP
    stream_url_template: str | None = None  # RTSP recorders: a URL with {channel}
    sub_stream_url_template: str | None = None
    rtsp_port: int | None = None
    http_port: int | None = None
    playback_style: PlaybackStyle | None = None
    playback_clock: ClockChoice = None  # None/"auto": by the playback style (see CameraInput)
    donor_id: int | None = None
    security_model_id: int | None = None
    watches: Watches = Watches.other
    note: str | None = None


@dataclass
class RecorderOutcome:
    cameras: list[Camera] = field(default_factory=list)
    handshake: dict[str, Any] | None = None
    error: CameraOpsError | None = None
    warnings: list[str] = field(default_factory=list)


def channel_code(code: str, channel: int) -> str:
    return f"{code.strip()}-K{channel}"


def _channel_input(data: RecorderInput, channel: int, **urls: str | None) -> CameraInput:
    return CameraInput(
        code=channel_code(data.code, channel), name=f"{data.name.strip()} · kênh {channel}", area_id=data.area_id,
        host=data.host, username=data.username, password=data.password, onvif_port=data.onvif_port,
        kind=CameraKind.rtsp if data.kind is CameraKind.rtsp else CameraKind.onvif, rtsp_port=data.rtsp_port,
        http_port=data.http_port, playback_style=data.playback_style, playback_clock=data.playback_clock,
        donor_id=data.donor_id, security_model_id=data.security_model_id, watches=data.watches, note=data.note,
        **urls,  # type: ignore[arg-type]
    )


def _check_channel_numbers(channels: list[int] | None) -> None:
    if channels is None:
        return
    if not channels or len(set(channels)) != len(channels):
        raise ValidationFailed("name each channel once", field="channels", key="err.recorder.channels_once")
    bad = [c for c in channels if not 1 <= c <= MAX_CHANNELS]
    if bad:
        raise ValidationFailed(f"channel {bad[0]} is outside 1–{MAX_CHANNELS}", field="channels",
                               key="err.recorder.channel_range", params={"channel": bad[0], "max": MAX_CHANNELS})


def register_recorder(
    session: Session, settings: Settings, data: RecorderInput, *, scope: Sequence[str] | None,
    actor: Actor | None = None, detailed_errors: bool = True,
) -> RecorderOutcome:
    """Register the recorder's channels as cameras; all or nothing (the caller's transaction)."""
    _check_channel_numbers(data.channels)
    if data.kind is CameraKind.rtsp:
        return _register_rtsp_recorder(session, settings, data, scope=scope, actor=actor,
                                       detailed_errors=detailed_errors)
    if data.kind is not CameraKind.onvif:
        raise ValidationFailed("a recorder is reached over ONVIF or RTSP", field="kind")
    _validate(session, _channel_input(data, 1), scope)  # host, ports, area, code before talking to it
    try:
        result = run_handshake(data.host, data.onvif_port, data.username, data.password, settings,
                               allow_plaintext=True)
    except CameraError as exc:
        return RecorderOutcome(error=public_error(exc, detailed_errors))
    found = result.to_dict()
    available = {c.channel: c for c in result.channels}
    if not available:
        raise ValidationFailed("this device has one video source: register it as a camera, not a recorder",
                               field="kind", key="err.recorder.one_source")
    wanted = data.channels or sorted(available)
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ValidationFailed(f"the recorder has no channel {missing[0]} (it has channels "
                               f"{', '.join(str(c) for c in sorted(available))})", field="channels",
                               details={"available": sorted(available)}, key="err.recorder.no_channel",
                               params={"channel": missing[0], "available": ", ".join(str(c) for c in sorted(available))})
    cameras = []
    for number in wanted:
        channel_data = _channel_input(data, number)
        area = _validate(session, channel_data, scope)
        camera = replace_kind(_new_camera(channel_data, area, settings), number)
        _check_duplicates(session, mac=normalize_mac(result.mac), serial=result.serial, exclude_id=None,
                          channel=number)
        _apply_handshake(camera, result, found, available[number])
        learn_vendor_reach(camera, data.password, settings)
        _saved(session, camera, actor, None)  # type: ignore[arg-type]
        cameras.append(camera)
    audit.record(session, actor, "recorder.register", target_type="camera", target_id=cameras[0].id,
                 target_label=data.code, message=f"{len(cameras)} channels")
    return RecorderOutcome(cameras=cameras, handshake=found, warnings=list(result.warnings))


def replace_kind(camera: Camera, channel: int) -> Camera:
    camera.kind = CameraKind.recorder_channel if camera.kind is CameraKind.onvif else camera.kind
    camera.channel = channel
    return camera


def _register_rtsp_recorder(
    session: Session, settings: Settings, data: RecorderInput, *, scope: Sequence[str] | None,
    actor: Actor | None, detailed_errors: bool,
) -> RecorderOutcome:
    template = (data.stream_url_template or "").strip()
    if "{channel}" not in template:
        raise ValidationFailed("give the channel stream address with {channel} where the number goes",
                               field="stream_url_template", key="err.recorder.template")
    if not data.channels:
        raise ValidationFailed("name the recorder's channels (an RTSP recorder cannot list them)", field="channels",
                               key="err.recorder.channels_required")
    sub_template = (data.sub_stream_url_template or "").strip() or None
    cameras, checks = [], []
    for number in data.channels:
        channel_data = _channel_input(data, number, stream_url=template.replace("{channel}", str(number)),
                                      sub_stream_url=sub_template.replace("{channel}", str(number))
                                      if sub_template else None)
        area = _validate(session, channel_data, scope)
        camera = replace_kind(_new_camera(channel_data, area, settings), number)
        _check_stream_duplicate(session, camera.main_stream_uri, exclude_id=None)
        try:
            check = run_rtsp_check(camera, data.password, settings)
        except CameraProtocolError as exc:
            if exc.details.get("status") == RTSP_NOT_FOUND:
                raise ValidationFailed(f"the recorder has no channel {number} (RTSP 404 at its stream address)",
                                       field="channels", details={"channel": number},
                                       key="err.recorder.no_channel_rtsp", params={"channel": number}) from exc
            return RecorderOutcome(error=public_error(exc, detailed_errors))
        except CameraError as exc:
            return RecorderOutcome(error=public_error(exc, detailed_errors))
        checks.append(_apply_rtsp_check(camera, check))
        learn_vendor_reach(camera, data.password, settings)
        cameras.append(camera)
    for camera in cameras:
        _saved(session, camera, actor, None)  # type: ignore[arg-type]
    return RecorderOutcome(cameras=cameras, handshake={"channels": checks})


__all__ = ["RecorderInput", "RecorderOutcome", "channel_code", "register_recorder"]
