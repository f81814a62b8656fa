"""Fixtures of the server-core unit tests: a real storage area, a real index (SQLite, or
PostgreSQL in modules marked ``postgresql``: see ``index_url`` in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.config import ServerConfig
from app.server.context import Ingest
from app.server.index.catalogue import Catalogue, open_catalogue
from app.server.storage import Storage


@pytest.fixture
def index_catalogue(index_url: str) -> Iterator[Catalogue]:
    catalogue = open_catalogue(index_url, busy_timeout_ms=200)
    yield catalogue
    catalogue.close()


@pytest.fixture
def make_ingest(tmp_path: Path, make_index_url: Callable[[], str]) -> Iterator[Callable[..., Ingest]]:
    """Build an ingest over a fresh data directory, with a given duplicates policy."""
    made: list[Catalogue] = []

    def factory(duplicates: str = "keep", busy_timeout_ms: int = 10_000) -> Ingest:
        data_dir = tmp_path / f"data{len(made)}"
        config = ServerConfig(  # type: ignore[arg-type]
            data_dir=data_dir, duplicates=duplicates, fsync=True, index_url=make_index_url()
        )
        catalogue = open_catalogue(config.effective_index_url(), busy_timeout_ms=busy_timeout_ms)
        made.append(catalogue)
        return Ingest(config, Storage(data_dir / "storage", fsync=config.fsync), catalogue)

    yield factory
    for catalogue in made:
        catalogue.close()
