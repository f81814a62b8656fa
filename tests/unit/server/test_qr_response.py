"""C-FIND response identifiers (PS3.4 C.4.1.1.3.2): the fast build equals pydicom's validating one.

:func:`app.server.qr_models.response_identifier` builds its elements directly, without
pydicom's per-element validation. The oracle here is the validating construction through
``setattr`` (what the SCP did before); both are encoded by pynetdicom's ``encode`` in the
transfer syntaxes a C-FIND may run in and must give the same bytes and the same values, over
many rows: ASCII, Latin-1, Greek, Japanese (ISO 2022 code extensions), UTF-8, empty and
missing values, numbers, multi-valued codes, odd lengths, and keys the index has no value for.

:class:`app.server.find_encoding.FlatEncoder` (identifiers encoded by hand for the negotiated
transfer syntax) is held to the same oracle.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from io import BytesIO
from typing import Any

import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode, encode

from app.dicom.charsets import declare, response_charset
from app.server.find_encoding import FlatEncoder, for_context, install
from app.server.index.records import Level
from app.server.qr_models import PATIENT_ROOT, STUDY_ROOT, ParsedQuery, parse_find, response_identifier

TEXTS = (
    "", "A", "AB", "SMITH^JOHN", "Müller^Jürgen", "Διονυσιος", "山田^太郎=やまだ^たろう", "Ünïcødé ✓", "x" * 63,
    "CT\\MR", " lead", "trail ",
)
#: Each level's keys with a value maker (the row types the index returns).
KEYS: Mapping[Level, Mapping[str, Any]] = {
    Level.PATIENT: {
        "PatientName": TEXTS, "PatientID": TEXTS, "PatientBirthDate": ("", "19700101"), "PatientSex": ("", "F", "O"),
        "NumberOfPatientRelatedStudies": (0, 1, 12), "NumberOfPatientRelatedInstances": (0, 7, 1000),
    },
    Level.STUDY: {
        "PatientName": TEXTS, "PatientID": TEXTS, "StudyInstanceUID": ("1.2.3", "1.2.34", "1.2.840.1"),
        "StudyDate": ("", "20190301"), "StudyTime": ("", "1200", "120000.5"), "AccessionNumber": TEXTS,
        "StudyDescription": TEXTS, "ReferringPhysicianName": TEXTS, "StudyID": ("", "1", "12"),
        "ModalitiesInStudy": ("", "CT", ["CT", "MR"], ["OT"]), "NumberOfStudyRelatedSeries": (0, 3),
        "NumberOfStudyRelatedInstances": (1, 250),
    },
    Level.SERIES: {
        "StudyInstanceUID": ("1.2.3",), "SeriesInstanceUID": ("1.2.3.4", "1.2.3.45"), "Modality": ("CT", "SR"),
        "SeriesNumber": (None, 1, 12), "SeriesDescription": TEXTS, "BodyPartExamined": ("", "CHEST"),
        "NumberOfSeriesRelatedInstances": (0, 9),
    },
    Level.IMAGE: {
        "StudyInstanceUID": ("1.2.3",), "SeriesInstanceUID": ("1.2.3.4",),
        "SOPInstanceUID": ("1.2.3.4.5", "1.2.3.4.56"),
        "SOPClassUID": ("1.2.840.10008.5.1.4.1.1.2",), "InstanceNumber": (None, 1, 100), "Rows": (None, 512),
        "Columns": (None, 511), "NumberOfFrames": (None, 1, 30),
    },
}
#: Keys outside the index: filled (AE title, availability) or returned zero-length, a sequence among them.
UNKNOWN = ("RetrieveAETitle", "InstanceAvailability", "PatientAge", "ProcedureCodeSequence", "OtherPatientIDs")
REQUEST_CHARSETS = (None, "ISO_IR 100", "ISO_IR 126", ["", "ISO 2022 IR 87"], "ISO_IR 192")
#: (implicit VR, little endian): the uncompressed transfer syntaxes of a C-FIND.
SYNTAXES = ((True, True), (False, True), (False, False))


def _validating_build(
    query: ParsedQuery, row: Mapping[str, Any], retrieve_ae_title: str, request_charset: Any
) -> Dataset:
    """The oracle: every element set through pydicom's validating ``setattr``."""
    ds = Dataset()
    charset = declare(response_charset((row.get(k) for k in query.returned), request_charset))
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.QueryRetrieveLevel = query.level.value
    for keyword in query.returned:
        value = row.get(keyword)
        setattr(ds, keyword, None if value is None or value == "" else value)
    for tag, vr in query.unknown.items():
        keyword = keyword_for_tag(tag)
        if keyword == "RetrieveAETitle":
            ds.RetrieveAETitle = retrieve_ae_title
        elif keyword == "InstanceAvailability":
            ds.InstanceAvailability = "ONLINE"
        else:
            vr = vr or dictionary_VR(tag)
            ds.add_new(tag, vr, [] if vr == "SQ" else None)
    return ds


def _query(level: Level) -> ParsedQuery:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = level.value
    if level in (Level.SERIES, Level.IMAGE):
        identifier.StudyInstanceUID = "1.2.3"
    if level is Level.IMAGE:
        identifier.SeriesInstanceUID = "1.2.3.4"
    for keyword in KEYS[level]:
        if keyword not in identifier:
            setattr(identifier, keyword, None)
    for keyword in UNKNOWN:
        setattr(identifier, keyword, [] if keyword.endswith("Sequence") else None)
    model = PATIENT_ROOT if level is Level.PATIENT else STUDY_ROOT
    query = parse_find(identifier, model, limit=None)
    assert set(KEYS[level]) <= set(query.returned) and len(query.unknown) == len(UNKNOWN)
    return query


def _rows(level: Level, count: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    return [{k: rnd.choice(values) for k, values in KEYS[level].items()} for _ in range(count)]


@pytest.mark.parametrize("level", list(Level))
def test_fast_build_encodes_byte_for_byte_as_the_validating_build(level: Level) -> None:
    query = _query(level)
    compared = 0
    for n, (row, charset) in enumerate(itertools.product(_rows(level, 60, seed=len(level.value)), REQUEST_CHARSETS)):
        fast = response_identifier(query, row, "QR_AE", request_charset=charset)
        oracle = _validating_build(query, row, "QR_AE", charset)
        assert list(fast.keys()) == list(oracle.keys()), n
        for elem in oracle:
            assert fast[elem.tag].VR == elem.VR and fast[elem.tag].value == elem.value, (n, elem)
        for implicit, little in SYNTAXES:
            expected = encode(oracle, implicit, little)
            assert expected  # pydicom could encode the oracle
            assert encode(fast, implicit, little) == expected, (n, implicit, little)
            compared += 1
    assert compared == 60 * len(REQUEST_CHARSETS) * len(SYNTAXES)


def test_fast_build_keeps_empty_and_non_ascii_values() -> None:
    query = _query(Level.STUDY)
    row = {"PatientName": "山田^太郎", "PatientID": "", "StudyInstanceUID": "1.2.3", "ModalitiesInStudy": ["CT", "MR"]}
    ds = response_identifier(query, row, "QR_AE", request_charset=["", "ISO 2022 IR 87"])
    assert ds.SpecificCharacterSet == ["", "ISO 2022 IR 87"] and str(ds.PatientName) == "山田^太郎"
    assert ds["PatientID"].is_empty and ds["StudyDate"].is_empty and ds.ModalitiesInStudy == ["CT", "MR"]
    assert ds.RetrieveAETitle == "QR_AE" and ds.InstanceAvailability == "ONLINE" and ds.ProcedureCodeSequence == []
    assert b"\x1b$B" in encode(ds, True, True)  # the JIS X 0208 escape of the request's character set


def _ascii(row: Mapping[str, Any]) -> bool:
    return all(not isinstance(v, str) or v.isascii() for v in row.values()) and all(
        isinstance(x, str) and x.isascii() for v in row.values() if isinstance(v, list) for x in v
    )


def _values(ds: Dataset) -> list[tuple[Any, str, Any]]:
    """Each element's tag, VR and value; an empty one as None (a read data set decodes it to '')."""
    return [(e.tag, e.VR, None if e.is_empty else e.value) for e in ds]


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("implicit", [True, False])
def test_hand_encoding_equals_pydicoms(level: Level, implicit: bool) -> None:
    """:class:`FlatEncoder` bytes equal pydicom's for every ASCII row; other rows are left to pydicom."""
    query = _query(level)
    encoder = FlatEncoder(query, "QR_AE", implicit)
    # Image level returns Rows and Columns (US, binary): never hand-encoded.
    assert encoder.usable is (level is not Level.IMAGE)
    fast = 0
    for n, row in enumerate(_rows(level, 200, seed=7 + len(level.value))):
        encoded = encoder.identifier(row)
        if not encoder.usable or not _ascii(row):
            assert encoded is None, n
            continue
        assert encoded is not None, n
        oracle = _validating_build(query, row, "QR_AE", None)
        expected = encode(oracle, implicit, True)
        assert encoded.lightbox_encoding == (implicit, expected), n
        assert encode(encoded, implicit, True) == expected  # pydicom writing the raw elements agrees
        assert encode(encoded, not implicit, True) == encode(oracle, not implicit, True)  # and re-encodes
        # Its values are what a peer decodes from the oracle's bytes.
        assert _values(encoded) == _values(decode(BytesIO(expected), implicit, True)), n
        fast += 1
    assert fast > 20 or level is Level.IMAGE


def test_pynetdicom_sends_the_hand_encoding_and_delegates_the_rest() -> None:
    from pynetdicom import service_class

    assert install() and install()  # idempotent
    query = _query(Level.STUDY)
    row = {"StudyInstanceUID": "1.2.3", "PatientName": "DOE^J", "ModalitiesInStudy": ["CT", "MR"]}
    encoded = FlatEncoder(query, "QR_AE", True).identifier(row)
    assert encoded is not None
    encoded.lightbox_encoding = (True, b"sentinel")  # proves the stored bytes are what is sent
    assert service_class.encode(encoded, True, True) == b"sentinel"
    assert service_class.encode(encoded, False, True) == encode(_validating_build(query, row, "QR_AE", None),
                                                                False, True)
    plain = _validating_build(query, row, "QR_AE", None)
    assert service_class.encode(plain, True, True) == encode(plain, True, True)
    assert for_context(query, "QR_AE", "1.2.840.10008.1.2") is not None
    assert for_context(query, "QR_AE", "1.2.840.10008.1.2.2") is None  # big endian: pydicom
