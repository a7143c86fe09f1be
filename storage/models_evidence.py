"""Footage-for-cases tables (issue 5)."""

from __future__ import annotations
