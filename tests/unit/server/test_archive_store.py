"""Archive state and the removal policy on a real index (SQLite and PostgreSQL): only a study
whose every instance the archive committed may lose its online copy; age and free-space rules;
dry run; a fetched-back study held online; the report matched by its Transaction UID."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.archive_config import ArchiveSettings
from app.server.archive_policy import GIB, ArchivePurge
from app.server.index.archive_records import COMMITTED, COMMITTING, FAILED
from app.server.index.stores import IndexStores, open_index
from app.server.storage import Storage
from app.server.study_events import StudyEvents, StudyOffline
from tests.unit.server.test_index import record

pytestmark = pytest.mark.postgresql

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None)


def soon(minutes: int = 60) -> dt.datetime:
    """A claim's end in the future of the wall clock the store compares with (not of ``NOW``, taken
    at import: a file may run many minutes after collection)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=minutes)


@pytest.fixture
def index(index_url: str) -> Iterator[IndexStores]:
    stores = open_index(index_url)
    yield stores
    stores.close()


def _study(index: IndexStores, storage: Storage, uid: str, n: int, days_old: float) -> list[str]:
    """``n`` instances of study ``uid`` received ``days_old`` days ago, each with a real file."""
    sops = []
    for i in range(n):
        relpath = storage.write_bytes(b"DICM" * 10)
        r = record(study_instance_uid=uid, series_instance_uid=f"{uid}.1", sop_instance_uid=f"{uid}.1.{i}",
                   relpath=relpath, size=40, received_at=NOW - dt.timedelta(days=days_old))
        index.catalogue.add_instance(r)
        sops.append(r.sop_instance_uid)
    return sops


def _committed(index: IndexStores, uid: str, sops: list[str], failed: tuple[str, ...] = ()) -> None:
    index.archive.begin(uid, job_id=1)
    index.archive.set_state(uid, COMMITTING, transaction_uid=f"2.25.{abs(hash(uid)) % 10**20}")
    state = index.archive.get(uid)
    assert state is not None
    outcome = index.archive.record_report(state.transaction_uid, [s for s in sops if s not in failed],
                                          [(s, 0x0112) for s in failed])
    assert outcome is not None and outcome.study_instance_uid == uid


def _purge(index: IndexStores, storage: Storage, free: int, events: StudyEvents | None = None,
           **settings: object) -> ArchivePurge:
    return ArchivePurge(ArchiveSettings(destination="ARCHIVE", **settings), index.archive,  # type: ignore[arg-type]
                        index.catalogue, storage.root, storage.delete, free_bytes=lambda _root: free,
                        on_removed=events.offline if events is not None else None)


def test_only_committed_studies_are_removed_by_age_and_rows_stay(index: IndexStores, tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    old = _study(index, storage, "1.9.1", 3, days_old=40)
    recent = _study(index, storage, "1.9.2", 2, days_old=1)
    partly = _study(index, storage, "1.9.3", 2, days_old=40)
    never = _study(index, storage, "1.9.4", 2, days_old=40)
    _committed(index, "1.9.1", old)
    _committed(index, "1.9.2", recent)
    _committed(index, "1.9.3", partly, failed=(partly[1],))
    assert index.archive.get("1.9.3").state == FAILED  # type: ignore[union-attr]
    assert index.archive.get("1.9.4") is None and never

    purge = _purge(index, storage, free=100 * GIB, remove_after_days=30)
    dry = purge.run(dry_run=True)
    assert [s["study_instance_uid"] for s in dry.studies] == ["1.9.1"] and dry.dry_run
    assert all(storage.path_of(i.relpath).is_file() for i in index.catalogue.stored_instances("1.9.1"))

    report = purge.run()
    assert [s["study_instance_uid"] for s in report.studies] == ["1.9.1"]
    rows = index.catalogue.stored_instances("1.9.1")
    assert len(rows) == 3 and not any(storage.path_of(i.relpath).exists() for i in rows)  # rows kept, files gone
    assert index.archive.offline(["1.9.1", "1.9.2", "1.9.3", "1.9.4"]) == {"1.9.1"}
    assert purge.run().studies == ()  # nothing else qualifies


def test_free_space_rule_takes_the_oldest_until_enough_and_a_new_instance_keeps_a_study(
    index: IndexStores, tmp_path: Path
) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    for n, uid in enumerate(("1.8.1", "1.8.2", "1.8.3")):
        _committed(index, uid, _study(index, storage, uid, 2, days_old=10 - n))
    index.catalogue.add_instance(record(study_instance_uid="1.8.1", series_instance_uid="1.8.1.1",
                                        sop_instance_uid="1.8.1.1.99", relpath=storage.write_bytes(b"x"), size=1))
    # 1.8.1 got an instance the archive never committed: it stays; 1.8.2 (oldest left, 80 bytes) is enough
    purge = _purge(index, storage, free=GIB - 50, min_free_gib=1.0)
    assert [s["study_instance_uid"] for s in purge.run().studies] == ["1.8.2"]


def test_a_fetched_back_study_stays_online_for_its_time(index: IndexStores, tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    _committed(index, "1.7.1", _study(index, storage, "1.7.1", 1, days_old=50))
    index.archive.set_online("1.7.1", True, until=NOW + dt.timedelta(hours=1))
    assert index.archive.removal_candidates(NOW) == []
    assert [c.study_instance_uid for c in index.archive.removal_candidates(NOW + dt.timedelta(hours=2))] == ["1.7.1"]


def test_a_report_is_matched_by_its_transaction_uid_only_while_awaited(index: IndexStores, tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    sops = _study(index, storage, "1.6.1", 2, days_old=0)
    assert index.archive.record_report("2.25.1", sops, []) is None  # nobody awaits it
    _committed(index, "1.6.1", sops)
    state = index.archive.get("1.6.1")
    assert state is not None and (state.state, state.committed_instances, state.failed_instances) == (COMMITTED, 2, 0)
    assert index.archive.record_report(state.transaction_uid, sops, []) is None  # already recorded


def test_the_policy_runs_by_itself_every_interval(index: IndexStores, tmp_path: Path) -> None:
    import time

    storage = Storage(tmp_path / "storage", fsync=False)
    _committed(index, "1.5.1", _study(index, storage, "1.5.1", 1, days_old=5))
    purge = _purge(index, storage, free=100 * GIB, remove_after_days=1, purge_interval_seconds=0.1)
    purge.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not index.archive.offline(["1.5.1"]):
            time.sleep(0.05)
    finally:
        purge.stop()
    assert index.archive.offline(["1.5.1"]) == {"1.5.1"}


def test_a_removed_online_copy_fires_the_offline_event_with_its_instances(index: IndexStores, tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    sops = _study(index, storage, "1.4.1", 3, days_old=40)
    _committed(index, "1.4.1", sops)
    _committed(index, "1.4.2", _study(index, storage, "1.4.2", 1, days_old=1))  # too recent: stays, untold
    events, seen = StudyEvents(), []
    events.on_offline(seen.append)
    purge = _purge(index, storage, free=100 * GIB, events=events, remove_after_days=30)
    assert purge.run(dry_run=True).studies and seen == []  # a dry run removes nothing and tells nobody
    purge.run()
    assert len(seen) == 1 and isinstance(seen[0], StudyOffline)
    event = seen[0]
    assert (event.study_instance_uid, event.why) == ("1.4.1", "received more than 30 days ago")
    assert sorted(event.instances) == [("1.4.1.1", record().sop_class_uid, sop) for sop in sorted(sops)]
    assert purge.run().studies == () and len(seen) == 1  # already offline: not told twice
    index.archive.set_online("1.4.2", True)
    assert index.archive.take_offline("1.4.2")  # of two processes removing it at once, one does
    assert not index.archive.take_offline("1.4.2") and not index.archive.take_offline("1.4.9")


def test_a_fetch_back_is_claimed_by_one_owner_until_released_or_expired(index: IndexStores, tmp_path: Path) -> None:
    storage = Storage(tmp_path / "storage", fsync=False)
    sops = _study(index, storage, "1.3.1", 2, days_old=40)
    _committed(index, "1.3.1", sops)
    later = soon()
    assert not index.archive.claim_fetch("1.3.1", "A", later)  # online: nothing to fetch
    assert not index.archive.offline_instance(sops[0])
    index.archive.set_online("1.3.1", False)
    assert index.archive.offline_instance(sops[0]) and not index.archive.offline_instance("1.3.1.9.9")
    assert index.archive.shared is (index.archive.engine.dialect.name == "postgresql")

    assert index.archive.claim_fetch("1.3.1", "A", later)
    assert not index.archive.claim_fetch("1.3.1", "B", later)  # A holds it
    assert index.archive.fetch_owner("1.3.1") == "A"
    index.archive.release_fetch("1.3.1", "B")  # not B's to release
    assert index.archive.fetch_owner("1.3.1") == "A"
    index.archive.release_fetch("1.3.1", "A")
    assert index.archive.fetch_owner("1.3.1") is None
    assert index.archive.claim_fetch("1.3.1", "B", NOW - dt.timedelta(seconds=1))  # B's claim, already expired
    assert index.archive.fetch_owner("1.3.1") is None
    assert index.archive.claim_fetch("1.3.1", "A", later)  # A takes over an expired claim
    assert index.archive.fetch_owner("1.3.1") == "A"
    index.archive.set_online("1.3.1", True)
    assert not index.archive.offline_instance(sops[0])
    assert not index.archive.claim_fetch("1.3.1", "B", later)
