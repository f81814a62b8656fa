"""Index engine: connection setup, migrations at start, clean close.

SQLite (the default) runs in WAL mode with ``synchronous=NORMAL`` and a busy timeout,
so readers (QIDO-RS, C-FIND) never block the Storage SCP's writers. Write transactions
on SQLite start with ``BEGIN IMMEDIATE`` so that two writers never deadlock on a lock
upgrade.

PostgreSQL (``postgresql+psycopg://...``, psycopg 3) runs the same schema through the same
migrations. Several server processes may share one PostgreSQL index: nothing that must agree
between them is kept in process memory (the change counter and request numbers are rows of
``counter``; jobs are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``; a duplicate check
takes a transaction-scoped advisory lock on the SOP Instance UID, see :func:`lock_key`). A
writer waits at most the busy timeout for a lock (``lock_timeout``), as on SQLite.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.core.errors import IndexFailure

LOGGER = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent

#: Default busy timeout of SQLite, in milliseconds.
DEFAULT_BUSY_TIMEOUT_MS = 10_000

#: Execution option asking for a write transaction (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "lightbox_write"


def is_sqlite(engine: Engine) -> bool:
    """True when the index lives in SQLite."""
    return engine.dialect.name == "sqlite"


def create_index_engine(
    url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, synchronous_full: bool = False
) -> Engine:
    """Create the engine of the index.

    Parameters
    ----------
    url
        SQLAlchemy URL (``ServerConfig.effective_index_url()``).
    synchronous_full
        SQLite only: sync the WAL at every commit (``synchronous=FULL``) instead of at
        checkpoints, so that a commit survives a power loss (``ServerConfig.sync_directories``).
    busy_timeout_ms
        How long an SQLite writer waits for another one before the statement fails
        (the Storage SCP then answers 0xA700, PS3.4 B.2.3).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # lock_timeout: a writer blocked by another process fails like SQLite's busy timeout (0xA700)
        options = f"-c lock_timeout={int(busy_timeout_ms)} -c timezone=UTC"
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                             connect_args={"options": options})
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000.0, "check_same_thread": False},
        pool_size=10,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite would otherwise defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit is durable at the next checkpoint; FULL: at once (PS: sync_directories)
            cursor.execute(f"PRAGMA synchronous={'FULL' if synchronous_full else 'NORMAL'}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Wildcard matching is case-sensitive except for PN (PS3.4 C.2.2.2.4).
            cursor.execute("PRAGMA case_sensitive_like=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the index schema to ``revision`` (``alembic upgrade head``), on ``engine``."""
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
    alembic_logger = logging.getLogger("alembic")
    if not alembic_logger.isEnabledFor(logging.DEBUG):
        alembic_logger.setLevel(logging.WARNING)  # its INFO lines (plugins, contexts) are noise here
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.commit()
    LOGGER.info("index schema at %s (%s)", revision, engine.url.render_as_string(hide_password=True))


def downgrade(engine: Engine, revision: str) -> None:
    """Take the index schema back to ``revision`` (``alembic downgrade``; ``"base"`` = empty)."""
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        connection.commit()


def lock_key(text: str) -> int:
    """A signed 64-bit key for ``pg_advisory_xact_lock`` derived from ``text`` (a SOP Instance
    UID): processes that check-then-insert the same instance take the same lock."""
    digest = hashlib.blake2b(text.encode("ascii", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def is_retryable(exc: SQLAlchemyError) -> bool:
    """True for a PostgreSQL deadlock or serialization failure (SQLSTATE 40P01 / 40001): the
    transaction was rolled back and may simply run again."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in {"40P01", "40001"}


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    """One lock per SQLite engine shared by every store: SQLite has one writer at a time, so
    in-process writers queue here rather than spin on the busy timeout. Other databases
    serialize writers themselves."""
    if not is_sqlite(engine):
        return contextlib.nullcontext()
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(engine, threading.RLock())


@contextlib.contextmanager
def writing(engine: Engine, what: str, *, pass_integrity_errors: bool = False) -> Iterator[Connection]:
    """A write transaction on the index (``BEGIN IMMEDIATE`` on SQLite), committed on exit.

    Database errors become :class:`IndexFailure` ("``what`` could not be updated: ...");
    with ``pass_integrity_errors`` a unique-constraint violation propagates as it is, for
    the caller to turn into its own answer (a duplicate).
    """
    try:
        with _write_lock(engine), engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn
    except IntegrityError:
        if pass_integrity_errors:
            raise
        raise IndexFailure(f"{what} could not be updated: a unique value is already used") from None
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise IndexFailure(f"{what} could not be updated: {type(cause).__name__}: {cause}") from exc


def open_engine(
    url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, synchronous_full: bool = False
) -> Engine:
    """Create the engine of the index and bring its schema up to date (``alembic upgrade head``)."""
    engine = create_index_engine(url, busy_timeout_ms=busy_timeout_ms, synchronous_full=synchronous_full)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise IndexFailure(f"cannot open the index: {exc}; check index_url and the data directory") from exc
    return engine


def close_engine(engine: Engine) -> None:
    """Close every pooled connection; on SQLite checkpoint the WAL into the database first."""
    if is_sqlite(engine):
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception:  # the process is stopping; report and go on closing
            LOGGER.warning("could not checkpoint the index WAL", exc_info=True)
    engine.dispose()
