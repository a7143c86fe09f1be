"""camera-ops: operations service for the community "Camera an ninh" model."""

__version__ = "0.1.0"
