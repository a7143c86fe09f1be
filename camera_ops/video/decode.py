"""Decode one keyframe to JPEG (picture health when a camera has no snapshot URI).

This is the only place a picture is decoded and re-encoded; it never touches evidence.
"""

from __future__ import annotations

import av
import cv2
import numpy as np

from camera_ops.errors import CameraProtocolError
from camera_ops.rtsp.depacketize import AccessUnit
from camera_ops.rtsp.h26x import is_parameter_set, join_annexb
from camera_ops.rtsp.sdp import VideoTrack

JPEG_QUALITY = 85  # a health snapshot, not evidence


def keyframe_to_jpeg(track: VideoTrack, unit: AccessUnit) -> bytes:
    nals = list(unit.nal_units)
    if not any(is_parameter_set(track.codec, nal) for nal in nals):
        nals = [*track.parameter_sets, *nals]  # SPS/PPS only in the SDP
    decoder = av.CodecContext.create(track.codec, "r")
    try:
        frames = decoder.decode(av.Packet(join_annexb(nals))) + decoder.decode(None)
    except av.FFmpegError as exc:
        raise CameraProtocolError("keyframe could not be decoded") from exc
    if not frames:
        raise CameraProtocolError("keyframe decoded to no picture")
    image: np.ndarray = frames[0].to_ndarray(format="bgr24")
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise CameraProtocolError("keyframe could not be encoded as JPEG")
    return encoded.tobytes()
