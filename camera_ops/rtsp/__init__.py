"""Our own small asyncio RTSP/RTP client.

FFmpeg's RTSP client cannot do ONVIF replay (``Require: onvif-replay``, ``Range: clock=``) and
drops RTP header extensions, so replay, probing and keyframe grabs go through this package.
Public entry points live in :mod:`camera_ops.rtsp.client`.
"""

from camera_ops.rtsp.client import (
    AuthCache,
    ReplayRequest,
    RtspProbeResult,
    RtspSession,
    grab_keyframe,
    rtsp_probe,
)
from camera_ops.rtsp.depacketize import AccessUnit

__all__ = ["AccessUnit", "AuthCache", "ReplayRequest", "RtspProbeResult", "RtspSession", "grab_keyframe", "rtsp_probe"]
