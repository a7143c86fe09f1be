"""Simulated ONVIF/RTSP cameras with injectable faults (see ``testing.running_fleet``, ``cli.sim``)."""

from camera_ops.sim.camera import SimCameraInfo
from camera_ops.sim.faults import Faults
from camera_ops.sim.fleet import Fleet
from camera_ops.sim.spec import CameraSpec, default_specs, load_fleet_file

__all__ = ["CameraSpec", "Faults", "Fleet", "SimCameraInfo", "default_specs", "load_fleet_file"]
