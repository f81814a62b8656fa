"""Alembic environment of the index: uses the caller's connection when given one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from app.server.index.schema import metadata

config = context.config
target_metadata = metadata


#: Advisory lock taken while migrating a PostgreSQL index: server processes that start together
#: on one new database migrate one after the other (the later ones find the schema at head).
MIGRATION_LOCK = 0x4C42_4D49  # "LBMI"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on ``config.attributes['connection']``, or on a URL (``-x url=...`` or the ini)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the index URL: alembic -x url=sqlite:////path/index.sqlite upgrade head")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run against a database")
run_migrations_online()
