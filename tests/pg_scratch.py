"""A PostgreSQL database of a test's own, next to the suite's shared one (which must stay at head)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DB_ENV


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>`` on the suite's PostgreSQL server, yield its URL, drop it after.
    Skips the test when the suite does not run on PostgreSQL."""
    base = os.environ.get(TEST_DB_ENV, "")
    if not base.startswith("postgresql"):
        pytest.skip("PostgreSQL runs with the db-marked suite")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
