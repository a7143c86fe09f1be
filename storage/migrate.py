"""Run Alembic migrations from code (``camera-ops db upgrade``, start-up, tests)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATION_LOCK = "camera-ops: alembic upgrade"  # every process that migrates takes this lock first


def upgrade(url: str, revision: str = "head") -> None:
    """``alembic upgrade``, safe when several processes start at once (compose, several nodes): on
    PostgreSQL under a session advisory lock, so the second waits for the first and then finds the
    schema at head (without it, two upgrades of a fresh database both inserted into
    ``alembic_version``). SQLite has one writer at a time anyway."""
    from camera_ops.leases import advisory_lock

    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), revision)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            with advisory_lock(conn, MIGRATION_LOCK):
                conn.commit()  # the lock is the session's; the migration runs in transactions of its own
                cfg = alembic_config(url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            conn.commit()
    finally:
        engine.dispose()


def wait_for_database(url: str, *, attempts: int = 30, delay_s: float = 1.0) -> None:
    """At start-up the database may still be booting (compose); wait for it, then give up loudly."""
    engine = make_engine(url)
    try:
        for attempt in range(1, attempts + 1):
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return
            except OperationalError as exc:
                if attempt == attempts:
                    raise
                log.warning("database not ready (attempt %d/%d): %s", attempt, attempts, exc.__class__.__name__)
                time.sleep(delay_s)
    finally:
        engine.dispose()
