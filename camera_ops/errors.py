"""Errors we expect, named where they arise.

Every error a user can see derives from :class:`CameraOpsError`. Each carries a stable ``code``
(for clients and translations), a plain-language English ``message`` that never contains a secret
(logs, developers), optionally the ``field`` the user must fix, and — for what users meet — a
message ``key`` with its ``params``: the text a person reads is rendered from the catalogs in their
language (``camera_ops.error_text.error_message``), never taken from ``message``::

    raise ValidationFailed(f"name 1 to {n} cameras", field="camera_ids",
                           key="err.request.camera_count", params={"max": n})

The API maps them to HTTP in exactly one place (``api/errors.py``) using ``http_status``.
"""

from __future__ import annotations

import socket
from typing import Any


class CameraOpsError(Exception):
    """Base of every error a user may see."""

    code: str = "error"
    http_status: int = 400

    def __init__(self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None,
                 key: str | None = None, params: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}
        self.key = key  # message key in the catalogs (``err.*``); None: the code's generic text
        self.params = params or {}

    def to_dict(self) -> dict[str, Any]:
        """What is stored when an error is kept for later display (e.g. a camera's last handshake)."""
        return {"code": self.code, "field": self.field, "message": self.message, "key": self.key,
                "params": {k: v if isinstance(v, (int, float, str)) or v is None else str(v)
                           for k, v in self.params.items()}}


# --- generic -------------------------------------------------------------------------------------


class ValidationFailed(CameraOpsError):
    code = "validation_failed"
    http_status = 422


class NotFound(CameraOpsError):
    code = "not_found"
    http_status = 404


class Conflict(CameraOpsError):
    code = "conflict"
    http_status = 409


class NotAuthenticated(CameraOpsError):
    code = "not_authenticated"
    http_status = 401


class PermissionDenied(CameraOpsError):
    code = "permission_denied"
    http_status = 403


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated change without the CSRF header or from another origin."""

    code = "csrf_failed"


class ConfigurationError(CameraOpsError):
    code = "configuration_error"
    http_status = 500


class PasswordRequired(ValidationFailed):
    """A change that would send a camera's stored password somewhere new needs the password again."""

    code = "password_required"


class PasswordChangeRequired(PermissionDenied):
    """An administrator reset this user's password: nothing but changing it is allowed."""

    code = "password_change_required"


class TooManyAttempts(CameraOpsError):
    """Login throttled: too many failures for this username or client address."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: int, field: str | None = None, key: str | None = None,
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(message, field=field, details={"retry_after_s": retry_after_s}, key=key, params=params)
        self.retry_after_s = retry_after_s


# --- cameras (ONVIF / RTSP / HTTP snapshot) ------------------------------------------------------


class CameraError(CameraOpsError):
    """Something about talking to a camera went wrong."""

    code = "camera_error"
    http_status = 502


class CameraUnreachable(CameraError):
    """Nothing answers at host:port (refused, no route, DNS failure)."""

    code = "camera_unreachable"


# What the OS raises for "nothing answers there" (refused, reset, no route, DNS failure): each
# camera client turns these into CameraUnreachable naming the host.
UNREACHABLE_OS_ERRORS = (ConnectionRefusedError, ConnectionResetError, socket.gaierror, OSError)


class CameraNetworkRefused(CameraError):
    """The camera's address is outside the networks the server may connect cameras on."""

    code = "camera_network_refused"
    http_status = 422


class CameraTimeout(CameraUnreachable):
    """The camera accepted the connection (or not) but did not answer before the deadline."""

    code = "camera_timeout"


class NotOnvif(CameraError):
    """The port answers, but not as an ONVIF device service."""

    code = "not_onvif"


class CameraAuthFailed(CameraError):
    """The camera refused the username/password."""

    code = "camera_auth_failed"


class CameraProtocolError(CameraError):
    """The camera answered something we cannot parse (malformed SOAP, bad RTSP, bad SDP)."""

    code = "camera_protocol_error"


class NoUsableStream(CameraProtocolError):
    """An RTSP stream that offers no H.264/H.265 video (``details["codecs"]`` names what it offers)."""

    code = "no_usable_stream"


class NoUsableProfile(CameraError):
    """The camera offers no H.264/H.265 media profile."""

    code = "no_usable_profile"


class ReplayUnsupported(CameraError):
    """The camera cannot replay recorded footage (RTSP 551, no Profile G, no vendor playback)."""

    code = "replay_unsupported"


class ClipUnavailable(CameraError):
    """The footage asked for is not (entirely) on the camera, or the transfer broke off."""

    code = "clip_unavailable"


# --- storage -------------------------------------------------------------------------------------


class StorageError(CameraOpsError):
    code = "storage_error"
    http_status = 503


class StorageUnavailable(StorageError):
    code = "storage_unavailable"


class IntegrityError(StorageError):
    """Stored bytes do not hash to what was recorded."""

    code = "integrity_error"
    http_status = 500


class LedgerWriteFailed(StorageError):
    """The custody ledger could not be written; the retrieval it guards must not happen."""

    code = "ledger_write_failed"


# --- footage for cases (issue 5) -----------------------------------------------------------------


class NoFootage(ClipUnavailable):
    """The camera has no footage in the requested window (not a transfer problem: do not retry)."""

    code = "no_footage"
