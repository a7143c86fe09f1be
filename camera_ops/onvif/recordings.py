"""Ask an ONVIF camera (Profile G) how far back its recordings reach: the daily refresh.

A rare call (once a day per camera), so it uses the same onvif-zeep-async client as registration:
read the camera's clock (never change it), authenticate, find the search service, then
GetRecordingSummary (DataFrom / DataUntil), falling back to the recording search when the camera
has no summary. Times are returned on the camera's own clock with its offset, for
:func:`camera_ops.footage.reach.from_camera_clock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from onvif import ONVIFCamera

from camera_ops.errors import CameraProtocolError
from camera_ops.onvif.handshake import DEFAULT_TIMEOUT_S, NS_SEARCH, _Handshake
from camera_ops.onvif.rawsoap import get_system_date_and_time


@dataclass(frozen=True, slots=True)
class CameraRecordings:
    earliest: datetime  # camera clock
    latest: datetime
    clock_offset_s: float  # camera clock - true time, read just before


async def recording_summary(host: str, port: int, username: str, password: str, *,
                            timeout_s: float = DEFAULT_TIMEOUT_S) -> CameraRecordings:
    """Raises a CameraError (unreachable, auth, protocol) like the handshake does."""
    clock = await get_system_date_and_time(host, port, username=username, password=password, timeout_s=timeout_s)
    camera = ONVIFCamera(host, port, username, password, encrypt=True, no_cache=True, adjust_time=False)
    camera.dt_diff = timedelta(seconds=clock.clock_offset_s)
    state = _Handshake(camera, timeout_s)
    try:
        await state.authenticate()
        camera.xaddrs.update(await state.discover_services())
        if NS_SEARCH not in camera.xaddrs:
            raise CameraProtocolError("the camera offers no ONVIF recording search (Profile G)")
        search = await camera.create_search_service()
        summary = await state.optional("GetRecordingSummary", search.GetRecordingSummary)
        earliest, latest = getattr(summary, "DataFrom", None), getattr(summary, "DataUntil", None)
        if earliest is None or latest is None:
            _, earliest, latest = await state.find_recording()
    finally:
        await camera.close()
    if not isinstance(earliest, datetime) or not isinstance(latest, datetime):
        raise CameraProtocolError("the camera reported no recordings")
    return CameraRecordings(earliest, latest, clock.clock_offset_s)
