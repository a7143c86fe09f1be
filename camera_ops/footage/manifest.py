"""The manifest stored beside each clip: everything a court needs to know about where the bytes
came from, readable without camera-ops. UTF-8 JSON (Vietnamese kept as is), keys sorted."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from camera_ops.footage.acquire import Acquired
from storage.models import Camera
from storage.models_evidence import Case, Clip, ClipRequest

MANIFEST_FORMAT = "camera-ops evidence manifest v1"
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def clip_prefix(clip: Clip) -> str:
    return f"cases/{clip.case_id}/clip-{clip.id}/"


def object_key(clip: Clip, camera: Camera) -> str:
    """Deterministic: the same clip always maps to the same key (never two objects per clip)."""
    code = _UNSAFE_KEY_CHARS.sub("_", camera.code).strip("_") or f"camera-{camera.id}"
    return f"{clip_prefix(clip)}{code}-{clip.start_at:%Y%m%dT%H%M%SZ}.mp4"


def manifest_key(clip: Clip) -> str:
    return f"{clip_prefix(clip)}manifest.json"


def object_metadata(clip: Clip, camera: Camera, acquired: Acquired) -> dict[str, str]:
    """US-ASCII only: the facts needed to re-adopt an object after a crash."""
    return {
        "sha256": acquired.sha256, "sha512": acquired.sha512, "case-id": str(clip.case_id),
        "clip-id": str(clip.id), "camera-mac": camera.mac or "", "method": acquired.method.value,
    }


def build_manifest(
    *, case: Case, clip: Clip, request: ClipRequest, camera: Camera, acquired: Acquired, key: str,
    version_id: str | None, retention_until: datetime, legal_hold: bool, created_at: datetime,
) -> dict[str, Any]:
    facts = acquired.facts
    return {
        "format": MANIFEST_FORMAT,
        "created_at": created_at.isoformat(),
        "case": {"id": case.id, "number": case.number, "unit": case.unit, "title": case.title,
                 "legal_basis": case.legal_basis},
        "request": {"id": request.id, "purpose": request.purpose, "requested_by": request.requested_by.username,
                    "requested_at": request.created_at.isoformat(), "live": request.live},
        "camera": {"code": camera.code, "name": camera.name, "manufacturer": camera.manufacturer,
                   "model": camera.device_model, "firmware": camera.firmware, "serial": camera.serial,
                   "mac": camera.mac, "area": camera.area.name if camera.area else None},
        "requested_window_utc": {"start": clip.start_at.isoformat(), "end": clip.end_at.isoformat()},
        "camera_window": {"start": acquired.camera_start.isoformat(), "end": acquired.camera_end.isoformat(),
                          "note": "camera clock = true UTC + clock offset"},
        "clock_offset_s": {"before": acquired.offset_before_s, "after": acquired.offset_after_s,
                           "measured": acquired.offset_measured, "applied": acquired.offset_applied_s,
                           "note": "camera − true UTC; applied only when at least the camera's 1 s resolution"},
        "delivered": {"first_frame": facts.get("first_frame_time"), "last_frame": facts.get("last_frame_time"),
                      "frame_count": facts.get("frame_count"), "keyframes": facts.get("keyframe_count"),
                      "codec": facts.get("codec"), "width": facts.get("width"), "height": facts.get("height"),
                      "duration_s": facts.get("duration_s"), "time_source": facts.get("time_source"),
                      "gaps": acquired.gaps, "damaged_frames": facts.get("damaged_frames"),
                      "packets_lost": facts.get("packets_lost")},
        "method": acquired.method.value,
        "processing": "stream copy into fragmented MP4; packets are the camera's own, never re-encoded",
        "tool_versions": acquired.tool_versions,
        "notes": acquired.notes,
        "object": {"key": key, "version_id": version_id, "size_bytes": acquired.size, "sha256": acquired.sha256,
                   "sha512": acquired.sha512, "content_type": "video/mp4"},
        "retention_until": retention_until.isoformat(),
        "legal_hold": legal_hold,
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
