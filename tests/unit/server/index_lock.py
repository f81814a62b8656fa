"""A lock on the index held by another connection, as another server process would hold it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


@contextlib.contextmanager
def index_lock_held(index_url: str, tables: str = "instance") -> Iterator[None]:
    """Another connection (as another process would) holds the index's write lock meanwhile:
    SQLite ``BEGIN EXCLUSIVE``; PostgreSQL ``LOCK TABLE <tables> IN EXCLUSIVE MODE`` (the
    tables the write under test touches, comma-separated)."""
    engine = create_engine(index_url, poolclass=NullPool)
    blocker = engine.connect()
    sqlite = engine.dialect.name == "sqlite"
    try:
        if sqlite:
            blocker.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
            blocker.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            blocker.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
        yield
    finally:
        if sqlite:
            blocker.exec_driver_sql("ROLLBACK")
        else:
            blocker.rollback()
        blocker.close()
        engine.dispose()
