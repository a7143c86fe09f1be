"""Pull one camera's footage for a true-UTC window into a local spool file, stream copy only.

1. Measure the camera's clock offset (raw SOAP ``GetSystemDateAndTime``) and translate the window
   into camera time: ``camera = true UTC + offset``. The camera's clock is never touched.
2. Fetch by the camera's method — ONVIF replay through our RTSP client (``Require: onvif-replay``,
   ``Range: clock=``, ``Rate-Control: no``), a vendor playback URL read with PyAV, or the live
   stream for a window that is now or ahead — and mux the packets unchanged into fragmented MP4,
   hashing SHA-256/512 on the way to the spool file.
3. Measure the offset again; record both.

Failures are named: ``ReplayUnsupported`` (551), ``ClipUnavailable`` (no footage, transfer broke
off, delivered footage outside the window), ``CameraUnreachable``/``CameraTimeout`` (offline).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import av

from camera_ops import __version__
from camera_ops.errors import (
    CameraAuthFailed,
    CameraProtocolError,
    ClipUnavailable,
    NoFootage,
    NotOnvif,
)
from camera_ops.onvif.rawsoap import get_system_date_and_time
from camera_ops.rtsp.client import ReplayRequest, RtspSession
from camera_ops.video.facts import ClipFacts
from camera_ops.video.hashing import HashingSink
from camera_ops.video.remux import AccessUnitMuxer, remux_url
from storage.models_evidence import AcquisitionMethod

RTSP_TIMEOUT_S = 10.0  # connect / each RTSP answer
IDLE_TIMEOUT_S = 10.0  # camera silent this long mid-transfer: the transfer broke
CLOCK_TIMEOUT_S = 5.0
START_TOLERANCE_S = 2.0  # playback starts at the keyframe at or before the start (GOP ≤ 2 s)
END_TOLERANCE_S = 1.5  # the last frame may end this far before the requested end
RTSP_NO_FOOTAGE = 457  # "Invalid Range": the camera has nothing in that window
PROGRESS_EVERY_S = 5.0
# ONVIF gives the camera's time in whole seconds: a measured offset smaller than that is noise
# (truncation alone reads a correct clock as up to 1 s slow). Smaller offsets are recorded, not applied.
CLOCK_RESOLUTION_S = 1.0


@dataclass(frozen=True)
class CameraTarget:
    """Where and how to reach the camera (built from the registry row, password decrypted)."""

    code: str
    host: str
    onvif_port: int
    username: str
    password: str
    main_stream_uri: str | None
    replay_uri: str | None
    playback_url_template: str | None
    registered_offset_s: float | None
    onvif: bool = True
    playback_tz: str | None = None  # the playback template's times in this zone (None: UTC)


@dataclass
class Acquired:
    method: AcquisitionMethod
    camera_start: datetime
    camera_end: datetime
    offset_before_s: float
    offset_after_s: float | None
    offset_measured: bool
    offset_applied_s: float
    facts: dict[str, Any]
    gaps: list[dict[str, Any]]
    sha256: str
    sha512: str
    size: int
    tool_versions: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["method"] = self.method.value
        data["camera_start"], data["camera_end"] = self.camera_start.isoformat(), self.camera_end.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Acquired:
        data = dict(data)
        data["method"] = AcquisitionMethod(data["method"])
        data["camera_start"] = datetime.fromisoformat(data["camera_start"])
        data["camera_end"] = datetime.fromisoformat(data["camera_end"])
        return cls(**data)


def tool_versions() -> dict[str, str]:
    formats = av.library_versions.get("libavformat", ())
    return {"camera-ops": __version__, "pyav": av.__version__,
            "libavformat": ".".join(str(v) for v in formats)}


async def measure_offset(target: CameraTarget) -> tuple[float, bool]:
    """(camera − true UTC in seconds, measured now?). Cameras without ONVIF time fall back to the
    offset measured at registration, and say so."""
    if not target.onvif:
        return target.registered_offset_s or 0.0, False
    try:
        answer = await get_system_date_and_time(
            target.host, target.onvif_port, username=target.username, password=target.password,
            clock_offset_s=target.registered_offset_s or 0.0, timeout_s=CLOCK_TIMEOUT_S,
        )
    except (NotOnvif, CameraProtocolError, CameraAuthFailed):
        return target.registered_offset_s or 0.0, False
    return answer.clock_offset_s, True


async def acquire(
    target: CameraTarget, method: AcquisitionMethod, start: datetime, end: datetime, spool: Path,
    *, progress: Any = None,
) -> Acquired:
    """Fetch [start, end) (true UTC) into ``spool``; the caller decides archived / partial."""
    offset, measured = await measure_offset(target)
    applied = offset if abs(offset) >= CLOCK_RESOLUTION_S else 0.0
    shift = timedelta(seconds=applied)
    cam_start, cam_end = start + shift, end + shift
    with spool.open("wb") as out:
        sink = HashingSink(out)
        if method is AcquisitionMethod.onvif_replay:
            facts = await _replay(target, cam_start, cam_end, sink, progress)
        elif method is AcquisitionMethod.vendor_playback:
            facts = await asyncio.to_thread(_playback, target, cam_start, cam_end, sink)
        else:
            facts = await _live(target, cam_start, cam_end, applied, sink, progress)
        out.flush()
    offset_after, measured_after = await measure_offset(target)
    notes = [] if measured else ["camera clock not measurable now; offset from registration used"]
    # Only ONVIF replay says where the recording ends (T/E flags); a vendor or live stream that
    # stops early was cut off, and a cut-off transfer is never archived as if it were the clip.
    gaps = check_coverage(facts, cam_start, cam_end, trust_end=method is AcquisitionMethod.onvif_replay)
    return Acquired(
        method=method, camera_start=cam_start, camera_end=cam_end, offset_before_s=offset,
        offset_after_s=offset_after if measured_after else None, offset_measured=measured,
        offset_applied_s=applied,
        facts=facts.to_dict(), gaps=gaps, sha256=sink.sha256, sha512=sink.sha512, size=sink.bytes_written,
        tool_versions=tool_versions(), notes=notes,
    )


def check_coverage(
    facts: ClipFacts, cam_start: datetime, cam_end: datetime, *, trust_end: bool = True
) -> list[dict[str, Any]]:
    """Gaps of the delivered clip against the window (camera time). Footage entirely outside the
    window is not a clip: ``ClipUnavailable``."""
    first, last = facts.first_frame_time, facts.last_frame_time
    if not isinstance(first, datetime) or not isinstance(last, datetime) or facts.frame_count == 0:
        raise NoFootage("the camera delivered no dated frames", key="err.acquire.no_frames")
    if first >= cam_end or last < cam_start - timedelta(seconds=START_TOLERANCE_S):
        raise NoFootage(
            f"the camera delivered footage from {first.isoformat()} to {last.isoformat()}, "
            f"outside the requested window {cam_start.isoformat()}–{cam_end.isoformat()}"
        )
    gaps = [{"start": g["start"], "end": g["end"], "seconds": round(g["seconds"], 3), "reason": g["reason"]}
            for g in facts.to_dict()["gaps"]]
    if first > cam_start + timedelta(seconds=START_TOLERANCE_S):
        gaps.insert(0, {"start": cam_start.isoformat(), "end": first.isoformat(),
                        "seconds": round((first - cam_start).total_seconds(), 3), "reason": "missing_at_start"})
    frame_end = last + timedelta(seconds=facts.duration_s - (last - first).total_seconds())
    if frame_end < cam_end - timedelta(seconds=END_TOLERANCE_S):
        if not trust_end:
            raise ClipUnavailable(f"the transfer stopped at {frame_end.isoformat()}, before the requested end "
                                  f"{cam_end.isoformat()}")
        gaps.append({"start": last.isoformat(), "end": cam_end.isoformat(),
                     "seconds": round((cam_end - last).total_seconds(), 3), "reason": "missing_at_end"})
    return gaps


def _tick(progress: Any, last: float) -> float:
    now = time.monotonic()
    if progress is not None and now - last >= PROGRESS_EVERY_S:
        progress()
        return now
    return last


async def _replay(target: CameraTarget, cam_start: datetime, cam_end: datetime, sink: HashingSink, progress: Any) -> ClipFacts:
    if not target.replay_uri:
        raise ClipUnavailable(f"camera {target.code} has no replay address",
                              key="err.acquire.no_replay", params={"camera": target.code})
    replay = ReplayRequest(start=cam_start, end=cam_end, rate_control=False)
    try:
        async with RtspSession(target.replay_uri, target.username, target.password, timeout_s=RTSP_TIMEOUT_S,
                               idle_timeout_s=IDLE_TIMEOUT_S, replay=replay) as session:
            assert session.track is not None
            muxer = AccessUnitMuxer(sink, session.track.codec, parameter_sets=session.track.parameter_sets)
            with muxer:
                last = time.monotonic()
                async for unit in session.access_units():
                    if unit.ntp_time is not None and unit.ntp_time >= cam_end:
                        continue  # the camera may run past the end; the clip is the window
                    muxer.write(unit)
                    last = _tick(progress, last)
                return muxer.close()
    except CameraProtocolError as exc:
        raise _no_footage(exc) from exc


def _no_footage(exc: CameraProtocolError) -> CameraProtocolError | NoFootage:
    if exc.details.get("status") == RTSP_NO_FOOTAGE:
        return NoFootage("the camera has no footage in the requested window", key="err.acquire.no_footage")
    return exc


def _with_credentials(url: str, username: str, password: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest.split("/", 1)[0]:
        return url
    return f"{scheme}{sep}{quote(username, safe='')}:{quote(password, safe='')}@{rest}"


def playback_url(template: str, cam_start: datetime, cam_end: datetime, tz: str | None) -> str:
    """The template filled with the window on the camera's clock, as UTC or as local time ``tz``
    (cameras set to local time read the playback times as local, whatever the template says)."""
    if tz is not None:
        zone = ZoneInfo(tz)
        cam_start, cam_end = cam_start.astimezone(zone), cam_end.astimezone(zone)
    return template.format(start=cam_start, end=cam_end)


def _playback(target: CameraTarget, cam_start: datetime, cam_end: datetime, sink: HashingSink) -> ClipFacts:
    if not target.playback_url_template:
        raise ClipUnavailable(f"camera {target.code} has no playback address", key="err.acquire.no_playback",
                              params={"camera": target.code})
    url = playback_url(target.playback_url_template, cam_start, cam_end, target.playback_tz)
    # The playback starts at the keyframe at or before the start: anchor frame times there.
    anchor = cam_start.replace(microsecond=0)
    return remux_url(_with_credentials(url, target.username, target.password), sink, start=anchor, end=cam_end,
                     timeout_s=RTSP_TIMEOUT_S)


async def _live(
    target: CameraTarget, cam_start: datetime, cam_end: datetime, offset_s: float, sink: HashingSink, progress: Any
) -> ClipFacts:
    if not target.main_stream_uri:
        raise ClipUnavailable(f"camera {target.code} has no stream address",
                              key="err.request.no_stream", params={"camera": target.code})

    def camera_now() -> datetime:
        from storage.types import utcnow

        return utcnow() + timedelta(seconds=offset_s)

    wait = (cam_start - camera_now()).total_seconds()
    if wait > 0:
        await asyncio.sleep(wait)
    async with RtspSession(target.main_stream_uri, target.username, target.password, timeout_s=RTSP_TIMEOUT_S,
                           idle_timeout_s=IDLE_TIMEOUT_S) as session:
        assert session.track is not None
        first_at: datetime | None = None
        muxer: AccessUnitMuxer | None = None
        last = time.monotonic()
        try:
            async for unit in session.access_units():
                now = camera_now()
                if now >= cam_end:
                    break
                if muxer is None:
                    if not unit.keyframe:
                        continue
                    first_at = now  # live frames carry no wall clock: date them on arrival
                    muxer = AccessUnitMuxer(sink, session.track.codec, parameter_sets=session.track.parameter_sets,
                                            start_time=first_at)
                muxer.write(unit)
                last = _tick(progress, last)
        except BaseException:
            if muxer is not None:
                muxer.abort()
            raise
        if muxer is None:
            raise ClipUnavailable("the live stream gave no keyframe inside the window", key="err.acquire.no_keyframe")
        return muxer.close()
