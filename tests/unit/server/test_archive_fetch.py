"""The fetch-back claim on a real index (SQLite and PostgreSQL): a process that finds another
one's claim waits for the study to come online and then reports it back (its callers read the
rows again) without asking the archive; it gives up after ``fetch_timeout_seconds`` naming the
claimant; an instance of an offline study sent by the archive counts as restoring on a shared
index only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.archive_config import ArchiveSettings
from app.core.config import ServerConfig
from app.server.archive_fetch import FETCH_POLL_SECONDS, ArchiveFetcher, FetchFailed
from app.server.index.stores import IndexStores, open_index
from app.server.storage import Storage
from tests.unit.server.test_archive_store import NOW, _committed, _study, soon

pytestmark = pytest.mark.postgresql


@pytest.fixture
def index(index_url: str) -> Iterator[IndexStores]:
    stores = open_index(index_url)
    yield stores
    stores.close()


def _fetcher(index: IndexStores, storage: Storage, timeout: float) -> ArchiveFetcher:
    # no [[server.destinations]]: were this fetcher to ask the archive itself, it would fail saying so
    config = dataclasses.replace(ServerConfig(), archive=ArchiveSettings(destination="ARCHIVE",
                                                                         fetch_timeout_seconds=timeout))
    return ArchiveFetcher(config, index.catalogue, index.archive, storage.path_of)


def _offline_study(index: IndexStores, tmp_path: Path, uid: str) -> tuple[Storage, list[str]]:
    storage = Storage(tmp_path / "storage", fsync=False)
    sops = _study(index, storage, uid, 2, days_old=40)
    _committed(index, uid, sops)
    index.archive.set_online(uid, False)
    return storage, sops


def test_a_fetch_claimed_by_another_process_is_waited_for(index: IndexStores, tmp_path: Path) -> None:
    storage, sops = _offline_study(index, tmp_path, "1.2.7.1")
    other = "other-host:4242:cafe"
    assert index.archive.claim_fetch("1.2.7.1", other, soon())
    fetcher = _fetcher(index, storage, timeout=30.0)
    assert fetcher.owner != other and fetcher.restoring(sops[0], "ARCHIVE") is index.archive.shared
    assert not fetcher.restoring(sops[0], "MODALITY") and not fetcher.restoring(sops[0])  # not from the archive

    def the_other_process_finishes() -> None:
        time.sleep(5 * FETCH_POLL_SECONDS)
        index.archive.set_online("1.2.7.1", True)
        index.archive.release_fetch("1.2.7.1", other)

    finisher = threading.Thread(target=the_other_process_finishes)
    started = time.monotonic()
    finisher.start()
    assert fetcher.ensure_online(["1.2.7.1"]) == ["1.2.7.1"]  # came back: its rows are to be read again
    finisher.join()
    assert time.monotonic() - started >= 5 * FETCH_POLL_SECONDS  # it waited rather than asking the archive
    assert fetcher.ensure_online(["1.2.7.1"]) == []  # online: nothing to do
    assert not fetcher.restoring(sops[0], "ARCHIVE")


def test_waiting_for_another_process_ends_after_the_fetch_timeout(index: IndexStores, tmp_path: Path) -> None:
    storage, _sops = _offline_study(index, tmp_path, "1.2.7.2")
    assert index.archive.claim_fetch("1.2.7.2", "stuck-host:1:beef", soon())
    fetcher = _fetcher(index, storage, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="stuck-host:1:beef; try again shortly"):
        fetcher.ensure_online(["1.2.7.2"])
    assert 1.0 <= time.monotonic() - started < 10.0
    assert index.archive.fetch_owner("1.2.7.2") == "stuck-host:1:beef"  # not ours to release


def test_an_expired_claim_is_taken_over_and_released_after_a_failed_fetch(index: IndexStores, tmp_path: Path) -> None:
    storage, _sops = _offline_study(index, tmp_path, "1.2.7.3")
    assert index.archive.claim_fetch("1.2.7.3", "dead-host:1:dead", NOW - dt.timedelta(seconds=1))
    fetcher = _fetcher(index, storage, timeout=5.0)
    with pytest.raises(FetchFailed, match=re.escape("not in [[server.destinations]]")):
        fetcher.ensure_online(["1.2.7.3"])  # it claimed the study and asked (no archive to ask here)
    assert index.archive.fetch_owner("1.2.7.3") is None  # its claim ended with the failure
    assert index.archive.claim_fetch("1.2.7.3", "next", soon())
