"""A private PostgreSQL cluster for the tests: created in a temporary folder, started once per
test session on a free port of 127.0.0.1 (and a private unix socket folder), removed at the end.

PostgreSQL refuses to run as root (CI and this rig run the tests as root): the cluster's files
then belong to the ``postgres`` user the Debian package creates, and ``initdb``/``pg_ctl`` run
as that user through ``runuser``. A missing PostgreSQL fails the tests (like a missing DCMTK
peer), it never skips them.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The unprivileged user the Debian package creates, used when the tests run as root.
PG_USER = "postgres"

_database_numbers = itertools.count(1)


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed (or cannot be run here)."""


def _server_bin(name: str) -> str:
    """Path of a PostgreSQL server program (``initdb``, ``pg_ctl``): Debian keeps them out of PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        candidate = Path(folder, name)
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise PostgresMissing(f"{name} is not installed: run the README's test command (it installs postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgCluster:
    """A running private cluster; :meth:`new_database` makes an empty database per test."""

    root: Path
    port: int
    as_user: tuple[str, ...]
    _template: str = ""
    _admin: Any = None  # a psycopg connection to the "postgres" database (autocommit), opened once

    def _execute(self, sql: str) -> None:
        """Run one SQL command on the cluster's ``postgres`` database through one kept
        connection (a ``psql`` process per new database would cost more than the copy)."""
        if self._admin is None:
            import psycopg

            self._admin = psycopg.connect(host=str(self.socket_dir), port=self.port, user=PG_USER, dbname="postgres",
                                          autocommit=True)
        self._admin.execute(sql)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` (psycopg 3 over TCP on 127.0.0.1, trust authentication)."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command through ``psql`` over the private socket; returns its output."""
        psql = shutil.which("psql") or _server_bin("psql")
        done = subprocess.run(
            [psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p", str(self.port),
             "-U", PG_USER, "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def new_database(self, prefix: str = "lb", *, empty: bool = False) -> str:
        """Create a database and return its SQLAlchemy URL: a copy of a template migrated to the
        schema's head once per session (fast), or an ``empty`` one (for migration tests)."""
        name = f"{prefix}_{os.getpid()}_{next(_database_numbers)}"
        template = "template0" if empty else self._migrated_template()
        self._execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def _migrated_template(self) -> str:
        if not self._template:
            from app.server.index import engine as engine_mod

            name = f"lb_head_{os.getpid()}"
            self._execute(f"CREATE DATABASE {name} TEMPLATE template0")
            engine = engine_mod.create_index_engine(self.url(name))
            try:
                engine_mod.upgrade(engine)
            finally:
                engine.dispose()
            self._template = name
        return self._template

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove the cluster's folder."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        subprocess.run([*self.as_user, _server_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    """Create and start a private cluster; raises :class:`PostgresMissing` when PostgreSQL is not installed."""
    initdb, pg_ctl = _server_bin("initdb"), _server_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="lightbox-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresMissing("runuser is missing: cannot start PostgreSQL as an unprivileged user")
        import pwd

        try:
            entry = pwd.getpwnam(PG_USER)
        except KeyError as exc:
            raise PostgresMissing(f"no {PG_USER} user: install the postgresql package") from exc
        os.chown(root, entry.pw_uid, entry.pw_gid)
        as_user = (runuser, "-u", PG_USER, "--")
    cluster = PgCluster(root=root, port=_free_port(), as_user=as_user)
    subprocess.run([*as_user, "mkdir", "-m", "700", str(cluster.socket_dir)], check=True)
    subprocess.run(
        [*as_user, initdb, "-D", str(cluster.data_dir), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
         "--locale=C", "--no-sync"],
        check=True, capture_output=True, timeout=120,
    )
    options = (f"-c listen_addresses=127.0.0.1 -p {cluster.port} -c unix_socket_directories={cluster.socket_dir} "
               "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
               "-c shared_buffers=64MB")
    started = subprocess.run(
        [*as_user, pg_ctl, "-D", str(cluster.data_dir), "-o", options, "-l", str(cluster.root / "server.log"),
         "-w", "-t", "60", "start"],
        capture_output=True, text=True, timeout=90,
    )
    if started.returncode != 0:
        log_file = cluster.root / "server.log"
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()} {log[-2000:]}")
    return cluster
