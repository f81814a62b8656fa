"""Corrected values: validation per VR and the overlay on outbound data sets."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from app.core.errors import InvalidRequestError
from app.server.corrections import apply_catalogue_values, check_changes
from app.server.index.admin_records import PATIENT_KEYWORDS, STUDY_KEYWORDS, CatalogueValues

ALL = PATIENT_KEYWORDS + STUDY_KEYWORDS


def _dataset(charset: str | None = None) -> Dataset:
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.PatientName = "OLD^NAME"
    ds.PatientID = "P1"
    ds.StudyDescription = "Caf\u00e9" if charset == "ISO_IR 100" else "HEAD"
    ds.AccessionNumber = "A1"
    return ds


def _round_trip(ds: Dataset) -> Dataset:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    return dcmread(BytesIO(buf.getvalue()), force=True)


def test_overlay_sets_values_and_adds_only_non_empty_missing_ones() -> None:
    ds = _dataset()
    values = CatalogueValues("1.2", {"PatientName": "NEW^NAME", "PatientID": "P2", "StudyDate": "",
                                     "ReferringPhysicianName": "REF^DOC", "AccessionNumber": ""}, corrected=True)
    apply_catalogue_values(ds, values)
    back = _round_trip(ds)
    assert str(back.PatientName) == "NEW^NAME" and back.PatientID == "P2"
    assert str(back.ReferringPhysicianName) == "REF^DOC"
    assert back.AccessionNumber == ""  # present in the file: emptied
    assert "StudyDate" not in back  # absent and empty: left out


def test_overlay_switches_to_utf8_when_the_charset_cannot_carry_the_value() -> None:
    ds = _round_trip(_dataset("ISO_IR 100"))  # raw elements, decoded lazily in Latin-1
    apply_catalogue_values(ds, {"PatientName": "\u5c71\u7530^\u592a\u90ce"})
    back = _round_trip(ds)
    assert back.SpecificCharacterSet == "ISO_IR 192"
    assert str(back.PatientName) == "\u5c71\u7530^\u592a\u90ce"
    assert back.StudyDescription == "Caf\u00e9"  # the Latin-1 text kept its meaning


def test_overlay_keeps_a_charset_that_can_carry_the_value() -> None:
    ds = _round_trip(_dataset("ISO_IR 100"))
    apply_catalogue_values(ds, {"PatientName": "M\u00fcller^Hans"})
    back = _round_trip(ds)
    assert back.SpecificCharacterSet == "ISO_IR 100" and str(back.PatientName) == "M\u00fcller^Hans"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, "no change given"),
        ({"SeriesDescription": "x"}, "cannot be corrected"),
        ({"PatientBirthDate": "19701345"}, "YYYYMMDD"),
        ({"PatientBirthDate": "1970-01-01"}, "PatientBirthDate (DA)"),
        ({"PatientSex": "X"}, "M, F, O"),
        ({"AccessionNumber": "A" * 17}, "AccessionNumber (SH)"),
        ({"PatientID": ""}, "cannot be empty"),
        ({"PatientName": 5}, "JSON string"),
        ({"StudyDescription": "a\\b"}, "backslash"),
    ],
)
def test_bad_changes_are_refused_with_the_keyword_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_changes(changes, ALL)


def test_good_changes_are_cleaned() -> None:
    assert check_changes({"PatientSex": "f", "PatientName": " DOE^JANE ", "StudyDate": "20240229"}, ALL) == {
        "PatientSex": "F", "PatientName": "DOE^JANE", "StudyDate": "20240229"}
    with pytest.raises(InvalidRequestError):
        check_changes({"StudyDate": "20240229"}, PATIENT_KEYWORDS)
