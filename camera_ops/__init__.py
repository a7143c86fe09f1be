"""camera-ops: operations service for the community "Camera an ninh" model."""

from camera_ops import logsafe

__version__ = "0.1.0"

logsafe.install()  # camera passwords never reach a log, not even a library's DEBUG log
