"""Named crash points for deterministic crash tests of the archive pipeline.

Production code calls :func:`reached` at each point; nothing happens unless a test process
installed a hook (:func:`crash_at`), which then ends the process on the spot with ``os._exit`` — no
``finally``, no cleanup, like a kill -9 or a power cut. Points, in pipeline order:

``after_pull``        the clip is pulled into this attempt's own file; the job's lease not yet re-checked
``after_spool``       the clip is pulled and spooled with its facts, nothing uploaded yet
``during_upload``     the store has read part of the clip
``after_object``      the object exists in the store, its sidecar does not yet (local store)
``after_sidecar``     the object and its sidecar/metadata are stored
``before_final``      the manifest is stored; the final database transaction has not run
"""

from __future__ import annotations

import os
from collections.abc import Callable

POINTS = ("after_pull", "after_spool", "during_upload", "after_object", "after_sidecar", "before_final")
CRASH_EXIT = 86  # the exit status of a process killed at a crash point (any value tests can tell apart)
_hook: Callable[[str], None] | None = None


def reached(point: str) -> None:
    if _hook is not None:
        _hook(point)


def crash_at(point: str) -> None:
    """Install a hook that kills this process when ``point`` is reached (tests only)."""
    global _hook
    if point not in POINTS:
        raise ValueError(f"unknown crash point {point!r}; one of {', '.join(POINTS)}")

    def hook(reached_point: str) -> None:
        if reached_point == point:
            os._exit(CRASH_EXIT)

    _hook = hook
