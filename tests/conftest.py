"""Shared fixtures.

Database tests run on SQLite by default and on PostgreSQL when CAMERA_OPS_TEST_DATABASE_URL is
set (``.ci/run`` does both). The schema is built once per session by the real Alembic migrations;
every test starts from empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from camera_ops.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import Base
from storage import models_all  # noqa: F401  (every table, for truncation)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

TEST_DB_ENV = "CAMERA_OPS_TEST_DATABASE_URL"
pytest_plugins = ["camera_ops.sim.pytest_plugin"]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests create and log in many users: argon2 at its production cost would dominate them.
    (The production parameters stay in camera_ops.security; verification reads them from the hash.)"""
    from argon2 import PasswordHasher

    from camera_ops import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get(TEST_DB_ENV)
    if url:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker and url.startswith("postgresql"):
            return _worker_database(url, worker)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


def _worker_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker gets a database of its own on the same server
    (``<name>_<worker>``, made when missing): the suite empties its tables between tests."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(database_url)
    yield engine
    engine.dispose()


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            # deleting cameras fired the status-count triggers (revision 0006): clear what they wrote
            conn.execute(text("DELETE FROM area_status_delta"))


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    _truncate(migrated_engine)
    yield migrated_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    s = session_factory(engine)()
    try:
        yield s
        s.commit()
    finally:
        s.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """The whole app (lifespan included) on the test database; files that need other settings or
    set-up define their own ``client``."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings, engine=engine)) as c:
        yield c
