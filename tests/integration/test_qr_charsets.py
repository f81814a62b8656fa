"""Character sets through the real server: stored by DCMTK's ``storescu`` as the files are,
matched and returned by the Q/R SCP (pynetdicom and DCMTK ``findscu``) and by QIDO-RS.

pydicom's character-set test files (Japanese ISO 2022 IR 87 and IR 13, Korean IR 149,
Chinese UTF-8 and GB18030, German/French Latin-1, Russian, Greek) keep their names intact:
a C-FIND in the file's own character set gets the name back in that character set,
byte for byte; a C-FIND without one gets it in UTF-8 (ISO_IR 192), decoding to the same
text. Person names match case-insensitively beyond ASCII.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom import dcmread
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import _config

from app.dicom.charsets import charset_terms
from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config
from tests.dimse_frames import associate_qr

pytestmark = pytest.mark.peer

STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"
CHARSET_FILES = [
    "chrH31.dcm", "chrH32.dcm", "chrI2.dcm", "chrX1.dcm", "chrX2.dcm", "chrGerm.dcm", "chrFren.dcm",
    "chrRuss.dcm", "chrGreek.dcm",
]
#: Made here: one UTF-8 upper-case German name (patient id, name, character set).
MADE = [("UTF8UPPER", "MÜLLER^HANS", "ISO_IR 192")]


def _made_files(folder: Path) -> list[Path]:
    template = dcmread(get_testdata_file("CT_small.dcm", download=False))
    out = []
    for pid, name, charset in MADE:
        ds = template.copy()
        ds.SpecificCharacterSet = charset
        ds.PatientName, ds.PatientID = name, pid
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        path = folder / f"{pid}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("charsets")
    data_dir = tmp / "data"
    running = start_server(write_server_config(tmp / "server.toml", data_dir, index_url=module_index_url), data_dir)
    files = [get_charset_files(name)[0] for name in CHARSET_FILES] + [str(p) for p in _made_files(tmp)]
    called, port = next(iter(running.storage.items()))
    result = subprocess.run(
        [require_tool("storescu"), "-v", "-aet", "CHARSET_TEST", "-aec", called, "127.0.0.1", str(port), *files],
        capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.count("Received Store Response (Success)") + result.stderr.count(
        "Received Store Response (Success)") == len(files), result.stdout + result.stderr
    yield running
    assert stop_server(running) == 0


def find(port: int, **keys: Any) -> tuple[list[Dataset], int]:
    """A Study Root STUDY-level C-FIND: the pending identifiers (not yet decoded) and the final status."""
    assoc = associate_qr("CHARSET_TEST", port, STUDY_ROOT, "DICOM_QR_SCP")
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    matches, final = [], -1
    logging_identifiers = _config.LOG_RESPONSE_IDENTIFIERS
    _config.LOG_RESPONSE_IDENTIFIERS = False  # logging them would decode every element
    try:
        for status, identifier in assoc.send_c_find(query, STUDY_ROOT):
            if status.Status in (0xFF00, 0xFF01):
                matches.append(identifier)
            else:
                final = int(status.Status)
    finally:
        _config.LOG_RESPONSE_IDENTIFIERS = logging_identifiers
        assoc.release()
    return matches, final


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_names_come_back_byte_for_byte_in_the_files_character_set(served: RunningServer, name: str) -> None:
    source = dcmread(get_charset_files(name)[0])
    raw = source.get_item("PatientName").value
    (match,), final = find(served.qr_port or 0, SpecificCharacterSet=source.SpecificCharacterSet,
                           PatientID=source.PatientID, PatientName="")
    assert final == 0
    assert charset_terms(match.SpecificCharacterSet) == charset_terms(source.SpecificCharacterSet)
    # The response's bytes are the file's (an empty trailing component group aside, PS3.5 6.2).
    assert match.get_item("PatientName").value.rstrip(b" =") == raw.rstrip(b" =")
    assert str(match.PatientName).rstrip("=") == str(source.PatientName).rstrip("=")


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_without_a_requested_character_set_names_come_back_in_utf8(served: RunningServer, name: str) -> None:
    source = dcmread(get_charset_files(name)[0])
    (match,), final = find(served.qr_port or 0, PatientID=source.PatientID, PatientName="")
    assert final == 0 and match.SpecificCharacterSet == "ISO_IR 192"
    assert str(match.PatientName).rstrip("=") == str(source.PatientName).rstrip("=")


def test_non_ascii_keys_match_case_insensitively_in_any_character_set(served: RunningServer) -> None:
    port = served.qr_port or 0

    def patients(**keys: Any) -> set[str]:
        matches, final = find(port, PatientID="", **keys)
        assert final == 0
        return {str(m.PatientID) for m in matches}

    # A Latin-1 key, lower case, matches the name stored upper case in UTF-8 ...
    assert patients(SpecificCharacterSet="ISO_IR 100", PatientName="Müller*") == {"UTF8UPPER"}
    assert patients(SpecificCharacterSet="ISO_IR 100", PatientName="äneas^rüdiger") == {"SCSGERM"}
    # ... and is answered in Latin-1, which can carry the name.
    (match,), _ = find(port, SpecificCharacterSet="ISO_IR 100", PatientName="müller*", PatientID="")
    assert match.SpecificCharacterSet == "ISO_IR 100" and match.get_item("PatientName").value.startswith(
        "MÜLLER".encode("latin-1"))
    # Greek: a prefix key ending in an upper-case sigma still matches (the final-sigma rule).
    assert patients(SpecificCharacterSet="ISO_IR 126", PatientName="ΔΙΟΝΥΣ*") == {"SCSGREEK"}
    # Japanese and Korean keys in ISO 2022 (escape sequences), matched against decoded names.
    assert patients(SpecificCharacterSet=["", "ISO 2022 IR 87"], PatientName="*=山田^太郎*") == {
        "H31EXAMPLE", "H32EXAMPLE"}
    assert patients(SpecificCharacterSet=["", "ISO 2022 IR 149"], PatientName="*홍^길동") == {"I2EXAMPLE"}
    assert patients(SpecificCharacterSet="ISO_IR 192", PatientName="Wang^XiaoDong=王^小*") == {
        "X1EXAMPLE", "X2EXAMPLE"}


def test_findscu_latin1_key_and_response(served: RunningServer, tmp_path: Path) -> None:
    """DCMTK ``findscu`` sends ``Müller*`` in ISO_IR 100; the responses it saves (``-X``) are in ISO_IR 100."""
    args = [
        require_tool("findscu"), "-v", "-S", "-X", "-aet", "CHARSET_TEST", "-aec", "DICOM_QR_SCP",
        "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "-k", "PatientID",
        "-k", "SpecificCharacterSet=ISO_IR 100", "-k", "PatientName=Müller*", "127.0.0.1", str(served.qr_port),
    ]
    argv = [a.encode("latin-1") for a in args]  # the key's bytes as the SCU sends them: Latin-1
    result = subprocess.run(argv, capture_output=True, cwd=tmp_path, timeout=60)
    log = (result.stdout + result.stderr).decode("latin-1")
    assert "Received Final Find Response (Success)" in log, log
    [response] = [dcmread(p) for p in sorted(tmp_path.glob("rsp*.dcm"))]
    assert response.SpecificCharacterSet == "ISO_IR 100"
    assert response.get_item("PatientName").value.rstrip(b" ") == "MÜLLER^HANS".encode("latin-1")
    assert response.PatientID == "UTF8UPPER"


def test_qido_rs_returns_unicode_names(served: RunningServer) -> None:
    with httpx.Client(base_url=served.http_url, timeout=30) as http:
        [study] = http.get("/dicom-web/studies", params={"PatientID": "H31EXAMPLE"}).json()
        assert study["00100010"]["Value"] == [
            {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}]
        # A lower-case UTF-8 key matches the upper-case name (PN case-insensitive).
        studies = http.get("/dicom-web/studies", params={"PatientName": "müller*"}).json()
        assert [s["00100020"]["Value"] for s in studies] == [["UTF8UPPER"]]
        assert studies[0]["00100010"]["Value"] == [{"Alphabetic": "MÜLLER^HANS"}]
        # JSON carries no Specific Character Set need: the body is UTF-8 (PS3.18 F.2).
        assert http.get("/dicom-web/studies", params={"PatientID": "SCSRUSS"}).json()[0]["00100010"]["Value"] == [
            {"Alphabetic": "Люкceмбypг"}]


def test_error_comments_stay_ascii_whatever_the_key_carried(served: RunningServer) -> None:
    """The command set has no character set of its own (PS3.7 6.3.1): a rejected non-ASCII key
    is not echoed into the Error Comment as such."""
    assoc = associate_qr("CHARSET_TEST", served.qr_port or 0, STUDY_ROOT, "DICOM_QR_SCP")
    query = Dataset()
    query.SpecificCharacterSet = "ISO_IR 100"
    query.QueryRetrieveLevel = "STUDY"
    query.add_new(0x00080020, "DA", "2024ü")  # Study Date: not a date
    try:
        [(status, _)] = list(assoc.send_c_find(query, STUDY_ROOT))
    finally:
        assoc.release()
    assert status.Status == 0xC000
    comment = str(status.ErrorComment)
    assert comment.isascii() and "malformed" in comment and len(comment) <= 64
