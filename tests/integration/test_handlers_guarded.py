"""Every query/retrieve handler is guarded: an identifier that cannot even be decoded gets
0xA900, identifier does not match SOP class (PS3.4 C.4.1.1.4, C.4.2.1.5, K.4.1.1.4), the
association goes on and the real server process keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE

from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.dimse_frames import p_data, request_command

pytestmark = pytest.mark.peer

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
MWL_FIND = "1.2.840.10008.5.1.4.31"
#: Query/Retrieve Level, then an undefined-length sequence cut short: it cannot be decoded.
GARBAGE = (
    b"\x08\x00\x52\x00CS\x06\x00STUDY "
    b"\x40\x00\x00\x01SQ\x00\x00\xff\xff\xff\xff" + b"\x00" * 8
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("guarded")
    data_dir = tmp / "data"
    destinations = '[[server.destinations]]\nae_title = "NOWHERE"\nhost = "127.0.0.1"\nport = 9\n'
    running = start_server(
        write_server_config(tmp / "server.toml", data_dir, qr=f"[server.qr]\nport = 0\n{destinations}"), data_dir
    )
    yield running
    assert stop_server(running) == 0


def _associate(port: int, called: str, *sop_classes: str) -> Any:
    ae = AE("GUARD_TEST")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    for sop_class in sop_classes:
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    assert assoc.is_established
    return assoc


def _send_raw(assoc: Any, sop_class: str, command: bytes, identifier: bytes) -> list[int]:
    """Send a request with a hand-made identifier; the statuses of every response to it."""
    context_id = next(c.context_id for c in assoc.accepted_contexts if c.abstract_syntax == sop_class)
    assoc._reactor_checkpoint.clear()  # as pynetdicom's send_*() do: the responses are ours to read
    while not assoc._is_paused:
        time.sleep(0.001)
    statuses: list[int] = []
    try:
        sock = assoc.dul.socket
        sock.send(p_data(context_id, 0x03, command))
        sock.send(p_data(context_id, 0x02, identifier))
        while True:
            _, rsp = assoc.dimse.get_msg(block=True)
            assert rsp is not None
            statuses.append(int(rsp.Status))
            if statuses[-1] not in (0xFF00, 0xFF01):
                return statuses
    finally:
        assoc._reactor_checkpoint.set()


def _study_query() -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    return query


def test_undecodable_c_find_and_c_move_identifiers_fail_cleanly(served: RunningServer) -> None:
    assoc = _associate(served.qr_port or 0, "DICOM_QR_SCP", STUDY_ROOT_FIND, STUDY_ROOT_MOVE)
    try:
        statuses = _send_raw(assoc, STUDY_ROOT_FIND, request_command(0x0020, 41, STUDY_ROOT_FIND), GARBAGE)
        assert statuses == [0xA900], [hex(s) for s in statuses]  # identifier does not match SOP class
        move = request_command(0x0021, 42, STUDY_ROOT_MOVE, MoveDestination="NOWHERE")
        statuses = _send_raw(assoc, STUDY_ROOT_MOVE, move, GARBAGE)
        assert statuses == [0xA900], [hex(s) for s in statuses]  # identifier does not match SOP class
        # The same association goes on: a well-formed C-FIND succeeds.
        assert [s.Status for s, _ in assoc.send_c_find(_study_query(), STUDY_ROOT_FIND)] == [0x0000]
    finally:
        assoc.release()
    assert served.process.poll() is None


def test_undecodable_worklist_identifier_fails_cleanly(served: RunningServer) -> None:
    assoc = _associate(served.mwl_port or 0, served.mwl_ae_title or "DICOM_MWL_SCP", MWL_FIND)
    try:
        statuses = _send_raw(assoc, MWL_FIND, request_command(0x0020, 43, MWL_FIND), GARBAGE)
        assert statuses == [0xA900], [hex(s) for s in statuses]  # identifier does not match SOP class
        query = Dataset()
        query.PatientName = ""
        assert [s.Status for s, _ in assoc.send_c_find(query, MWL_FIND)] == [0x0000]
    finally:
        assoc.release()
    assert served.process.poll() is None
