"""The server's Q/R SCP: C-FIND over real associations on 127.0.0.1 (PS3.4 C.4.1, C.6).

The server is the real ``python -m app.server`` process. DCMTK's ``findscu`` queries each
model at each level (its exit code is 0 even on failure, so its ``-v`` output is read);
pynetdicom covers the matching rules (PS3.4 C.2.2.2), the hit limit and the hierarchy.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from app.dicom.uids import IMPLEMENTATION_CLASS_UID
from tests.conftest import RunningServer, require_tool, server_index_url, start_server, stop_server, write_server_config
from tests.dimse_frames import associate_qr, collect_find

pytestmark = [pytest.mark.peer, pytest.mark.postgresql]  # module-scoped servers also on a PostgreSQL index

QR = "DICOM_QR_SCP"
PATIENT_ROOT = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_STUDY_ONLY = "1.2.840.10008.5.1.4.1.2.3.1"
VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"

S1, S2, S3, S4 = (f"1.2.826.0.1.3680043.10.543.1.{n}" for n in range(1, 5))

#: (patient name, patient id, study uid, date, time, modality, images per series, series count)
STUDIES = [
    ("Doe^John", "PID1", S1, "20240110", "083000.5", "CT", 2, 2),
    ("Doe^John", "PID1", S2, "20240112", "120000", "MR", 1, 1),
    ("Müller^Anna", "pid2", S3, "20240111", "235959", "CT", 1, 1),
    ("DOE^JANE", "PID3", S4, "20240110", "070000", "CT", 1, 1),
]


def _datasets() -> Iterator[Dataset]:
    template = dcmread(get_testdata_file("CT_small.dcm", download=False))
    for name, pid, study_uid, date, tm, modality, images, series_count in STUDIES:
        for s in range(series_count):
            series_uid = f"{study_uid}.{s + 1}"
            for i in range(images):
                ds = template.copy()
                ds.SpecificCharacterSet = "ISO_IR 192"
                ds.PatientName, ds.PatientID = name, pid
                ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
                ds.SOPInstanceUID = generate_uid()
                ds.StudyDate, ds.StudyTime, ds.Modality = date, tm, modality
                ds.AccessionNumber = f"ACC{study_uid[-1]}"
                ds.SeriesNumber, ds.InstanceNumber = s + 1, i + 1
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                yield ds


def _store_all(port: int) -> None:
    ae = AE("QR_TEST")
    ae.add_requested_context(CT_IMAGE, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOM_STORAGE")
    assert assoc.is_established
    try:
        for ds in _datasets():
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()


def _start(tmp_path: Path, qr: str = "[server.qr]\nport = 0\n", index_url: str = "") -> RunningServer:
    data_dir = tmp_path / "data"
    config = write_server_config(tmp_path / "server.toml", data_dir, qr=qr, index_url=index_url)
    running = start_server(config, data_dir)
    assert running.qr_port
    _store_all(running.storage_port)
    return running


@pytest.fixture(scope="module")
def qr_server(
    tmp_path_factory: pytest.TempPathFactory, index_backend: str, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    running = _start(tmp_path_factory.mktemp("qr"), index_url=server_index_url(index_backend, request))
    yield running
    assert stop_server(running) == 0


def find(
    port: int, model: str = STUDY_ROOT, called: str = QR, relational: bool = False, **keys: Any
) -> tuple[list[Dataset], Dataset]:
    """C-FIND with pynetdicom: the pending identifiers and the final status data set."""
    assoc = associate_qr("QR_TEST", port, model, called, relational=relational)
    if relational:
        assert assoc.acceptor.sop_class_extended[model][:1] == b"\x01"
    query = Dataset()
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return collect_find(assoc, query, model)


def _studies(matches: list[Dataset]) -> set[str]:
    return {str(m.StudyInstanceUID) for m in matches}


def findscu(port: int, *args: str) -> tuple[int, str]:
    """Run ``findscu -v``; the number of pending responses and the whole output."""
    tool = require_tool("findscu")
    done = subprocess.run(
        [tool, "-v", *args, "-aec", QR, "127.0.0.1", str(port)], capture_output=True, text=True, timeout=60
    )
    out = done.stdout + done.stderr
    return len(re.findall(r"Find Response: \d+ \(Pending\)", out)), out


# -- association ---------------------------------------------------------------------------------


def test_ready_line_reports_the_qr_ae_and_it_answers_echo(qr_server: RunningServer) -> None:
    assert qr_server.qr_ae_title == QR
    ae = AE("QR_TEST")
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", qr_server.qr_port or 0, ae_title=QR)
    assert assoc.is_established
    try:
        assert assoc.acceptor.implementation_class_uid == IMPLEMENTATION_CLASS_UID
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()
    wrong = ae.associate("127.0.0.1", qr_server.qr_port or 0, ae_title="NOT_QR")
    assert wrong.is_rejected


# -- findscu at every level of every model -------------------------------------------------------------


def test_findscu_study_root_every_level(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    n, out = findscu(port, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
                     "-k", "ModalitiesInStudy", "-k", "NumberOfStudyRelatedSeries",
                     "-k", "NumberOfStudyRelatedInstances")
    assert n == 4 and "Final Find Response (Success)" in out
    assert re.search(rf"\[{re.escape(S1)}\].*\n.*IS \[2 \].*NumberOfStudyRelatedSeries\n.*IS \[4 \]", out)
    n, out = findscu(port, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={S1}",
                     "-k", "SeriesInstanceUID", "-k", "NumberOfSeriesRelatedInstances", "-k", "Modality")
    assert n == 2 and "NumberOfSeriesRelatedInstances" in out and "[CT]" in out
    n, out = findscu(port, "-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={S1}",
                     "-k", f"SeriesInstanceUID={S1}.1", "-k", "SOPInstanceUID", "-k", "InstanceNumber")
    assert n == 2 and "Final Find Response (Success)" in out


def test_findscu_patient_root_every_level(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    n, out = findscu(port, "-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName",
                     "-k", "PatientID", "-k", "NumberOfPatientRelatedStudies",
                     "-k", "NumberOfPatientRelatedInstances")
    assert n == 3
    assert re.search(r"\[PID1\].*\n.*IS \[2 \].*NumberOfPatientRelatedStudies\n.*IS \[5 \]", out)
    n, out = findscu(port, "-P", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=PID1", "-k", "StudyInstanceUID")
    assert n == 2
    n, _ = findscu(port, "-P", "-k", "QueryRetrieveLevel=SERIES", "-k", "PatientID=PID1",
                   "-k", f"StudyInstanceUID={S1}", "-k", "SeriesInstanceUID")
    assert n == 2
    n, _ = findscu(port, "-P", "-k", "QueryRetrieveLevel=IMAGE", "-k", "PatientID=PID1",
                   "-k", f"StudyInstanceUID={S1}", "-k", f"SeriesInstanceUID={S1}.2", "-k", "SOPInstanceUID")
    assert n == 2


def test_findscu_patient_study_only_levels_and_refusals(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    n, _ = findscu(port, "-O", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID=PID*")
    assert n == 2
    n, _ = findscu(port, "-O", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=PID3", "-k", "StudyDate")
    assert n == 1
    n, out = findscu(port, "-O", "-k", "QueryRetrieveLevel=SERIES", "-k", "PatientID=PID3",
                     "-k", f"StudyInstanceUID={S4}")
    assert n == 0 and "Error: DataSetDoesNotMatchSOPClass" in out
    # Hierarchical: the Patient ID above STUDY level is required in the Patient Root model.
    n, out = findscu(port, "-P", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID")
    assert n == 0 and "Error: DataSetDoesNotMatchSOPClass" in out


# -- matching rules (PS3.4 C.2.2.2) -------------------------------------------------------------------


def test_patient_name_matches_case_insensitively_other_keys_case_sensitively(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    matches, final = find(port, QueryRetrieveLevel="STUDY", PatientName="doe*", StudyInstanceUID="")
    assert final.Status == 0 and _studies(matches) == {S1, S2, S4}
    assert _studies(find(port, QueryRetrieveLevel="STUDY", PatientID="pid1", StudyInstanceUID="")[0]) == set()
    assert _studies(find(port, QueryRetrieveLevel="STUDY", PatientID="PID1", StudyInstanceUID="")[0]) == {S1, S2}
    assert _studies(find(port, QueryRetrieveLevel="STUDY", PatientID="PID?", StudyInstanceUID="")[0]) == {
        S1, S2, S4
    }
    assert _studies(find(port, QueryRetrieveLevel="STUDY", AccessionNumber="acc*", StudyInstanceUID="")[0]) == set()


def test_date_and_time_ranges_and_fractions(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0

    def studies(**keys: str) -> set[str]:
        matches, final = find(port, QueryRetrieveLevel="STUDY", StudyInstanceUID="", **keys)
        assert final.Status == 0
        return _studies(matches)

    assert studies(StudyDate="20240110") == {S1, S4}
    assert studies(StudyDate="20240111-") == {S2, S3}
    assert studies(StudyDate="-20240110") == {S1, S4}
    assert studies(StudyDate="20240111-20240112") == {S2, S3}
    # Fractions of seconds are ignored: 083000.9 names the second stored as 083000.5.
    assert studies(StudyTime="083000.9") == {S1}
    assert studies(StudyTime="0830") == {S1}
    assert studies(StudyDate="20240110", StudyTime="-080000") == {S4}
    # A time range without a date means today (reference 4.4.3.2): none of these is of today.
    assert studies(StudyTime="-080000") == set()
    # Study Date + Study Time ranges combined as one date-time range (PS3.4 C.2.2.2.5.2):
    # 2024-01-11 23:59:59 is inside 2024-01-10 08:00 .. 2024-01-12 13:00.
    assert studies(StudyDate="20240110-20240112", StudyTime="080000-130000") == {S1, S2, S3}


def test_uid_list_and_universal_matching(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    matches, _ = find(port, QueryRetrieveLevel="STUDY", StudyInstanceUID=[S1, S3])
    assert _studies(matches) == {S1, S3}
    matches, _ = find(port, QueryRetrieveLevel="STUDY", StudyInstanceUID="", PatientName="", PatientAge="")
    assert len(matches) == 4
    for m in matches:
        assert "PatientAge" in m and not m.PatientAge  # a key the index has not: returned empty
        assert m.QueryRetrieveLevel == "STUDY"


def test_modalities_in_study_and_counts(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    matches, _ = find(port, QueryRetrieveLevel="STUDY", ModalitiesInStudy="MR", StudyInstanceUID="",
                      NumberOfStudyRelatedInstances="", NumberOfStudyRelatedSeries="")
    assert _studies(matches) == {S2}
    assert (matches[0].NumberOfStudyRelatedSeries, matches[0].NumberOfStudyRelatedInstances) == (1, 1)
    matches, _ = find(port, QueryRetrieveLevel="SERIES", StudyInstanceUID=S1, SeriesInstanceUID="",
                      NumberOfSeriesRelatedInstances="")
    assert sorted(int(m.NumberOfSeriesRelatedInstances) for m in matches) == [2, 2]


def test_response_character_set_and_decoded_name(qr_server: RunningServer) -> None:
    matches, _ = find(qr_server.qr_port or 0, PATIENT_ROOT, QueryRetrieveLevel="PATIENT", PatientID="pid2",
                      PatientName="")
    assert len(matches) == 1
    assert matches[0].SpecificCharacterSet == "ISO_IR 192"
    assert str(matches[0].PatientName) == "Müller^Anna"
    # A non-ASCII key in the request's character set, matched case-insensitively.
    for charset in ("ISO_IR 192", "ISO_IR 100"):
        matches, final = find(qr_server.qr_port or 0, QueryRetrieveLevel="STUDY", SpecificCharacterSet=charset,
                              PatientName="MÜLLER*", StudyInstanceUID="")
        assert final.Status == 0 and _studies(matches) == {S3}


def test_malformed_value_and_bad_level_fail_with_a_comment(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    _, final = find(port, QueryRetrieveLevel="STUDY", StudyDate="2024-01-10x")
    assert final.Status == 0xC000 and "date" in final.ErrorComment
    _, final = find(port, QueryRetrieveLevel="PATIENT", PatientID="")
    assert final.Status == 0xA900 and "Study Root" in final.ErrorComment
    _, final = find(port, QueryRetrieveLevel="SERIES", SeriesInstanceUID="")
    assert final.Status == 0xA900 and "StudyInstanceUID" in final.ErrorComment


def test_relational_query_when_negotiated(qr_server: RunningServer) -> None:
    port = qr_server.qr_port or 0
    keys = {"QueryRetrieveLevel": "SERIES", "Modality": "MR", "SeriesInstanceUID": "", "PatientName": "doe*"}
    _, final = find(port, PATIENT_ROOT, **keys)
    assert final.Status == 0xA900  # hierarchical: Patient ID and Study Instance UID needed
    matches, final = find(port, PATIENT_ROOT, relational=True, **keys)
    assert final.Status == 0 and [m.SeriesInstanceUID for m in matches] == [f"{S2}.1"]
    assert matches[0].PatientID == "PID1" and matches[0].StudyInstanceUID == S2


# -- hit limit -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [False, True])
def test_hit_limit(tmp_path: Path, empty: bool) -> None:
    running = _start(tmp_path, f"[server.qr]\nport = 0\nhit_limit = 3\nhit_limit_empty = {str(empty).lower()}\n")
    try:
        port = running.qr_port or 0
        matches, final = find(port, QueryRetrieveLevel="STUDY", StudyInstanceUID="")
        assert matches == []
        if empty:
            assert final.Status == 0x0000
        else:
            assert final.Status == 0xA700 and "narrow" in final.ErrorComment
        matches, final = find(port, QueryRetrieveLevel="STUDY", PatientID="PID1", StudyInstanceUID="")
        assert final.Status == 0 and len(matches) == 2
    finally:
        assert stop_server(running) == 0


def test_association_limit_and_pdu_follow_the_server_settings(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    limits = "max_associations = 1\nmax_pdu = 16384"
    config = write_server_config(tmp_path / "server.toml", data_dir, extra_server=limits)
    running = start_server(config, data_dir)
    try:
        ae = AE("QR_TEST")
        ae.add_requested_context(VERIFICATION)
        first = ae.associate("127.0.0.1", running.qr_port or 0, ae_title=QR)
        assert first.is_established and first.acceptor.maximum_length == 16384
        second = ae.associate("127.0.0.1", running.qr_port or 0, ae_title=QR)
        assert second.is_rejected
        first.release()
        deadline = time.monotonic() + 5
        while True:
            third = ae.associate("127.0.0.1", running.qr_port or 0, ae_title=QR)
            if third.is_established or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert third.is_established
        third.release()
    finally:
        assert stop_server(running) == 0
