"""Admin stores over a real index (SQLite and PostgreSQL): status, change log, corrections, merges,
splits, deletion."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.core.errors import ConflictError, InvalidRequestError, NotFoundError
from app.server.index.admin_records import StudyState
from app.server.index.records import Level, SearchRequest
from app.server.index.stores import IndexStores, open_index
from tests.unit.server.test_index import record

pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL
pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL


@pytest.fixture
def stores(index_url: str) -> Iterator[IndexStores]:
    index = open_index(index_url, busy_timeout_ms=200)
    yield index
    index.close()


def _fill(index: IndexStores) -> int:
    """P1 with studies 1.2.1 (two series, 3 instances) and 1.2.2 (1 instance); P2 with 1.2.3.
    Returns the id of the last change (one ``received`` change per new study)."""
    for kw in (
        {"series_instance_uid": "1.2.1.1"}, {"series_instance_uid": "1.2.1.1"},
        {"series_instance_uid": "1.2.1.2", "modality": "MR"},
        {"study_instance_uid": "1.2.2", "series_instance_uid": "1.2.2.1", "accession_number": "ACC2"},
        {"study_instance_uid": "1.2.3", "series_instance_uid": "1.2.3.1", "patient_id": "P2",
         "patient_name": "Roe^Rick"},
    ):
        index.catalogue.add_instance(record(**kw))
    received = index.changes.since(0)
    assert [(c.kind, c.study_instance_uid, c.patient_id) for c in received] == [
        ("received", "1.2.1", "P1"), ("received", "1.2.2", "P1"), ("received", "1.2.3", "P2")]
    return received[-1].id


def _study(index: IndexStores, uid: str) -> dict[str, object]:
    rows = index.catalogue.search(SearchRequest(Level.STUDY, {"StudyInstanceUID": uid}))
    assert len(rows) == 1
    return rows[0]


def test_status_goes_new_read_approved_and_is_logged(stores: IndexStores) -> None:
    start = _fill(stores)
    assert set(stores.study_status.statuses().values()) == {"new"}
    counter = stores.catalogue.change_counter()
    assert stores.study_status.mark_read("1.2.1", "reader").status is StudyState.READ
    approved = stores.study_status.approve("1.2.1", "dr.who")
    assert (approved.status, approved.approved_by) == (StudyState.APPROVED, "dr.who")
    assert approved.approved_at is not None and approved.read_by == "reader"
    assert stores.study_status.mark_read("1.2.1", "other").status is StudyState.APPROVED  # stays approved
    with pytest.raises(ConflictError, match=r"approved already by dr\.who"):
        stores.study_status.approve("1.2.1", "again")
    with pytest.raises(NotFoundError):
        stores.study_status.approve("9.9", "x")
    assert stores.study_status.statuses() == {"1.2.1": "approved", "1.2.2": "new", "1.2.3": "new"}
    changes = stores.changes.since(start)
    assert [(c.kind, c.study_instance_uid, c.by) for c in changes] == [
        ("read", "1.2.1", "reader"), ("approved", "1.2.1", "dr.who")]
    assert changes[0].id < changes[1].id
    assert stores.catalogue.change_counter() == counter + 2
    assert stores.changes.since(changes[0].id) == changes[1:]


def test_study_correction_changes_the_catalogue_and_marks_the_study(stores: IndexStores) -> None:
    _fill(stores)
    assert stores.corrections.catalogue_values("1.2.2").corrected is False  # type: ignore[union-attr]
    stores.corrections.correct_study("1.2.2", {"AccessionNumber": "NEWACC", "StudyDescription": "Fixed"}, "adm")
    row = _study(stores, "1.2.2")
    assert (row["AccessionNumber"], row["StudyDescription"]) == ("NEWACC", "Fixed")
    values = stores.corrections.catalogue_values("1.2.2")
    assert values is not None and values.corrected and values.values["AccessionNumber"] == "NEWACC"
    assert stores.corrections.catalogue_values("1.2.1").corrected is False  # type: ignore[union-attr]
    change = stores.changes.since(0)[-1]
    assert change.detail["before"] == {"AccessionNumber": "ACC2", "StudyDescription": ""}
    # the patient has another study: a name change on one study alone is refused ...
    with pytest.raises(ConflictError, match="PATCH /api/patients/P1"):
        stores.corrections.correct_study("1.2.2", {"PatientName": "X^Y"}, "adm")
    # ... a new Patient ID splits the study off to a new patient made of the old one's values
    stores.corrections.correct_study("1.2.2", {"PatientID": "P9", "PatientName": "Nine^Pat"}, "adm")
    row = _study(stores, "1.2.2")
    assert (row["PatientID"], row["PatientName"], row["PatientBirthDate"]) == ("P9", "Nine^Pat", "19700101")
    assert _study(stores, "1.2.1")["PatientName"] == "Doe^Jane"
    # an existing patient with other values: refused, nothing changed
    with pytest.raises(ConflictError, match="exists already"):
        stores.corrections.correct_study("1.2.2", {"PatientID": "P2", "PatientName": "Other^Name"}, "adm")
    assert _study(stores, "1.2.2")["PatientID"] == "P9"


def test_patient_correction_merge_and_split(stores: IndexStores) -> None:
    start = _fill(stores)
    result = stores.corrections.correct_patient("P1", {"PatientName": "Doe^Janet", "PatientSex": "O"}, "adm")
    assert set(result.study_instance_uids) == {"1.2.1", "1.2.2"}
    assert {_study(stores, u)["PatientName"] for u in ("1.2.1", "1.2.2")} == {"Doe^Janet"}
    names = stores.catalogue.search(SearchRequest(Level.STUDY, {"PatientName": "doe^janet"}))
    assert len(names) == 2  # the lower-cased copy follows (PN matching is case-insensitive)
    assert stores.corrections.catalogue_values("1.2.1").corrected  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="merge"):
        stores.corrections.correct_patient("P1", {"PatientID": "P2"}, "adm")
    with pytest.raises(InvalidRequestError):
        stores.corrections.correct_patient("P1", {"StudyDescription": "x"}, "adm")
    merged = stores.corrections.merge("P2", "P1", "adm")
    assert merged.study_instance_uids == ("1.2.3",)
    assert _study(stores, "1.2.3")["PatientName"] == "Doe^Janet"
    assert stores.catalogue.search(SearchRequest(Level.STUDY, {"PatientID": "P2"})) == []
    with pytest.raises(NotFoundError):
        stores.corrections.merge("P2", "P1", "adm")
    split = stores.corrections.split("P1", ["1.2.3"], "P3", {"PatientName": "Three^Pat"}, "adm")
    assert split.study_instance_uids == ("1.2.3",)
    row = _study(stores, "1.2.3")
    assert (row["PatientID"], row["PatientName"], row["PatientSex"]) == ("P3", "Three^Pat", "O")
    with pytest.raises(NotFoundError, match=r"no study 1\.2\.3"):
        stores.corrections.split("P1", ["1.2.3"], "P4", {}, "adm")
    kinds = [c.kind for c in stores.changes.since(start)]
    assert kinds == ["corrected", "merged", "split"]


def test_deletion_removes_rows_first_and_reports_the_files(stores: IndexStores) -> None:
    start = _fill(stores)
    stores.study_status.approve("1.2.1", "adm")
    one = stores.catalogue.stored_instances("1.2.1", "1.2.1.1")[0]
    gone = stores.deletions.delete("1.2.1", "1.2.1.1", one.sop_instance_uid, by="adm")
    assert [r.relpath for r in gone.removed] == [one.relpath] and not gone.study_gone
    assert _study(stores, "1.2.1")["NumberOfStudyRelatedInstances"] == 2
    series = stores.deletions.delete("1.2.1", "1.2.1.2")
    assert len(series.removed) == 1 and _study(stores, "1.2.1")["ModalitiesInStudy"] == ["CT"]
    with pytest.raises(NotFoundError, match=r"no series 1\.2\.1\.2"):
        stores.deletions.delete("1.2.1", "1.2.1.2")
    study = stores.deletions.delete("1.2.1", by="adm")
    assert study.study_gone and len(study.removed) == 1 and study.values["PatientID"] == "P1"
    assert stores.catalogue.stored_instances("1.2.1") == []
    assert "1.2.1" not in stores.study_status.statuses()  # the status went with the study
    stores.deletions.delete("1.2.2")
    assert stores.catalogue.search(SearchRequest(Level.PATIENT, {"PatientID": "P1"})) == []  # emptied patient
    assert [(c.kind, c.level) for c in stores.changes.since(start)][1:] == [
        ("deleted", "instance"), ("deleted", "series"), ("deleted", "study"), ("deleted", "study")]
    with pytest.raises(NotFoundError):
        stores.deletions.delete("1.2.1")
    # a study deleted and received again starts over (the catalogue's remembered series rechecked)
    stores.catalogue.add_instance(record(study_instance_uid="1.2.2", series_instance_uid="1.2.2.1"))
    assert _study(stores, "1.2.2")["NumberOfStudyRelatedInstances"] == 1
    assert stores.changes.since(0)[-1].kind == "received"  # a new study again


def test_change_ids_become_visible_in_order(index_url: str) -> None:
    """A writer of the log waits for the one before it to commit, so no poller of ``since`` skips
    a change committed late with a smaller id (PostgreSQL sequences hand ids out at insert)."""
    from app.server.index import engine as engine_mod
    from app.server.index.admin_records import ChangeRequest
    from app.server.index.changes import record_change

    stores = open_index(index_url, busy_timeout_ms=10_000)  # the second writer waits rather than fails
    release, second_done = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def second() -> None:
        ids["second"] = stores.changes.record(ChangeRequest("read", "study", "1.2.9", by="second"))
        second_done.set()

    with engine_mod.writing(stores.engine, "the change log") as conn:
        # as the ingest does: the counter is moved later in the transaction, not here
        ids["first"] = record_change(conn, ChangeRequest("received", "study", "1.2.8", by="first"), count=False)
        worker = threading.Thread(target=second)
        worker.start()
        assert not second_done.wait(0.5)  # held back while the first is uncommitted
        assert stores.changes.since(0) == []  # nothing visible yet
        release.set()
    worker.join(10)
    assert second_done.is_set() and ids["first"] < ids["second"]
    assert [c.by for c in stores.changes.since(0)] == ["first", "second"]
    stores.close()
