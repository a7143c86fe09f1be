"""ONVIF client side: the registration handshake (onvif-zeep-async) and the cheap raw-SOAP probe."""

from camera_ops.onvif.handshake import HandshakeResult, MediaProfile, handshake
from camera_ops.onvif.rawsoap import CameraTime, build_wsse_header, get_system_date_and_time

__all__ = ["CameraTime", "HandshakeResult", "MediaProfile", "build_wsse_header", "get_system_date_and_time", "handshake"]
