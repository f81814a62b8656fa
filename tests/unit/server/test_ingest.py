"""Ingest (app.server.context): full storage, policies, fallback, failures leave nothing."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.server.context import (
    CANNOT_UNDERSTAND,
    COERCED,
    DATASET_MISMATCH,
    DUPLICATE,
    OUT_OF_RESOURCES,
    SUCCESS,
    Ingest,
    StoredEvent,
)
from app.server.index.records import Level, SearchRequest
from tests.unit.server.index_lock import index_lock_held

pytestmark = pytest.mark.postgresql  # index_url: SQLite and PostgreSQL

IngestFactory = Callable[..., Ingest]


def data_file(name: str) -> str:
    """Path of one of pydicom's bundled test files (never downloads)."""
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return str(path)


def dataset_bytes(path: str) -> tuple[bytes, pydicom.Dataset]:
    """The encoded data set of a Part 10 file (after preamble and file meta) and its parse."""
    with open(path, "rb") as fh:
        pydicom.filereader.read_preamble(fh, False)
        pydicom.filereader._read_file_meta_info(fh)
        raw = fh.read()
    return raw, pydicom.dcmread(path)


def stored_files(ingest: Ingest) -> list[Path]:
    return sorted(p for p in ingest.storage.root.rglob("*") if p.is_file())


def store_file(ingest: Ingest, name: str, **kw: str) -> tuple[object, bytes, pydicom.Dataset]:
    raw, ds = dataset_bytes(data_file(name))
    outcome = ingest.store_encoded(
        raw, transfer_syntax=ds.file_meta.TransferSyntaxUID, sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID, source_ae=kw.get("source_ae", "MODALITY"), called_ae="DICOM_STORAGE",
    )
    return outcome, raw, ds


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "JPEG2000.dcm", "image_dfl.dcm",
             "SC_rgb_rle.dcm"],
)
def test_data_set_is_stored_byte_for_byte(make_ingest: IngestFactory, name: str) -> None:
    ingest = make_ingest()
    outcome, raw, ds = store_file(ingest, name)
    assert outcome.status in (SUCCESS, COERCED), outcome  # type: ignore[attr-defined]
    [file] = [p for p in stored_files(ingest) if p.suffix == ".dcm"]
    data = file.read_bytes()
    if outcome.status == SUCCESS:  # type: ignore[attr-defined]
        assert data.endswith(raw)  # full (level 2) storage: never re-encoded
    stored = pydicom.dcmread(file)
    assert stored.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert stored.file_meta.ImplementationVersionName == IMPLEMENTATION_VERSION_NAME
    assert stored.file_meta.SourceApplicationEntityTitle == "MODALITY"
    assert stored.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    assert stored.SOPInstanceUID == ds.SOPInstanceUID
    assert list(ingest.storage.tmp_dir.iterdir()) == []
    [row] = ingest.catalogue.search(SearchRequest(Level.IMAGE, include_all=True))
    assert row["SOPInstanceUID"] == ds.SOPInstanceUID
    assert row["AvailableTransferSyntaxUID"] == ds.file_meta.TransferSyntaxUID
    assert row["Rows"] == ds.Rows


def test_file_object_input_and_listener(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    events: list[StoredEvent] = []
    ingest.add_listener(events.append)
    raw, ds = dataset_bytes(data_file("CT_small.dcm"))
    outcome = ingest.store_encoded(
        BytesIO(raw), transfer_syntax=ds.file_meta.TransferSyntaxUID, sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID,
    )
    assert outcome.status == SUCCESS
    assert [e.sop_instance_uid for e in events] == [ds.SOPInstanceUID]
    assert ingest.catalogue.change_counter() == 1


def test_policy_keep_stores_both(make_ingest: IngestFactory) -> None:
    ingest = make_ingest("keep")
    assert store_file(ingest, "CT_small.dcm")[0].status == SUCCESS  # type: ignore[attr-defined]
    assert store_file(ingest, "CT_small.dcm")[0].status == SUCCESS  # type: ignore[attr-defined]
    assert len(stored_files(ingest)) == 2
    assert ingest.catalogue.count_instances() == 2


def test_policy_overwrite_replaces(make_ingest: IngestFactory) -> None:
    ingest = make_ingest("overwrite")
    store_file(ingest, "CT_small.dcm")
    [first] = stored_files(ingest)
    assert store_file(ingest, "CT_small.dcm")[0].status == SUCCESS  # type: ignore[attr-defined]
    [second] = stored_files(ingest)
    assert first != second and not first.exists()
    assert ingest.catalogue.count_instances() == 1


def test_policy_reject_answers_duplicate(make_ingest: IngestFactory) -> None:
    ingest = make_ingest("reject")
    store_file(ingest, "CT_small.dcm")
    outcome = store_file(ingest, "CT_small.dcm")[0]
    assert outcome.status == DUPLICATE  # type: ignore[attr-defined]
    assert len(stored_files(ingest)) == 1
    assert ingest.catalogue.count_instances() == 1


def _without_patient_id(name: str = "CT_small.dcm", patient_name: str | None = None) -> pydicom.Dataset:
    ds = pydicom.dcmread(data_file(name))
    ds.PatientID = ""
    if patient_name is not None:
        ds.PatientName = patient_name
    ds.add_new(0x00091010, "LO", "private kept")  # private elements survive the rewrite
    return ds


def test_patient_id_falls_back_to_patient_name(make_ingest: IngestFactory, caplog: pytest.LogCaptureFixture) -> None:
    ingest = make_ingest()
    outcome = ingest.store_dataset(_without_patient_id())
    assert outcome.status == COERCED
    [file] = stored_files(ingest)
    stored = pydicom.dcmread(file)
    assert stored.PatientID == "CompressedSamples^CT1"
    assert stored.OriginalAttributesSequence[0].ModifiedAttributesSequence[0].PatientID == ""
    assert stored[0x00091010].value == "private kept"
    assert stored.file_meta.TransferSyntaxUID == pydicom.dcmread(data_file("CT_small.dcm")).file_meta.TransferSyntaxUID
    assert stored.pixel_array.shape == (128, 128)
    [study] = ingest.catalogue.search(SearchRequest(Level.STUDY))
    assert study["PatientID"] == "CompressedSamples^CT1"
    assert any(r.levelname == "WARNING" and "no Patient ID" in r.getMessage() for r in caplog.records)
    assert not any("CompressedSamples" in r.getMessage() for r in caplog.records)  # no PHI in the log


def test_patient_id_falls_back_to_request_number(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    ds = _without_patient_id("MR_small_bigendian.dcm", patient_name="^^^")
    assert ingest.store_dataset(ds).status == COERCED
    ds.SOPInstanceUID += ".2"
    assert ingest.store_dataset(ds).status == COERCED
    ids = sorted(pydicom.dcmread(p).PatientID for p in stored_files(ingest))
    assert ids == ["LBX00000001", "LBX00000002"]
    stored = pydicom.dcmread(stored_files(ingest)[0])
    assert stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.2"  # same transfer syntax


def test_index_failure_answers_out_of_resources_and_leaves_nothing(make_ingest: IngestFactory) -> None:
    ingest = make_ingest(busy_timeout_ms=100)
    with index_lock_held(ingest.config.effective_index_url()):  # a real lock held by another connection
        outcome = store_file(ingest, "CT_small.dcm")[0]
    assert outcome.status == OUT_OF_RESOURCES  # type: ignore[attr-defined]
    assert stored_files(ingest) == []
    assert ingest.catalogue.count_instances() == 0
    assert store_file(ingest, "CT_small.dcm")[0].status == SUCCESS  # type: ignore[attr-defined]


def test_malformed_data_set_is_refused(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    garbage = b"\x08\x00\x16\x00UI\xff\x7f1.2.3" + b"\x00" * 10  # length runs past the end
    outcome = ingest.store_encoded(
        garbage, transfer_syntax="1.2.840.10008.1.2.1", sop_class_uid="1.2.3", sop_instance_uid="1.2.3.4"
    )
    assert outcome.status in (CANNOT_UNDERSTAND, DATASET_MISMATCH)
    assert outcome.comment
    assert stored_files(ingest) == []


def test_missing_study_uid_and_mismatched_command(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    ds = pydicom.dcmread(data_file("CT_small.dcm"))
    del ds.StudyInstanceUID
    outcome = ingest.store_dataset(ds)
    assert outcome.status == DATASET_MISMATCH and "StudyInstanceUID" in outcome.comment
    raw, ds = dataset_bytes(data_file("CT_small.dcm"))
    outcome = ingest.store_encoded(
        raw, transfer_syntax=ds.file_meta.TransferSyntaxUID, sop_class_uid=ds.SOPClassUID, sop_instance_uid="1.2.3"
    )
    assert outcome.status == DATASET_MISMATCH
    assert len(outcome.comment) <= 64
    assert stored_files(ingest) == []


def test_part10_and_not_part10(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    with open(data_file("CT_small.dcm"), "rb") as fh:
        assert ingest.store_part10(fh, expected_study_uid="9.9").status == DATASET_MISMATCH
        fh.seek(0)
        assert ingest.store_part10(fh).status == SUCCESS
    assert ingest.store_part10(BytesIO(b"not dicom at all" * 20)).status == CANNOT_UNDERSTAND


def test_concurrent_stores(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    template = pydicom.dcmread(data_file("CT_small.dcm"))
    outcomes: list[int] = []

    def worker(k: int) -> None:
        for i in range(5):
            ds = copy.deepcopy(template)
            ds.SOPInstanceUID = f"{template.SOPInstanceUID}.{k}.{i}"
            ds.SeriesInstanceUID = f"{template.SeriesInstanceUID}.{k % 3}"
            outcomes.append(ingest.store_dataset(ds).status)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [SUCCESS] * 40
    [study] = ingest.catalogue.search(SearchRequest(Level.STUDY))
    assert study["NumberOfStudyRelatedInstances"] == 40
    assert study["NumberOfStudyRelatedSeries"] == 3
    assert len(stored_files(ingest)) == 40


class _FailingStream(BytesIO):
    """A received stream that breaks half-way (as a dropped association or a full disk would)."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100")
        self.exc = exc

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() > 0:
            raise self.exc
        return super().read(8)


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), ValueError("closed")])
def test_write_failure_leaves_no_temp_file(make_ingest: IngestFactory, exc: Exception) -> None:
    ingest = make_ingest()
    outcome = ingest.store_encoded(
        _FailingStream(exc), transfer_syntax="1.2.840.10008.1.2.1", sop_class_uid="1.2.3", sop_instance_uid="1.2.3.4"
    )
    assert outcome.status == OUT_OF_RESOURCES
    assert stored_files(ingest) == []
    assert ingest.catalogue.count_instances() == 0


def test_file_meta_encoding_matches_pydicom() -> None:
    from pydicom.dataset import FileMetaDataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_file_meta_info

    from app.dicom.file_meta import file_meta_bytes

    for source, called in [("MODALITY", "DICOM_STORAGE"), ("ODD", ""), ("", "")]:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = "1.2.3.45"
        meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.91"
        meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
        if source:
            meta.SourceApplicationEntityTitle = source
            meta.SendingApplicationEntityTitle = source
        if called:
            meta.ReceivingApplicationEntityTitle = called
        fp = DicomBytesIO()
        fp.is_little_endian, fp.is_implicit_VR = True, False
        write_file_meta_info(fp, meta, enforce_standard=True)
        ours = file_meta_bytes("1.2.840.10008.1.2.4.91", "1.2.840.10008.5.1.4.1.1.2", "1.2.3.45", source, called)
        assert ours == b"\x00" * 128 + b"DICM" + fp.getvalue()


def test_buffer_view_input_is_stored_unchanged(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    raw, ds = dataset_bytes(data_file("CT_small.dcm"))
    buffer = bytearray(b"xx" + raw)
    outcome = ingest.store_encoded(
        memoryview(buffer)[2:], transfer_syntax=ds.file_meta.TransferSyntaxUID, sop_class_uid=ds.SOPClassUID,
        sop_instance_uid=ds.SOPInstanceUID,
    )
    assert outcome.status == SUCCESS
    [file] = stored_files(ingest)
    assert file.read_bytes().endswith(raw)
