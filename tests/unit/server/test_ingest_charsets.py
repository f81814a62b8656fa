"""Ingest of text in every character set (PS3.5 6.1): stored as received, indexed decoded, and
never refused for a character set problem (a wrong or unknown declaration is the sender's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataelem import DataElement
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from app.server.context import SUCCESS, Ingest
from app.server.index.records import Level, SearchRequest

IngestFactory = Callable[..., Ingest]


def _encoded(charset: str | None, raw_name: bytes, pid: str) -> tuple[bytes, str]:
    """A CT data set whose Patient's Name is ``raw_name`` as bytes, under ``charset``."""
    ds = dcmread(get_testdata_file("CT_small.dcm", download=False))
    del ds.PixelData
    if charset is None:
        del ds.SpecificCharacterSet
    else:
        ds.SpecificCharacterSet = charset
    ds[0x00100010] = DataElement(0x00100010, "PN", raw_name)
    ds.PatientID = pid
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid(), generate_uid()
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    return buffer.getvalue(), str(ds.SOPInstanceUID)


def _store(ingest: Ingest, data: bytes, sop_instance: str) -> int:
    outcome = ingest.store_encoded(
        data, transfer_syntax=ExplicitVRLittleEndian, sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        sop_instance_uid=sop_instance, source_ae="MODALITY", called_ae="DICOM_STORAGE",
    )
    return outcome.status


def _name(ingest: Ingest, **filters: str) -> set[str]:
    rows = ingest.catalogue.search(SearchRequest(Level.STUDY, filters, returned=("PatientName", "PatientID")))
    return {f"{r['PatientID']}:{r['PatientName']}" for r in rows}


@pytest.mark.parametrize(
    ("charset", "raw", "expected"),
    [
        ("ISO_IR 100", "Müller^Hans".encode("latin-1"), "Müller^Hans"),
        ("ISO_IR 192", "Müller^Hans".encode(), "Müller^Hans"),
        (None, "Müller^Hans".encode("latin-1"), "Müller^Hans"),  # undeclared: read as Latin-1, as pydicom does
        ("ISO_IR 144", "Люкceмбypг".encode("iso8859_5"), "Люкceмбypг"),
    ],
)
def test_names_are_indexed_decoded_and_matched_folded(
    make_ingest: IngestFactory, charset: str | None, raw: bytes, expected: str
) -> None:
    ingest = make_ingest()
    data, uid = _encoded(charset, raw, "P1")
    assert _store(ingest, data, uid) == SUCCESS
    assert _name(ingest, PatientID="P1") == {f"P1:{expected}"}
    # The stored file holds the bytes as received; the index matches the name case-insensitively.
    [path] = [p for p in ingest.storage.root.rglob("*") if p.is_file()]
    assert raw in Path(path).read_bytes()
    assert _name(ingest, PatientName=expected.upper()[:4] + "*") == {f"P1:{expected}"}


@pytest.mark.parametrize(
    ("charset", "raw"),
    [
        ("ISO_IR 192", "Müller^Hans".encode("latin-1")),  # declared UTF-8, sent Latin-1
        ("ISO_IR 999", "Müller^Hans".encode("latin-1")),  # a character set no one knows
    ],
)
def test_a_wrong_declaration_is_still_stored(make_ingest: IngestFactory, charset: str, raw: bytes) -> None:
    ingest = make_ingest()
    data, uid = _encoded(charset, raw, "P2")
    assert _store(ingest, data, uid) == SUCCESS
    [row] = _name(ingest, PatientID="P2")
    assert row.startswith("P2:M") and row.endswith("ller^Hans")


def test_iso_2022_japanese_name_is_indexed_as_pydicom_decodes_it(make_ingest: IngestFactory) -> None:
    ingest = make_ingest()
    source = dcmread(get_charset_files("chrH31.dcm")[0])
    raw = source.get_item("PatientName").value
    data, uid = _encoded(list(source.SpecificCharacterSet), raw, "H31")
    assert _store(ingest, data, uid) == SUCCESS
    assert _name(ingest, PatientID="H31") == {"H31:" + str(source.PatientName)}
    assert _name(ingest, PatientName="yamada^tarou=山田*") == {"H31:" + str(source.PatientName)}
