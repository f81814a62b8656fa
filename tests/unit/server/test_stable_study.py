"""Stable-study notices on a real index (SQLite and PostgreSQL): notified once per quiet period, again after
a new instance (reference 4.6 'notify', issue 9 'optionally notify when a study becomes stable')."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from app.core.config import NotifySettings, ServerConfig
from app.server.index.stores import IndexStores, open_index
from app.server.notify import NOTIFY_KIND, StudyNotifier
from app.server.stable_study import StableStudyWatch
from tests.unit.server.test_index import record

pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def index(index_url: str) -> Iterator[IndexStores]:
    stores = open_index(index_url)
    yield stores
    stores.close()


def _watch(index: IndexStores, seconds: float = 60.0) -> StableStudyWatch:
    config = ServerConfig(notify=NotifySettings(host="127.0.0.1", port=11112, stable_seconds=seconds))
    notifier = StudyNotifier(config, index.catalogue, index.jobs, lambda: None)
    return StableStudyWatch(seconds, index.stability, notifier)


def _notices(index: IndexStores) -> list[str]:
    jobs = index.jobs.list(kind=NOTIFY_KIND)
    return [j.payload["study_instance_uid"] for j in jobs if j.payload["event"] == "stable"]


def test_a_quiet_study_is_notified_once_and_again_after_a_new_instance(index: IndexStores) -> None:
    index.catalogue.add_instance(record(study_instance_uid="1.9.1", received_at=T0))
    index.catalogue.add_instance(record(study_instance_uid="1.9.1", received_at=T0 + dt.timedelta(seconds=30)))
    index.catalogue.add_instance(record(study_instance_uid="1.9.2", series_instance_uid="1.9.2.1",
                                        received_at=T0 + dt.timedelta(seconds=80)))
    watch = _watch(index)
    assert watch.check_once(T0 + dt.timedelta(seconds=89)) == []  # newest instance 59 s ago: not yet
    assert watch.check_once(T0 + dt.timedelta(seconds=91)) == ["1.9.1"]
    assert watch.check_once(T0 + dt.timedelta(seconds=95)) == []  # notified already
    assert _notices(index) == ["1.9.1"]
    job = index.jobs.list(kind=NOTIFY_KIND)[0]
    assert job.payload["service"] == "bscn" and len(job.payload["instances"]) == 2
    index.catalogue.add_instance(record(study_instance_uid="1.9.1", received_at=T0 + dt.timedelta(seconds=100)))
    assert watch.check_once(T0 + dt.timedelta(seconds=150)) == ["1.9.2"]  # 1.9.1 is busy again
    assert watch.check_once(T0 + dt.timedelta(seconds=161)) == ["1.9.1"]
    assert sorted(_notices(index)) == ["1.9.1", "1.9.1", "1.9.2"]


def test_old_studies_are_not_notified_at_start(index: IndexStores) -> None:
    index.catalogue.add_instance(record(study_instance_uid="1.9.3", received_at=T0))
    watch = _watch(index, 10.0)
    assert watch.check_once(T0 + dt.timedelta(days=3)) == []  # outside the look-back window


def test_two_processes_on_one_index_notify_a_stable_study_once(index: IndexStores, index_url: str) -> None:
    """Two server processes share the index (a second ``open_index`` = another process's
    connections): while one checks, the other's check on PostgreSQL stands aside; checks in turn
    find the study notified already. Either way, one notice."""
    index.catalogue.add_instance(record(study_instance_uid="1.9.5", series_instance_uid="1.9.5.1", received_at=T0))
    other = open_index(index_url)
    try:
        later = T0 + dt.timedelta(seconds=70)
        with index.stability.checking() as first_checks:
            assert first_checks
            if index.engine.dialect.name == "postgresql":
                assert _watch(other).check_once(later) == []  # the other process stands aside meanwhile
                with other.stability.checking() as second_checks:
                    assert not second_checks
        assert _watch(other).check_once(later) == ["1.9.5"]
        assert _watch(index).check_once(later) == []
    finally:
        other.close()
    assert _notices(index) == ["1.9.5"]
