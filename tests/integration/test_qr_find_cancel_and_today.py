"""Q/R C-FIND against the real server: C-CANCEL of a running C-FIND (PS3.4 C.4.1.3.1, PS3.7
9.3.2.3) and the reference's rule that a Study Time range without a Study Date means today
(its 4.4.3.2), with fractions of seconds ignored.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.dimse_frames import associate_qr, find_and_cancel

pytestmark = pytest.mark.peer

STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
#: Studies of one patient for the cancel test (below the hit limit of 500).
MANY = 250
TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)
#: (patient id, study date, study time) of the date/time studies.
TIMED = [
    ("T_TODAY_10", TODAY, "100000.123456"),
    ("T_TODAY_20", TODAY, "200000"),
    ("T_YESTERDAY_10", YESTERDAY, "100000"),
]


def _datasets() -> Iterator[Dataset]:
    template = dcmread(get_testdata_file("CT_small.dcm", download=False))
    del template.PixelData  # small instances: the C-FIND responses are what is measured
    rows = [("MANY", dt.date(2020, 1, 1), f"{n % 24:02d}0000") for n in range(MANY)] + TIMED
    for pid, date, tm in rows:
        ds = template.copy()
        ds.PatientID, ds.PatientName = pid, f"Test^{pid}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        ds.StudyDate, ds.StudyTime = date.strftime("%Y%m%d"), tm
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        yield ds


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("qr_cancel")
    data_dir = tmp / "data"
    running = start_server(write_server_config(tmp / "server.toml", data_dir, index_url=module_index_url), data_dir)
    ae = AE("QR_TEST")
    ae.add_requested_context(CT_IMAGE, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", running.storage_port, ae_title="DICOM_STORAGE")
    assert assoc.is_established
    try:
        for ds in _datasets():
            assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()
    yield running
    assert stop_server(running) == 0


def _query(**keys: Any) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return query


def test_c_cancel_stops_a_running_c_find(served: RunningServer) -> None:
    port = served.qr_port or 0
    assoc = associate_qr("QR_TEST", port, STUDY_ROOT, "DICOM_QR_SCP", timeout=30)
    try:
        started = time.monotonic()
        pending, final = find_and_cancel(assoc, _query(PatientID="MANY"), STUDY_ROOT, 11)
        elapsed = time.monotonic() - started
        # The same association goes on serving: the whole result without a cancel.
        complete = [s for s, _ in assoc.send_c_find(_query(PatientID="MANY"), STUDY_ROOT, msg_id=12)]
    finally:
        assoc.release()
    assert final == 0xFE00  # Matching terminated due to Cancel request
    assert pending < MANY, f"{pending} pending responses of {MANY} before the cancel took effect"
    assert elapsed < 10
    assert len(complete) == MANY + 1 and complete[-1].Status == 0x0000


def _patients(port: int, **keys: Any) -> set[str]:
    assoc = associate_qr("QR_TEST", port, STUDY_ROOT, "DICOM_QR_SCP")
    out: set[str] = set()
    try:
        for status, identifier in assoc.send_c_find(_query(PatientID="T_*", **keys), STUDY_ROOT):
            if status.Status in (0xFF00, 0xFF01):
                out.add(str(identifier.PatientID))
            else:
                assert status.Status == 0x0000
    finally:
        assoc.release()
    return out


def test_time_range_without_date_means_today(served: RunningServer) -> None:
    port = served.qr_port or 0
    assert dt.date.today() == TODAY, "the date changed during the test run; run it again"
    # Today's 10:00 study only: yesterday's 10:00 is in the time range but not of today.
    assert _patients(port, StudyTime="090000-110000") == {"T_TODAY_10"}
    assert _patients(port, StudyTime="150000-") == {"T_TODAY_20"}
    assert _patients(port, StudyTime="-235959") == {"T_TODAY_10", "T_TODAY_20"}
    # Fractions of seconds are ignored: 10:00:00.123456 is inside 09:59:59.5 .. 10:00:00.1.
    assert _patients(port, StudyTime="095959.5-100000.1") == {"T_TODAY_10"}
    # With a date, the date given; a single time (not a range) on any day.
    assert _patients(port, StudyDate=YESTERDAY.strftime("%Y%m%d"), StudyTime="090000-110000") == {"T_YESTERDAY_10"}
    assert _patients(port, StudyTime="100000") == {"T_TODAY_10", "T_YESTERDAY_10"}
    # Yesterday 09:00 .. today 11:00 as one date-time range (PS3.4 C.2.2.2.5.2).
    both = f"{YESTERDAY.strftime('%Y%m%d')}-{TODAY.strftime('%Y%m%d')}"
    assert _patients(port, StudyDate=both, StudyTime="090000-110000") == {"T_TODAY_10", "T_YESTERDAY_10"}
