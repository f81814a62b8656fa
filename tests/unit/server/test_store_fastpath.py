"""The Storage SCU fast path of C-MOVE sub-operations (app.server.store_fastpath): guards on the
pynetdicom internals it relies on, and real associations on 127.0.0.1 to an in-process
pynetdicom Storage SCP (data sets byte-identical after fragmentation to a small Maximum
Length, statuses, Move Originator, the association lent to pynetdicom and taken back, a peer
abort, a missing response). The C-MOVE integration tests (tests/integration/test_qr_move.py)
run it against DCMTK ``storescp``.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, association, build_context, dul, evt

from app.core.config import Destination, ServerConfig
from app.net.received import data_set_offset, open_received
from app.server import store_fastpath
from app.server.fastpath import encode_store_response, parse_command
from app.server.scu import associate

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def test_pynetdicom_internals_the_sender_relies_on() -> None:
    reactor = inspect.getsource(association.Association._run_reactor)
    assert "self._is_paused = True\n            self._reactor_checkpoint.wait()" in reactor
    assert "self._is_transport_event()" in inspect.getsource(dul.DULServiceProvider.run_reactor)
    init = inspect.getsource(dul.DULServiceProvider.__init__)
    for name in ("event_queue", "_recv_pdu", "_idle_timer"):
        assert f"self.{name}" in init


# -- real associations --------------------------------------------------------------------------------


class Peer:
    """An in-process pynetdicom Storage SCP answering the statuses it is given, in turn."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[bytes, str, int]] = []
        self.abort_on_next = False
        self.delay = 0.0

    def handle_store(self, event: Any) -> int:
        time.sleep(self.delay)
        if self.abort_on_next:
            threading.Thread(target=event.assoc.abort).start()
            time.sleep(0.5)
        request = event.request
        with open_received(event) as stream:  # in memory or in pynetdicom's file (STORE_RECV_CHUNKED_DATASET)
            data = stream.read()
        self.received.append(
            (
                data,
                str(request.MoveOriginatorApplicationEntityTitle or "").strip(),
                int(request.MoveOriginatorMessageID or 0),
            )
        )
        return self.statuses.pop(0) if self.statuses else 0x0000


@pytest.fixture
def peer() -> Iterator[tuple[Peer, int]]:
    state = Peer()
    ae = AE("DEST")
    ae.maximum_pdu_size = 4096  # the data sets are fragmented over many PDUs
    ae.add_supported_context(CT_IMAGE, ExplicitVRLittleEndian)
    ae.add_supported_context("1.2.840.10008.1.1")
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, state.handle_store)])
    try:
        yield state, int(server.server_address[1])
    finally:
        server.shutdown()


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """Three CT files as Lightbox stores them (File Meta Information Group Length first)."""
    ct = dcmread(get_testdata_file("CT_small.dcm", download=False))
    paths = []
    for number in range(3):
        ct.SOPInstanceUID = f"1.2.3.{number}"
        ct.file_meta.MediaStorageSOPInstanceUID = ct.SOPInstanceUID
        ct.InstanceNumber = number
        path = tmp_path / f"{number}.dcm"
        ct.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _data_set(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(data_set_offset(fh))
        return fh.read()


def _open(port: int) -> Any:
    config = ServerConfig()
    assoc = associate(
        config, Destination("DEST", "127.0.0.1", port),
        [build_context(CT_IMAGE, ExplicitVRLittleEndian), build_context("1.2.840.10008.1.1")],
    )
    assert assoc.is_established
    return assoc


def _ct_context(assoc: Any) -> int:
    return next(cx.context_id for cx in assoc.accepted_contexts if cx.abstract_syntax == CT_IMAGE)


def test_files_sent_as_stored_with_statuses_then_handed_back(peer: tuple[Peer, int], files: list[Path]) -> None:
    state, port = peer
    state.statuses = [0x0000, 0xB000, 0xA700]
    assoc = _open(port)
    sender = store_fastpath.take(assoc)
    assert sender is not None
    context = _ct_context(assoc)
    statuses = [
        sender.send(path, context, CT_IMAGE, f"1.2.3.{n}", 100 + n, "MOVER", 41) for n, path in enumerate(files)
    ]
    assert statuses == [0x0000, 0xB000, 0xA700]
    assert [r[0] for r in state.received] == [_data_set(path) for path in files]
    assert len(state.received[0][0]) > 4 * 4096  # really fragmented to the peer's Maximum Length
    assert {(r[1], r[2]) for r in state.received} == {("MOVER", 41)}
    sender.close()
    # pynetdicom has the association back: its own requests and the release work.
    assert assoc.send_c_echo().Status == 0x0000
    assert assoc.send_c_store(dcmread(files[0])).Status == 0x0000
    assoc.release()
    assert assoc.is_released


def test_a_file_without_file_meta_group_length_is_not_sent(peer: tuple[Peer, int], tmp_path: Path) -> None:
    state, port = peer
    bare = tmp_path / "bare.dcm"
    bare.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x01\x00OB\0\0\x02\0\0\0\0\x01")
    assoc = _open(port)
    sender = store_fastpath.take(assoc)
    assert sender is not None
    try:
        with pytest.raises(store_fastpath.NotSendable):
            sender.send(bare, _ct_context(assoc), CT_IMAGE, "1.2.3.9", 1)
        with pytest.raises(store_fastpath.NotSendable):
            sender.send(bare, 255, CT_IMAGE, "1.2.3.9", 1)  # not an accepted context
        assert sender.usable and not state.received
    finally:
        sender.close()
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()


def test_a_peer_abort_stops_the_sender(peer: tuple[Peer, int], files: list[Path]) -> None:
    state, port = peer
    state.abort_on_next = True
    assoc = _open(port)
    sender = store_fastpath.take(assoc)
    assert sender is not None
    try:
        assert sender.send(files[0], _ct_context(assoc), CT_IMAGE, "1.2.3.0", 1) is None
        assert not sender.usable
        assert sender.send(files[1], _ct_context(assoc), CT_IMAGE, "1.2.3.1", 2) is None
    finally:
        sender.close()
    deadline = time.monotonic() + 5
    while assoc.is_established and time.monotonic() < deadline:
        time.sleep(0.01)
    assert assoc.is_aborted and not assoc.is_established


def test_request_bytes_are_what_pynetdicom_would_send(peer: tuple[Peer, int], files: list[Path]) -> None:
    """pynetdicom's own C-STORE of the same file gives the peer the same data set."""
    state, port = peer
    assoc = _open(port)
    try:
        assert assoc.send_c_store(files[1]).Status == 0x0000
        sender = store_fastpath.take(assoc)
        assert sender is not None
        try:
            assert sender.send(files[1], _ct_context(assoc), CT_IMAGE, "1.2.3.1", 9) == 0x0000
        finally:
            sender.close()
    finally:
        assoc.release()
    assert state.received[0][0] == state.received[1][0] == _data_set(files[1])


def test_lent_to_pynetdicom_and_taken_back(peer: tuple[Peer, int], files: list[Path]) -> None:
    """The move handler's fallback: the sender gives the association to ``send_c_store`` (a
    file to convert) and takes it back for the next fast request."""
    state, port = peer
    assoc = _open(port)
    sender = store_fastpath.take(assoc)
    assert sender is not None
    try:
        assert sender.send(files[0], _ct_context(assoc), CT_IMAGE, "1.2.3.0", 1) == 0x0000
        sender.close()
        assert assoc.send_c_store(dcmread(files[1]), msg_id=2).Status == 0x0000
        sender.own()
        assert sender.send(files[2], _ct_context(assoc), CT_IMAGE, "1.2.3.2", 3) == 0x0000
    finally:
        sender.close()
        assoc.release()
    assert assoc.is_released
    assert [_sop_instance_uid(r[0]) for r in state.received] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]


def test_a_response_to_another_request_is_refused() -> None:
    command = parse_command(encode_store_response(5, CT_IMAGE, "1.2.3.4", 0x0000))
    with pytest.raises(ValueError, match="not the C-STORE-RSP of this request"):
        store_fastpath._status(command, 6)
    assert store_fastpath._status(command, 5) == 0x0000


def _sop_instance_uid(data: bytes) -> str:
    """The SOP Instance UID of an explicit VR little endian data set."""
    return str(read_dataset(DicomBytesIO(data), is_implicit_VR=False, is_little_endian=True).SOPInstanceUID)


def test_no_response_within_the_dimse_timeout_aborts(peer: tuple[Peer, int], files: list[Path]) -> None:
    state, port = peer
    state.delay = 1.5
    assoc = _open(port)
    assoc.dimse_timeout = 0.3
    sender = store_fastpath.take(assoc)
    assert sender is not None
    started = time.monotonic()
    try:
        assert sender.send(files[0], _ct_context(assoc), CT_IMAGE, "1.2.3.0", 1) is None
    finally:
        sender.close()
    assert time.monotonic() - started < 1.2
    assert not sender.usable and assoc.is_aborted and not assoc.is_established
