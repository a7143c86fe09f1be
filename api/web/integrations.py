"""Which of the capabilities built in parallel (health monitoring, footage, reports) are installed.

Checked once, at first use: a page shows a plain "chưa có" (not yet) section for a missing module
instead of pretending. Nothing here fakes data.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from types import ModuleType

PROBLEM_FUNCTIONS = ("acknowledge", "assign", "close")


def _optional(name: str, *functions: str) -> ModuleType | None:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module if all(hasattr(module, f) for f in functions) else None


@lru_cache(maxsize=1)
def problem_actions() -> ModuleType | None:
    """The monitor's service for acknowledging, assigning and closing problems."""
    return _optional("camera_ops.alerts.problems", "get_problem", *PROBLEM_FUNCTIONS)


@lru_cache(maxsize=1)
def maintenance_switch() -> ModuleType | None:
    """The monitor's maintenance switch (also closes the open problem and dates the change)."""
    return _optional("camera_ops.monitor.summary", "switch_maintenance")


@lru_cache(maxsize=1)
def footage() -> ModuleType | None:
    return _optional("camera_ops.footage.requests", "create_request")


@lru_cache(maxsize=1)
def reports() -> ModuleType | None:
    return _optional("camera_ops.reports.coverage", "coverage_report")
