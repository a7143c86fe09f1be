"""Short-lived links to an archived clip, served through camera-ops (issue 11).

A direct (presigned) link to the store would let anyone download the clip, unlogged, as often as
they like until it expires. Our links are signed tokens (HS256 with the service's JWT key, its own
audience) naming the clip, the officer who asked for it and the purpose; each use goes through
``GET /api/v1/links/{token}``, which checks that officer may still retrieve the clip and writes a
``downloaded`` event before the first byte.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from camera_ops.errors import CameraOpsError, NotFound
from camera_ops.settings import Settings
from storage.models import User
from storage.types import utcnow

AUDIENCE = "camera-ops clip link"
ALGORITHM = "HS256"


class LinkExpired(CameraOpsError):
    code = "link_expired"
    http_status = 410


@dataclass(frozen=True)
class Link:
    token: str
    link_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Grant:
    link_id: str
    clip_id: int
    user_id: int
    purpose: str


def issue_link(settings: Settings, user: User, clip_id: int, purpose: str, seconds: int) -> Link:
    expires = utcnow() + timedelta(seconds=seconds)
    link_id = uuid.uuid4().hex
    claims = {"aud": AUDIENCE, "jti": link_id, "clip": clip_id, "uid": user.id, "purpose": purpose,
              "exp": int(expires.timestamp())}
    return Link(jwt.encode(claims, settings.jwt_key, algorithm=ALGORITHM), link_id, expires)


def read_link(settings: Settings, token: str) -> Grant:
    try:
        claims = jwt.decode(token, settings.jwt_key, algorithms=[ALGORITHM], audience=AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise LinkExpired("this link has expired; ask for a new one") from exc
    except jwt.InvalidTokenError as exc:
        raise NotFound("no such link", field="token", key="err.clip.link_missing") from exc
    return Grant(str(claims["jti"]), int(claims["clip"]), int(claims["uid"]), str(claims["purpose"]))
