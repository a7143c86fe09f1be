"""Engine and session handling. SQLite (embedded default) and PostgreSQL run the same code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from camera_ops.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000  # several processes (api, monitor, worker) share one SQLite file
PG_INSERT_PAGE_ROWS = 50
PG_CONNECT_TIMEOUT_S = 10  # a dead database host fails a connection (and /readyz) instead of hanging it


POOL_MARGIN = 4  # connections beyond the API's request slots: the counts compactor, /readyz, metrics
POOL_TIMEOUT_S = 10  # a sized pool never makes anyone wait; if it does, fail fast and loudly


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """``pool_size`` (the API's request slots) + :data:`POOL_MARGIN` connections at most, on SQLite and
    PostgreSQL alike; without it, the defaults the monitor and worker were measured with."""
    pool: dict[str, int] = ({"pool_size": pool_size, "max_overflow": POOL_MARGIN, "pool_timeout": POOL_TIMEOUT_S}
                            if pool_size is not None else {})
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            pool = {}  # one shared in-memory connection (SingletonThreadPool)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    pool = pool or {"pool_size": 10, "max_overflow": 20}
    # Small multi-row INSERT pages: psycopg re-parses (without caching) any statement text too long
    # for its query cache, which made 1000-row pages 3x slower than 50-row ones (bench_registry).
    return create_engine(url, pool_pre_ping=True, insertmanyvalues_page_size=PG_INSERT_PAGE_ROWS,
                         connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}, **pool)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN handling is off).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
    # A writing transaction takes the write lock at BEGIN (IMMEDIATE), so two writers in different
    # processes never deadlock upgrading a read lock; readers stay DEFERRED and run concurrently.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


@lru_cache(maxsize=4)
def engine_for(url: str, pool_size: int | None = None) -> Engine:
    return make_engine(url, pool_size=pool_size)


def get_engine() -> Engine:
    return engine_for(get_settings().resolved_database_url)


def session_factory(engine: Engine | None = None, *, write: bool = True) -> sessionmaker[Session]:
    bind = engine or get_engine()
    if write:
        bind = bind.execution_options(sqlite_begin="IMMEDIATE")
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(engine, write=write)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
