"""Fixtures shared by every test layer.

``QT_QPA_PLATFORM=offscreen`` is set here, before anything can import Qt, so the suite
runs without a display.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools
import json
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.user_dirs import session_user_dirs, user_dirs  # noqa: F401 - autouse: HOME in tmp

READY_PREFIX = "LIGHTBOX-READY "


@dataclass(frozen=True)
class RunningServer:
    """A real ``python -m app.server`` child process on ephemeral ports."""

    process: subprocess.Popen[str]
    data_dir: Path
    http_url: str
    storage: dict[str, int]  # AE title -> port
    qr_port: int | None = None  # the Query/Retrieve SCP's port
    qr_ae_title: str | None = None
    mwl_port: int | None = None  # the Modality Worklist SCP's port
    mwl_ae_title: str | None = None
    index_url: str = ""  # the index's SQLAlchemy URL (its config's, or SQLite in the data directory)

    @property
    def storage_port(self) -> int:
        return next(iter(self.storage.values()))


def write_server_config(
    path: Path, data_dir: Path, extra_server: str = "", storage: str | None = None, qr: str | None = None,
    index_url: str = "",
) -> Path:
    """A config TOML putting everything on ephemeral ports (port 0).

    ``index_url`` is the index's SQLAlchemy URL (the ``index_url`` fixture's, to run on either
    backend); empty = SQLite in the data directory.

    ``qr`` is the ``[server.qr]`` table (and any ``[[server.destinations]]``); by default the
    Q/R SCP listens on an ephemeral port too. The MWL SCP (``[server.mwl]``) always does,
    unless ``extra_server`` or ``qr`` carries its own ``[server.mwl]`` table.
    """
    storage = storage if storage is not None else '[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = 0\n'
    qr = qr if qr is not None else "[server.qr]\nport = 0\n"
    if "[server.mwl]" not in extra_server + qr:
        qr += "\n[server.mwl]\nport = 0\n"
    index = f"index_url = {json.dumps(index_url)}\n" if index_url else ""
    path.write_text(
        f'[server]\ndata_dir = "{data_dir.as_posix()}"\nhttp_port = 0\n{index}{extra_server}\n{qr}\n{storage}'
    )
    return path


def configured_index_url(config: Path, data_dir: Path) -> str:
    """The index URL a server started with ``config`` uses (``[server] index_url``, else SQLite
    in ``data_dir``)."""
    url = tomllib.loads(config.read_text()).get("server", {}).get("index_url", "")
    return str(url) if url else f"sqlite:///{data_dir / 'index.sqlite'}"


def start_server(config: Path, data_dir: Path, timeout: float = 60.0) -> RunningServer:
    """Start the server as a child process and wait for its ready line on stdout."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--data-dir", str(data_dir), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(READY_PREFIX):
            info = json.loads(line[len(READY_PREFIX):])
            return RunningServer(
                process=proc,
                data_dir=data_dir,
                http_url=info["http_url"],
                storage={ae["ae_title"]: ae["port"] for ae in info["storage"]},
                qr_port=info["qr"]["port"] if "qr" in info else None,
                qr_ae_title=info["qr"]["ae_title"] if "qr" in info else None,
                mwl_port=info["mwl"]["port"] if "mwl" in info else None,
                mwl_ae_title=info["mwl"]["ae_title"] if "mwl" in info else None,
                index_url=configured_index_url(config, data_dir),
            )
    proc.kill()
    raise RuntimeError(f"server did not report ready (exit code {proc.poll()})")


def stop_server(server: RunningServer, timeout: float = 30.0) -> int:
    """SIGTERM the server and return its exit code."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        raise


@pytest.fixture
def server(tmp_path: Path, index_url: str) -> Iterator[RunningServer]:
    """A running Lightbox server with an empty data directory (its index on the test's
    backend, see ``index_url``); stopped cleanly after the test."""
    data_dir = tmp_path / "data"
    config = write_server_config(tmp_path / "server.toml", data_dir, index_url=index_url)
    running = start_server(config, data_dir)
    yield running
    assert stop_server(running) == 0


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A running server with an empty data directory and its index in SQLite there, for tests
    that need a server but not its index (a URL to connect to, an AE to reach): they run once,
    not once more on PostgreSQL as tests of ``server`` do."""
    data_dir = tmp_path / "data"
    running = start_server(write_server_config(tmp_path / "server.toml", data_dir), data_dir)
    yield running
    assert stop_server(running) == 0


# -- index backends ------------------------------------------------------------------------
#
# Every test that takes the ``index_url`` fixture (directly, or through ``make_index_url``,
# ``server``, or ``module_index_url`` for a module-scoped server) runs on SQLite and once more
# on PostgreSQL: a private cluster started once per session, a fresh database per test (or per
# module and backend for a module's shared server), cloned from a template migrated once.
# ``--index-backends`` narrows that: ``sqlite`` / ``postgresql`` on one only, ``marked`` on
# SQLite plus PostgreSQL only in modules marked ``pytest.mark.postgresql``.

INDEX_BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--index-backends", choices=("both", *INDEX_BACKENDS, "marked"), default="both",
        help="index backends of the server tests: both (the default), sqlite, postgresql, or marked "
             "(SQLite, plus PostgreSQL for modules marked postgresql)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: also run on a PostgreSQL index (index_url fixture)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "index_backend" not in metafunc.fixturenames:
        return
    choice = metafunc.config.getoption("--index-backends")
    if choice == "marked":
        marked = metafunc.definition.get_closest_marker("postgresql") is not None
        backends: tuple[str, ...] = INDEX_BACKENDS if marked else ("sqlite",)
    else:
        backends = INDEX_BACKENDS if choice == "both" else (choice,)
    # module scope: a module's shared server fixture runs once per backend
    metafunc.parametrize("index_backend", backends, ids=[f"index={b}" for b in backends], scope="module")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A private PostgreSQL cluster for the session (tests/pg_cluster.py); fails when PostgreSQL
    is missing."""
    from tests.pg_cluster import PostgresMissing, start_cluster

    try:
        cluster = start_cluster()
    except PostgresMissing as exc:
        pytest.fail(f"{exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def make_index_url(index_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., str]:
    """A maker of SQLAlchemy URLs of new indexes on the test's backend: SQLite files in
    ``tmp_path`` (empty), or fresh databases of the session's PostgreSQL cluster (copies of a
    database migrated to head, unless ``empty=True``)."""
    made = itertools.count()

    def make(*, empty: bool = False) -> str:
        n = next(made)
        if index_backend == "sqlite":
            return f"sqlite:///{tmp_path / ('index.sqlite' if n == 0 else f'index{n}.sqlite')}"
        return str(request.getfixturevalue("pg_cluster").new_database(empty=empty))

    return make


@pytest.fixture
def index_url(make_index_url: Callable[..., str]) -> str:
    """SQLAlchemy URL of an empty index on the test's backend (see ``make_index_url``)."""
    return make_index_url()


@pytest.fixture(scope="module")
def module_index_url(index_backend: str, request: pytest.FixtureRequest) -> str:
    """``index_url`` for a module-scoped server (:func:`write_server_config`): "" (SQLite in the
    data directory) or a new PostgreSQL database; the module runs once per backend."""
    return server_index_url(index_backend, request)


def server_index_url(index_backend: str, request: pytest.FixtureRequest) -> str:
    """``index_url`` for :func:`write_server_config` in a fixture of any scope that takes
    ``index_backend``: "" (SQLite in the data directory) or a new PostgreSQL database."""
    if index_backend == "sqlite":
        return ""
    return str(request.getfixturevalue("pg_cluster").new_database())


def require_tool(name: str) -> str:
    """Path of a real peer's command; fails (never skips) when the peer is not installed.

    The virtual environment's own ``bin`` is left out of the search: pynetdicom installs
    console scripts named like DCMTK's (``findscu``, ``storescp``, ...) there, and with the
    environment activated they would stand in for the real peers.
    """
    venv_bin = Path(sys.prefix, "bin").resolve()
    search = os.pathsep.join(
        d for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if d and Path(d).resolve() != venv_bin
    )
    path = shutil.which(name, path=search)
    if path is None:
        pytest.fail(f"{name} is not installed: run the README's test command, which installs the test peers.")
    return path


@pytest.fixture(scope="session")
def test_files() -> Path:
    """pydicom's bundled test files folder."""
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm", download=False)).parent  # type: ignore[arg-type]
