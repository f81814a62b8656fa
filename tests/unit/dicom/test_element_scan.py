"""The element scanner reads what pydicom reads, on every test file pydicom ships."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

from app.dicom.element_scan import MAX_DEPTH, ScanError
from app.dicom.element_scan import scan_values as scan_elements

KEYWORDS = (
    "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "StudyDate", "StudyTime", "AccessionNumber",
    "Modality", "ReferringPhysicianName", "StudyDescription", "SeriesDescription", "PatientName", "PatientID",
    "PatientBirthDate", "PatientSex", "StudyInstanceUID", "SeriesInstanceUID", "StudyID", "SeriesNumber",
    "InstanceNumber", "NumberOfFrames", "Rows", "Columns",
)
WANTED = frozenset(int(tag_for_keyword(k) or 0) for k in KEYWORDS)
LAST = max(WANTED)


def _test_files() -> list[Path]:
    from pydicom.data import get_testdata_file

    folder = Path(str(get_testdata_file("CT_small.dcm", download=False))).parent
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".dcm", ""))


def _encoded(path: Path) -> tuple[bytes, bool, bool, pydicom.Dataset] | None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        syntax = ds.file_meta.TransferSyntaxUID
    except Exception:
        return None
    if syntax == DeflatedExplicitVRLittleEndian or "SOPInstanceUID" not in ds:
        return None
    raw = path.read_bytes()
    with open(path, "rb") as fh:  # skip the file meta: find where the data set starts
        pydicom.filereader.read_preamble(fh, True)
        pydicom.filereader._read_file_meta_info(fh)
        start = fh.tell()
    return raw[start:], syntax.is_implicit_VR, syntax.is_little_endian, ds


FILES = [p for p in _test_files() if _encoded(p) is not None]
#: Files whose data set is not encoded as their transfer syntax says: the scanner refuses
#: them (the ingest then reads them with pydicom, which guesses the encoding).
MISENCODED = {"SC_rgb_jpeg.dcm"}


def test_there_are_files_to_compare() -> None:
    assert len(FILES) > 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scan_matches_pydicom(path: Path) -> None:
    encoded = _encoded(path)
    assert encoded is not None
    data, implicit, little, reference = encoded
    if path.name in MISENCODED:
        with pytest.raises(ScanError):
            scan_elements(data, implicit_vr=implicit, little_endian=little, wanted=WANTED, stop_after=LAST)
        return
    scanned = scan_elements(data, implicit_vr=implicit, little_endian=little, wanted=WANTED, stop_after=LAST)
    for keyword in KEYWORDS:
        if keyword == "SpecificCharacterSet":
            continue  # used for decoding, not returned
        assert _plain(scanned.get(keyword)) == _plain(reference.get(keyword)), keyword


def _plain(value: object) -> object:
    """How the index sees a value: text with multiple values joined by a backslash, or an int."""
    if value is None or value == "":
        return None  # pydicom reads an empty IS/DS as None, the scanner as "": the index treats both alike
    if type(value) is int:
        return value
    if type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)  # type: ignore[attr-defined]
    return str(value).rstrip(" \x00")


def test_sequences_of_undefined_length_are_skipped() -> None:
    ds = pydicom.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    inner = pydicom.Dataset()
    inner.CodeValue = "1"
    nested = pydicom.Dataset()
    nested.ConceptNameCodeSequence = [inner]
    ds.ReferencedStudySequence = [nested, nested]  # (0008,1110), before the patient module
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "X1"
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    data = bytearray(fp.getvalue())
    # rewrite the outer sequence with undefined lengths, as many modalities send it
    undefined = _undefined_length_sequence(ds)
    scanned = scan_elements(undefined, implicit_vr=False, little_endian=True, wanted=WANTED, stop_after=LAST)
    assert scanned["PatientName"] == "Müller^Jürgen"
    assert scanned["PatientID"] == "X1"
    assert data  # the defined-length encoding scans too
    scanned = scan_elements(bytes(data), implicit_vr=False, little_endian=True, wanted=WANTED, stop_after=LAST)
    assert scanned["PatientID"] == "X1"


def _undefined_length_sequence(ds: pydicom.Dataset) -> bytes:
    def item(body: bytes) -> bytes:
        return struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF) + body + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)

    def seq(tag: int, items: list[bytes]) -> bytes:
        head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ\x00\x00" + struct.pack("<L", 0xFFFFFFFF)
        return head + b"".join(items) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)

    def elem(tag: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr + struct.pack("<H", len(value)) + value

    code = elem(0x00080100, b"SH", b"1 ")
    nested = seq(0x0040A043, [item(code)])
    return (
        elem(0x00080005, b"CS", b"ISO_IR 100")
        + seq(0x00081110, [item(nested), item(nested)])
        + elem(0x00100010, b"PN", "Müller^Jürgen ".encode("latin-1"))
        + elem(0x00100020, b"LO", b"X1")
    )


@pytest.mark.parametrize(
    "broken",
    [
        b"\x10\x00\x10\x00PN\x20\x00abc",  # value runs past the end
        b"\x10\x00",  # truncated header
        b"\x08\x00\x10\x11SQ\x00\x00\xff\xff\xff\xff" + b"\x10\x00\x10\x00PN\x02\x00ab",  # no item where one must be
        b"\x10\x00\x10\x00p!\x02\x00ab",  # not a VR
    ],
)
def test_broken_encodings_raise_scan_error(broken: bytes) -> None:
    with pytest.raises(ScanError):
        scan_elements(broken, implicit_vr=False, little_endian=True, wanted=WANTED, stop_after=LAST)


def test_nesting_is_bounded() -> None:
    open_item = struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
    open_seq = struct.pack("<HH", 0x0008, 0x1110) + b"SQ\x00\x00" + struct.pack("<L", 0xFFFFFFFF)
    hostile = open_seq + (open_item + open_seq) * (MAX_DEPTH + 5)
    with pytest.raises(ScanError):
        scan_elements(hostile, implicit_vr=False, little_endian=True, wanted=WANTED, stop_after=LAST)
