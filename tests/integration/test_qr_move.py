"""The server's Q/R SCP: C-MOVE over real associations on 127.0.0.1 (PS3.4 C.4.2, C.6).

DCMTK's ``movescu`` moves into a DCMTK ``storescp``; pynetdicom destinations give the
statuses (unknown destination, refused association, failed sub-operations, cancel).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit
from pynetdicom import AE, evt

from tests.conftest import RunningServer, require_tool, server_index_url, start_server, stop_server, write_server_config
from tests.dimse_frames import associate_qr
from tests.integration.test_qr_find import S1, S2, S3, S4, _store_all

pytestmark = [pytest.mark.peer, pytest.mark.postgresql]  # module-scoped servers also on a PostgreSQL index

QR = "DICOM_QR_SCP"
PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Destinations:
    """Ports of the move destinations: DCMTK storescp, a pynetdicom SCP, a closed port."""

    def __init__(self) -> None:
        self.storescp, self.pynet, self.closed = _free_port(), _free_port(), _free_port()
        self.implicit = _free_port()  # a pynetdicom SCP accepting Implicit VR Little Endian only
        self.status = 0x0000  # what the pynetdicom destination answers
        self.delay = 0.0
        self.received: list[Dataset] = []
        self.originators: list[tuple[str, int]] = []
        self.proposed: list[tuple[str, list[str]]] = []
        self.syntaxes: list[str] = []

    def toml(self) -> str:
        rows = [
            ("STORESCP", self.storescp), ("PYNET", self.pynet), ("NOBODY", self.closed), ("IMPLICIT", self.implicit)
        ]
        return "[server.qr]\nport = 0\n" + "".join(
            f'[[server.destinations]]\nae_title = "{t}"\nhost = "127.0.0.1"\nport = {p}\n' for t, p in rows
        )

    def handle_store(self, event: Any) -> int:
        time.sleep(self.delay)
        self.received.append(event.dataset)
        self.syntaxes.append(str(event.context.transfer_syntax))
        request = event.request
        self.originators.append(
            (str(request.MoveOriginatorApplicationEntityTitle).strip(), int(request.MoveOriginatorMessageID))
        )
        return self.status

    def handle_requested(self, event: Any) -> None:
        self.proposed = [
            (str(cx.abstract_syntax), [str(ts) for ts in cx.transfer_syntax])
            for cx in event.assoc.requestor.requested_contexts
        ]


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory, index_backend: str, request: pytest.FixtureRequest
) -> Iterator[tuple[RunningServer, Destinations, Path]]:
    tmp = tmp_path_factory.mktemp("move")
    dest = Destinations()
    received = tmp / "received"
    received.mkdir()
    storescp = subprocess.Popen(
        [require_tool("storescp"), "-od", str(received), "-aet", "STORESCP", str(dest.storescp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ae = AE("PYNET")
    ae.add_supported_context(CT_IMAGE, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    ae.add_supported_context(SECONDARY_CAPTURE, [JPEGBaseline8Bit, ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    scp = ae.start_server(("127.0.0.1", dest.pynet), block=False, evt_handlers=[
        (evt.EVT_C_STORE, dest.handle_store), (evt.EVT_REQUESTED, dest.handle_requested)
    ])
    implicit_ae = AE("IMPLICIT")
    implicit_ae.add_supported_context(CT_IMAGE, ImplicitVRLittleEndian)
    implicit_scp = implicit_ae.start_server(("127.0.0.1", dest.implicit), block=False, evt_handlers=[
        (evt.EVT_C_STORE, dest.handle_store)
    ])
    data_dir = tmp / "data"
    url = server_index_url(index_backend, request)
    running = start_server(write_server_config(tmp / "server.toml", data_dir, qr=dest.toml(), index_url=url), data_dir)
    try:
        _store_all(running.storage_port)
        yield running, dest, received
    finally:
        assert stop_server(running) == 0
        scp.shutdown()
        implicit_scp.shutdown()
        storescp.terminate()
        storescp.wait(10)


def move(port: int, destination: str, model: str = STUDY_ROOT_MOVE, cancel_after: int | None = None,
         relational: bool = False, **keys: Any) -> tuple[list[Dataset], Dataset, Dataset | None]:
    """C-MOVE with pynetdicom: pending statuses, final status and its identifier."""
    assoc = associate_qr("MOVE_TEST", port, model, QR, relational=relational, timeout=30)
    query = Dataset()
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    pending: list[Dataset] = []
    final, final_id = Dataset(), None
    try:
        for status, identifier in assoc.send_c_move(query, destination, model, msg_id=7):
            if status.Status == 0xFF00:
                pending.append(status)
                if cancel_after is not None and len(pending) == cancel_after:
                    assoc.send_c_cancel(7, assoc.accepted_contexts[0].context_id)
            else:
                final, final_id = status, identifier
    finally:
        assoc.release()
    return pending, final, final_id


def movescu(port: int, *args: str) -> str:
    done = subprocess.run(
        [require_tool("movescu"), "-v", *args, "-aec", QR, "-aem", "STORESCP", "127.0.0.1", str(port)],
        capture_output=True, text=True, timeout=120,
    )
    return done.stdout + done.stderr


def _wait_files(folder: Path, count: int) -> list[Path]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        files = sorted(folder.iterdir())
        if len(files) >= count:
            return files
        time.sleep(0.1)
    return sorted(folder.iterdir())


def _clear(folder: Path) -> None:
    for f in folder.iterdir():
        f.unlink()


def test_movescu_into_storescp_study_patient_and_image_levels(
    setup: tuple[RunningServer, Destinations, Path],
) -> None:
    running, _, received = setup
    port = running.qr_port or 0
    _clear(received)
    out = movescu(port, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={S1}")
    assert "Received Final Move Response (Success)" in out, out
    files = _wait_files(received, 4)
    assert len(files) == 4
    ds = dcmread(files[0])
    assert ds.StudyInstanceUID == S1 and ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    sop, series = str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID)
    _clear(received)
    out = movescu(port, "-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID=PID1")
    assert "Received Final Move Response (Success)" in out, out
    assert len(_wait_files(received, 5)) == 5
    _clear(received)
    out = movescu(port, "-O", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=pid2", "-k", f"StudyInstanceUID={S3}")
    assert "Received Final Move Response (Success)" in out, out
    assert len(_wait_files(received, 1)) == 1
    _clear(received)
    out = movescu(port, "-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", f"StudyInstanceUID={S1}",
                  "-k", f"SeriesInstanceUID={series}", "-k", f"SOPInstanceUID={sop}")
    assert "Received Final Move Response (Success)" in out, out
    files = _wait_files(received, 1)
    assert [str(dcmread(f).SOPInstanceUID) for f in files] == [sop]


def test_pending_counts_and_move_originator(setup: tuple[RunningServer, Destinations, Path]) -> None:
    running, dest, _ = setup
    dest.received.clear()
    dest.originators.clear()
    pending, final, _ = move(running.qr_port or 0, "PYNET", QueryRetrieveLevel="STUDY", StudyInstanceUID=S1)
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 4
    assert [p.NumberOfRemainingSuboperations for p in pending] == [3, 2, 1]
    assert [p.NumberOfCompletedSuboperations for p in pending] == [1, 2, 3]
    assert len(dest.received) == 4
    assert set(dest.originators) == {("MOVE_TEST", 7)}
    # The stored syntax plus Explicit and Implicit VR Little Endian, at most three.
    assert dest.proposed == [(CT_IMAGE, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]


def test_statuses_unknown_refused_nomatch(setup: tuple[RunningServer, Destinations, Path]) -> None:
    running, _, _ = setup
    port = running.qr_port or 0
    _, final, _ = move(port, "STRANGER", QueryRetrieveLevel="STUDY", StudyInstanceUID=S2)
    assert final.Status == 0xA801
    _, final, identifier = move(port, "NOBODY", QueryRetrieveLevel="STUDY", StudyInstanceUID=S2)
    assert final.Status == 0xC001 and "NOBODY" in final.ErrorComment
    assert identifier is not None and len(identifier.FailedSOPInstanceUIDList) >= 1
    pending, final, _ = move(port, "PYNET", QueryRetrieveLevel="STUDY", StudyInstanceUID="1.2.3.4.5")
    assert pending == [] and final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 0
    _, final, _ = move(port, "PYNET", QueryRetrieveLevel="SERIES", SeriesInstanceUID=f"{S1}.1")
    assert final.Status == 0xA900
    _, final, _ = move(port, "PYNET", PATIENT_ROOT_MOVE, QueryRetrieveLevel="STUDY", StudyInstanceUID=S4)
    assert final.Status == 0xA900 and "PatientID" in final.ErrorComment
    # Patient Root: a study of another patient is not moved.
    pending, final, _ = move(port, "PYNET", PATIENT_ROOT_MOVE, QueryRetrieveLevel="STUDY", PatientID="PID1",
                             StudyInstanceUID=S4)
    assert pending == [] and final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 0


def test_files_in_a_syntax_not_accepted_are_converted(setup: tuple[RunningServer, Destinations, Path]) -> None:
    """Stored explicit VR files go to an implicit-VR-only destination through pynetdicom's
    ``send_c_store`` (converted), the association lent by the fast path and taken back each time."""
    running, dest, _ = setup
    dest.received.clear()
    dest.syntaxes.clear()
    pending, final, _ = move(running.qr_port or 0, "IMPLICIT", QueryRetrieveLevel="STUDY", StudyInstanceUID=S1)
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 4
    assert [p.NumberOfRemainingSuboperations for p in pending] == [3, 2, 1]
    assert dest.syntaxes == [ImplicitVRLittleEndian] * 4
    assert len({str(d.SOPInstanceUID) for d in dest.received}) == 4


def test_failed_sub_operations_are_listed(setup: tuple[RunningServer, Destinations, Path]) -> None:
    running, dest, _ = setup
    dest.status = 0xA700
    try:
        _, final, identifier = move(running.qr_port or 0, "PYNET", QueryRetrieveLevel="STUDY", StudyInstanceUID=S1)
    finally:
        dest.status = 0x0000
    assert final.Status == 0xA702 and final.NumberOfFailedSuboperations == 4
    assert identifier is not None and len(identifier.FailedSOPInstanceUIDList) == 4


def test_cancel_stops_a_running_move(setup: tuple[RunningServer, Destinations, Path]) -> None:
    running, dest, _ = setup
    dest.delay = 0.5
    dest.received.clear()
    try:
        started = time.monotonic()
        _, final, _ = move(
            running.qr_port or 0, "PYNET", cancel_after=1, QueryRetrieveLevel="PATIENT", PatientID="PID1",
            model=PATIENT_ROOT_MOVE,
        )
        elapsed = time.monotonic() - started
    finally:
        dest.delay = 0.0
    assert final.Status == 0xFE00
    assert final.NumberOfRemainingSuboperations >= 1
    assert len(dest.received) < 5 and elapsed < 2.5
    # The server keeps serving after a cancel.
    _, final, _ = move(running.qr_port or 0, "PYNET", QueryRetrieveLevel="STUDY", StudyInstanceUID=S2)
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 1


def test_compressed_files_are_sent_as_stored(setup: tuple[RunningServer, Destinations, Path]) -> None:
    running, dest, _ = setup
    original = dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm", download=False))
    ae = AE("QR_TEST")
    ae.add_requested_context(SECONDARY_CAPTURE, JPEGBaseline8Bit)
    assoc = ae.associate("127.0.0.1", running.storage_port, ae_title="DICOM_STORAGE")
    assert assoc.is_established
    try:
        assert assoc.send_c_store(original).Status == 0x0000
    finally:
        assoc.release()
    dest.received.clear()
    dest.syntaxes.clear()
    _, final, _ = move(running.qr_port or 0, "PYNET", QueryRetrieveLevel="STUDY",
                       StudyInstanceUID=original.StudyInstanceUID)
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 1
    assert dest.proposed == [(SECONDARY_CAPTURE, [JPEGBaseline8Bit, ExplicitVRLittleEndian, ImplicitVRLittleEndian])]
    assert dest.syntaxes == [JPEGBaseline8Bit]
    assert dest.received[0].PixelData == original.PixelData


def test_relational_retrieve_when_negotiated(setup: tuple[RunningServer, Destinations, Path]) -> None:
    running, dest, _ = setup
    port = running.qr_port or 0
    _, final, _ = move(port, "PYNET", QueryRetrieveLevel="SERIES", SeriesInstanceUID=f"{S1}.2")
    assert final.Status == 0xA900
    dest.received.clear()
    _, final, _ = move(port, "PYNET", relational=True, QueryRetrieveLevel="SERIES",
                       SeriesInstanceUID=[f"{S1}.2", f"{S2}.1"])
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 3
    assert {str(d.SeriesInstanceUID) for d in dest.received} == {f"{S1}.2", f"{S2}.1"}
    # A series of another study is not moved when the study is named too.
    _, final, _ = move(port, "PYNET", relational=True, QueryRetrieveLevel="SERIES", StudyInstanceUID=S3,
                       SeriesInstanceUID=f"{S1}.2")
    assert final.Status == 0x0000 and final.NumberOfCompletedSuboperations == 0
