"""The workstation's Q/R SCU against a real remote archive, DCMTK ``dcmqrscp`` (issue 6):
C-ECHO, Study Root C-FIND at study/series/image level, Import (C-MOVE to the Lightbox
server's Storage SCP), Fetch (C-MOVE to the temporary Storage SCP, opened while it arrives)
and a study whose retrieval fails part-way (files gone from the archive's storage).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from app.core.workstation_config import RemoteNode, TemporaryStore, WorkstationConfig
from app.net.association import AssociationError
from app.net.temporary_store import TemporaryStorageSCP
from app.services.cancel import CancelToken
from app.services.local_series import LocalSeriesSource
from app.services.retrieve import Fetch, RetrieveRequest, retrieve
from app.services.search import StudyQuery, level_identifier, search, series_of, verify_node
from app.services.studies import StudyService
from tests.conftest import RunningServer
from tests.qr_archive import ARCHIVE_AE, Dcmqrscp, Study, serving_archive, temporary_store_fixture, write_study

pytestmark = pytest.mark.peer

STORE_AE = "TESTSTORE"


store_fixture = temporary_store_fixture(STORE_AE)


@pytest.fixture
def studies(tmp_path: Path) -> list[Study]:
    return [
        write_study(tmp_path / "in", "P001", "SMITH^ANNA", [4, 3], study_date="20240105", description="CT CHEST"),
        write_study(tmp_path / "in", "P002", "SMITHSON^PAUL", [2], study_date="20240310", description="CT HEAD"),
        write_study(tmp_path / "in", "P003", "JONES^MARY", [5], study_date="20230101", description="CT ABDOMEN"),
    ]


@pytest.fixture
def archive(tmp_path: Path, studies: list[Study], store: TemporaryStorageSCP) -> Iterator[Dcmqrscp]:
    running = serving_archive(tmp_path, studies, [(STORE_AE, store.port)])
    yield running
    running.stop()


def _config(archive: Dcmqrscp) -> tuple[WorkstationConfig, RemoteNode]:
    node = RemoteNode("archive", ARCHIVE_AE, "127.0.0.1", archive.port)
    config = WorkstationConfig(calling_ae_title=STORE_AE, network_timeout=20, nodes=(node,),
                               temporary_store=TemporaryStore(ae_title=STORE_AE, port=0))
    return config, node


def test_echo_answers_and_failures_are_exact(archive: Dcmqrscp) -> None:
    config, node = _config(archive)
    assert verify_node(config, node).ok
    with pytest.raises(AssociationError) as rejected:
        verify_node(config, RemoteNode("wrong", "NOT_ARCHIVE", "127.0.0.1", archive.port))
    assert rejected.value.kind == "rejected"
    assert "Called AE title not recognised" in str(rejected.value)
    archive.stop()
    with pytest.raises(AssociationError) as refused:
        verify_node(config, node)
    assert refused.value.kind == "refused" and "Connection refused" in str(refused.value)


def test_study_series_image_levels(archive: Dcmqrscp, studies: list[Study]) -> None:
    config, node = _config(archive)
    outcome = search(config, [node], StudyQuery(patient_name="SMITH*").identifier())
    assert outcome.statuses[0].ok and outcome.statuses[0].count == 2
    assert {m.uid for m in outcome.matches} == {studies[0].study_uid, studies[1].study_uid}
    assert all(m.node == "archive" for m in outcome.matches)
    by_date = search(config, [node], StudyQuery(study_date="20240101-20240228").identifier())
    assert [m.get("PatientID") for m in by_date.matches] == ["P001"]

    series = series_of(config, node, studies[0].study_uid)
    assert {m.uid for m in series.matches} == set(studies[0].series)
    assert sorted(m.get("SeriesNumber") for m in series.matches) == ["1", "2"]

    first_series = next(iter(studies[0].series))
    images = search(config, [node], level_identifier("IMAGE", studies[0].study_uid, first_series))
    assert len(images.matches) == 4 and all(m.level == "IMAGE" and m.uid for m in images.matches)


def test_fetch_opens_while_images_arrive(archive: Dcmqrscp, store: TemporaryStorageSCP, studies: list[Study]) -> None:
    config, node = _config(archive)
    assert store.area is not None
    opened: list[LocalSeriesSource] = []
    request = RetrieveRequest(node, studies[0].study_uid)
    fetch = Fetch(config, store.area, STORE_AE, request, on_first_image=opened.append)
    steps: list[tuple[int, int]] = []
    result = fetch.run(progress=lambda done, total: steps.append((done, total)))
    assert result.ok, result.describe()
    assert result.counts.completed == 7 and result.counts.failed == 0
    assert steps and steps[-1][1] == 7  # the pending responses' counts
    assert len(opened) == 1
    loaded = list(opened[0].load(CancelToken()))
    first = {str(ds.SeriesInstanceUID) for ds in loaded}
    assert len(first) == 1 and first <= set(studies[0].series)
    assert len(loaded) == len(studies[0].series[first.pop()])
    # Folders per source AE, study and series, named by counters, never from the UIDs.
    paths = [image.path.relative_to(store.area.folder) for image in store.area.images()]
    assert len(paths) == 7 and len({p.parent for p in paths}) == 2
    assert all(studies[0].study_uid not in str(p) and "ARCHIVE" not in str(p) for p in paths)


def test_series_retrieve_moves_only_that_series(archive: Dcmqrscp, store: TemporaryStorageSCP,
                                                studies: list[Study]) -> None:
    config, node = _config(archive)
    second = list(studies[0].series)[1]
    result = retrieve(config, RetrieveRequest(node, studies[0].study_uid, (second,)), STORE_AE)
    assert result.ok and result.counts.completed == 3
    assert store.area is not None
    assert {i.series_instance_uid for i in store.area.images()} == {second}


def test_study_failing_part_way(archive: Dcmqrscp, store: TemporaryStorageSCP, studies: list[Study]) -> None:
    config, node = _config(archive)
    # Two files of the 5-image study disappear from the archive's storage area: their
    # sub-operations fail, the other three arrive.
    ours = [p for p in archive.stored_files() if p.stat().st_size > 0]
    victims = []
    for path in ours:
        ds = dcmread(path, stop_before_pixels=True)
        if ds.StudyInstanceUID == studies[2].study_uid and len(victims) < 2:
            victims.append(str(ds.SOPInstanceUID))
            path.unlink()
    assert len(victims) == 2
    result = retrieve(config, RetrieveRequest(node, studies[2].study_uid), STORE_AE)
    assert not result.ok
    assert result.counts.completed == 3 and result.counts.failed == 2, result.describe()
    assert result.status != 0x0000 and "2 failed" in result.describe()
    assert store.area is not None and len(store.area.images()) == 3
    assert result.status == 0xB000  # warning: sub-operations complete, one or more failures (PS3.4 C.4.2.1.5)
    assert set(result.failed_instances) == set(victims)


def test_import_to_the_lightbox_server(tmp_path: Path, server: RunningServer, studies: list[Study]) -> None:
    storage_ae = next(iter(server.storage))
    archive = serving_archive(tmp_path / "qr", studies, [(storage_ae, server.storage_port)])
    try:
        config, node = _config(archive)
        result = retrieve(config, RetrieveRequest(node, studies[1].study_uid), storage_ae)
        assert result.ok and result.counts.completed == 2, result.describe()
    finally:
        archive.stop()
    service = StudyService.connect(server.http_url)
    try:
        deadline = time.monotonic() + 10
        found = []
        while time.monotonic() < deadline and not found:
            found = service.list_studies(StudyInstanceUID=studies[1].study_uid)
        assert [s.patient_id for s in found] == ["P002"] and found[0].number_of_images == 2
    finally:
        service.close()


def test_cancel_of_a_retrieve_sends_c_cancel(tmp_path: Path, store: TemporaryStorageSCP) -> None:
    big = write_study(tmp_path / "big", "P009", "LONG^STUDY", [150], size=256)
    archive = serving_archive(tmp_path / "qr", [big], [(STORE_AE, store.port)])
    try:
        config, node = _config(archive)
        token = CancelToken()
        seen: list[int] = []

        def on_progress(done: int, total: int) -> None:
            seen.append(done)
            if done >= 3:
                token.cancel()

        result = retrieve(config, RetrieveRequest(node, big.study_uid), STORE_AE, cancel=token, progress=on_progress)
    finally:
        archive.stop()
    assert result.cancelled and result.status == 0xFE00, result.describe()
    assert 3 <= result.counts.completed < 150 and "Cancelled" in result.describe()
    assert store.area is not None and len(store.area.images()) < 150
