"""The ONVIF handshake result as the add-camera page shows it: one line per step, each found
(with the value read from the camera), failed (with what to fix) or not reached. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from camera_ops.error_text import ShownError
from camera_ops.errors import CameraOpsError

State = Literal["found", "failed", "skipped", "warning"]

STEPS: tuple[str, ...] = (
    "connect", "onvif", "login", "identity", "profiles", "stream", "snapshot", "replay", "clock",
)
# error code → (the step that failed, the fix message key)
FAILED_AT: dict[str, tuple[str, str]] = {
    "camera_unreachable": ("connect", "add.fix.host"),
    "camera_timeout": ("connect", "add.fix.host"),
    "not_onvif": ("onvif", "add.fix.port"),
    "camera_protocol_error": ("onvif", "add.fix.other"),
    "camera_auth_failed": ("login", "add.fix.password"),
    "no_usable_profile": ("profiles", "add.fix.profile"),
    "camera_error": ("onvif", "add.fix.other"),
}


@dataclass(frozen=True)
class StepLine:
    step: str  # key suffix of ``add.step.*``
    state: State
    value: str = ""
    fix_key: str | None = None  # message key of what to fix


RTSP_STEPS: tuple[str, ...] = ("rtsp_main", "rtsp_sub", "rtsp_snapshot")
# field of an RTSP-only error → (the step that failed, the fix message key)
RTSP_FAILED_AT: dict[str, tuple[str, str]] = {
    "stream_url": ("rtsp_main", "add.fix.stream_url"),
    "sub_stream_url": ("rtsp_sub", "add.fix.stream_url"),
    "snapshot_url": ("rtsp_snapshot", "add.fix.snapshot_url"),
    "password": ("rtsp_main", "add.fix.password"),
    "rtsp_port": ("rtsp_main", "add.fix.rtsp_port"),
    "host": ("rtsp_main", "add.fix.host"),
}


def describe_rtsp(check: dict[str, Any] | None, error: ShownError | CameraOpsError | None) -> list[StepLine]:
    """An RTSP-only camera's check, one line per stream."""
    if error is not None:
        if error.code == "conflict" or error.field not in RTSP_FAILED_AT:
            return [StepLine("input", "failed", error.message, "add.fix.other")]
        step, fix = RTSP_FAILED_AT[error.field]
        index = RTSP_STEPS.index(step)
        return ([StepLine(s, "found") for s in RTSP_STEPS[:index]] + [StepLine(step, "failed", error.message, fix)]
                + [StepLine(s, "skipped") for s in RTSP_STEPS[index + 1:]])
    if check is None:
        return []
    lines = []
    for step, key in (("rtsp_main", "main"), ("rtsp_sub", "sub")):
        facts = check.get(key)
        if facts:
            lines.append(StepLine(step, "found", f"{str(facts['codec']).upper()} {facts['keyframe_width']}×"
                                                 f"{facts['keyframe_height']} · {facts['url']}"))
        else:
            lines.append(StepLine(step, "warning"))
    snapshot = check.get("snapshot_url")
    lines.append(StepLine("rtsp_snapshot", "found" if snapshot else "warning", str(snapshot or "")))
    return lines


def describe(handshake: dict[str, Any] | None, error: ShownError | CameraOpsError | None, *, host: str, port: int,
             username: str, clock_warning_s: float) -> list[StepLine]:
    if error is not None and error.code in ("conflict",) and handshake is None:
        return [StepLine("duplicate", "failed", error.message, "add.fix.duplicate")]
    if error is not None and error.code not in FAILED_AT:
        return [StepLine("input", "failed", error.message, "add.fix.other")]
    if error is not None:
        failed_step, fix = FAILED_AT[error.code]
        if error.details.get("speaks") == "rtsp":
            fix = "add.fix.rtsp_port_onvif"
        elif error.code == "camera_timeout" and error.field == "port":  # listens, but not ONVIF
            failed_step, fix = "onvif", "add.fix.port"
        index = STEPS.index(failed_step)
        reached = [StepLine(s, "found") for s in STEPS[:index]]
        return reached + [StepLine(failed_step, "failed", error.message, fix)] + [
            StepLine(s, "skipped") for s in STEPS[index + 1:]]
    if handshake is None:
        return []
    return _found(handshake, host=host, port=port, username=username, clock_warning_s=clock_warning_s)


def _found(h: dict[str, Any], *, host: str, port: int, username: str, clock_warning_s: float) -> list[StepLine]:
    identity = " · ".join(str(v) for v in (h.get("manufacturer"), h.get("model"), h.get("firmware")) if v)
    ids = ", ".join(f"{k.upper()} {h[k]}" for k in ("mac", "serial") if h.get(k))
    profiles = "; ".join(_profile(p) for p in h.get("profiles") or [])
    offset = float(h.get("clock_offset_s") or 0.0)
    replay = h.get("replay_uri") if h.get("profile_g") else None
    return [
        StepLine("connect", "found", f"{host}:{port}"),
        StepLine("onvif", "found", f"WS-Security {h.get('auth_method', '')}".strip()),
        StepLine("login", "found", username),
        StepLine("identity", "found", f"{identity} ({ids})" if ids else identity),
        StepLine("profiles", "found", profiles),
        StepLine("stream", "found", str(h.get("main_stream_uri") or "")),
        StepLine("snapshot", "found" if h.get("snapshot_uri") else "warning", str(h.get("snapshot_uri") or "")),
        StepLine("replay", "found" if replay else "warning", str(replay or "")),
        StepLine("clock", "warning" if abs(offset) > clock_warning_s else "found", f"{offset:+.0f} s"),
    ]


def _profile(p: Any) -> str:
    if not isinstance(p, dict):
        return str(p)
    size = f"{p.get('width')}×{p.get('height')}" if p.get("width") else ""
    fps = f"{p.get('fps'):g} fps" if p.get("fps") else ""
    return " ".join(x for x in (str(p.get("name") or p.get("token") or ""), str(p.get("encoding") or "").upper(),
                                size, fps) if x)
