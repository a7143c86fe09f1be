"""Retrieval of archived footage: HTTP byte ranges, and the rule that a retrieval is on the
ledger (committed) before its first byte is read from the store."""

from __future__ import annotations

import re
from dataclasses import dataclass

from camera_ops.errors import CameraOpsError, Conflict, NotFound
from storage.models_evidence import Clip, ClipStatus

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(CameraOpsError):
    code = "range_not_satisfiable"
    http_status = 416


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive
    partial: bool

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange:
    """One ``bytes=`` range (RFC 9110 14.1.2), or the whole object. Multiple ranges are served
    whole (allowed by the RFC), so players and download managers simply work."""
    whole = ByteRange(0, size - 1, False)
    if not header or "," in header:
        return whole
    match = _RANGE.match(header)
    if not match or not (match.group(1) or match.group(2)):
        return whole
    first, last = match.group(1), match.group(2)
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable("empty suffix range")
        return ByteRange(max(0, size - n), size - 1, True)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"range {header.strip()} is outside the {size}-byte clip")
    return ByteRange(start, end, True)


def require_archived(clip: Clip) -> None:
    if clip.status not in (ClipStatus.archived, ClipStatus.partial) or not clip.object_key:
        raise Conflict(f"clip {clip.id} is {clip.status.value}, not archived yet", key="err.clip.not_archived",
                       params={"id": clip.id})
    if clip.size_bytes is None:
        raise NotFound(f"clip {clip.id} has no stored object", key="err.clip.no_object", params={"id": clip.id})
