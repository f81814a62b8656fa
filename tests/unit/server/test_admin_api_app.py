"""The admin routes in process over a real index and storage area: 503 while the index is busy,
events fired after commits, a deletion's files removed after its rows (orphans only on failure)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from pydicom.data import get_testdata_file

from app.core.config import ServerConfig
from app.server.api import ApiContext, create_app
from app.server.context import Ingest
from app.server.index.stores import IndexStores, open_index
from app.server.storage import Storage
from app.server.study_events import StudyApproved, StudyCorrected, StudyDeleted, StudyEvents
from tests.unit.server.index_lock import index_lock_held


@pytest.fixture
def parts(tmp_path: Path, index_url: str) -> Iterator[tuple[TestClient, IndexStores, Storage, list[object], str]]:
    config = ServerConfig(data_dir=tmp_path, index_url=index_url)  # type: ignore[arg-type]
    index = open_index(config.effective_index_url(), busy_timeout_ms=200)
    storage = Storage(tmp_path / "storage", fsync=False)
    ingest = Ingest(config, storage, index.catalogue)
    ds = dcmread(get_testdata_file("CT_small.dcm", download=False))
    assert ingest.store_dataset(ds, source="TEST").stored
    events = StudyEvents()
    seen: list[object] = []
    events.on_approved(seen.append)
    events.on_deleted(seen.append)
    events.on_corrected(seen.append)
    ctx = ApiContext(index.catalogue, storage, ingest, "test", study_status=index.study_status,
                     changes=index.changes, corrections=index.corrections, deletions=index.deletions,
                     study_events=events)
    with TestClient(create_app(ctx)) as client:
        yield client, index, storage, seen, str(ds.StudyInstanceUID)
    index.close()


def test_a_busy_index_is_503_with_a_detail_and_nothing_fired(
    parts: tuple[TestClient, IndexStores, Storage, list[object], str], index_url: str
) -> None:
    client, _, _, seen, study = parts
    with index_lock_held(index_url, tables="study_status"):  # another writer holds the index
        response = client.post(f"/api/studies/{study}/approve", json={"by": "dr.who"})
    assert response.status_code == 503
    assert "try again later" in response.json()["detail"]
    assert seen == []
    again = client.post(f"/api/studies/{study}/approve", json={"by": "dr.who"})
    assert again.status_code == 200 and seen == [StudyApproved(study, "dr.who", seen[0].at)]  # type: ignore[attr-defined]


def test_events_carry_what_listeners_need(parts: tuple[TestClient, IndexStores, Storage, list[object], str]) -> None:
    client, index, storage, seen, study = parts
    (stored,) = index.catalogue.stored_instances(study)
    assert client.patch(f"/api/studies/{study}", json={"StudyDescription": "New"},
                        headers={"X-Lightbox-User": "adm"}).status_code == 200
    assert seen == [StudyCorrected((study,), "study", {"StudyDescription": "New"}, "adm")]
    response = client.delete(f"/api/studies/{study}")
    assert response.status_code == 200 and response.json()["files_removed"] == 1
    deleted = seen[-1]
    assert isinstance(deleted, StudyDeleted) and deleted.study_gone and deleted.level == "study"
    assert deleted.values["StudyDescription"] == "New" and deleted.values["PatientID"] == "1CT1"
    assert deleted.instances == ((stored.series_instance_uid, stored.sop_class_uid, stored.sop_instance_uid),)
    assert not storage.path_of(stored.relpath).exists()


def test_a_file_that_cannot_be_removed_is_left_as_an_orphan(
    parts: tuple[TestClient, IndexStores, Storage, list[object], str],
) -> None:
    client, index, storage, _, study = parts
    (stored,) = index.catalogue.stored_instances(study)
    path = storage.path_of(stored.relpath)
    path.unlink()
    path.mkdir()  # something unlink() refuses (a permission check would not stop root)
    response = client.delete(f"/api/studies/{study}")
    assert response.status_code == 200
    assert (response.json()["instances"], response.json()["files_removed"]) == (1, 0)
    assert index.catalogue.stored_instances(study) == []  # the rows are gone all the same
    assert storage.path_of(stored.relpath).exists()  # an orphan: no row points at it
