"""The C-STORE fast path (app.server.fastpath): guards on pynetdicom's internals, the
encoders against pynetdicom's own, and real associations on 127.0.0.1 against an
in-process Storage SCP with a recording ingest (byte-identical data sets, statuses,
fallback to pynetdicom for other commands, peer aborts).
"""

from __future__ import annotations

import hashlib
import inspect
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pynetdicom
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, dul, fsm, transport
from pynetdicom.dsutils import encode
from pynetdicom.pdu import P_DATA_TF

from app.core.config import ServerConfig, StorageAE
from app.server import fastpath
from app.server.scp import StorageService
from tests.dimse_frames import p_data, store_command

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"

#: sha256 (first 16 hex digits) of the source of every pynetdicom function the fast path
#: replaces or relies on. A change means the fast path must be reviewed against the new code.
PYNETDICOM_SHAPES = {
    "dul.DULServiceProvider._read_pdu_data": "19f2d4e38c13c835",
    "dul.DULServiceProvider._is_transport_event": "8725ed03bb8fbdef",
    "dul.DULServiceProvider.run_reactor": "e3a10eb3a0931e48",
    "dul.DULServiceProvider._decode_pdu": "fc71dd1bf853e1ce",
    "transport.AssociationSocket.send": "1ea8158c0b51faca",
    "transport.RequestHandler.handle": "034823fb4df3a874",
    "transport.AssociationServer.get_request": "925a4f3a3042f6e4",
    "fsm.DT_1": "82e5c5d4114534fa",
    "fsm.DT_2": "9ec543394e0b49eb",
}


def _source_hash(dotted: str) -> str:
    modules = {"dul": dul, "transport": transport, "fsm": fsm}
    head, *rest = dotted.split(".")
    obj: Any = modules[head]
    for part in rest:
        obj = getattr(obj, part)
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def test_pynetdicom_is_the_pinned_version() -> None:
    assert pynetdicom.__version__ == fastpath.PINNED_PYNETDICOM
    assert fastpath.is_supported()


@pytest.mark.parametrize("dotted", sorted(PYNETDICOM_SHAPES))
def test_replaced_pynetdicom_functions_unchanged(dotted: str) -> None:
    assert _source_hash(dotted) == PYNETDICOM_SHAPES[dotted], (
        f"pynetdicom's {dotted} changed: review app/server/fastpath.py against it, then update the hash"
    )


def test_dul_attributes_the_fast_path_uses() -> None:
    source = inspect.getsource(dul.DULServiceProvider.__init__)
    for name in ("event_queue", "to_provider_queue", "_recv_pdu", "_idle_timer", "state_machine", "_kill_thread"):
        assert f"self.{name}" in source


# -- encoders ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "comment"), [(0x0000, ""), (0xA700, "disk full"), (0xB000, "coerced x")])
def test_store_response_encoding_matches_pynetdicom(status: int, comment: str) -> None:
    ds = Dataset()
    ds.AffectedSOPClassUID = CT_IMAGE
    ds.CommandField = 0x8001
    ds.MessageIDBeingRespondedTo = 7
    ds.CommandDataSetType = 0x0101
    ds.Status = status
    if comment:
        ds.ErrorComment = comment
    ds.AffectedSOPInstanceUID = "1.2.3.4"
    body = encode(ds, True, True)
    assert body is not None
    ds.CommandGroupLength = len(body)
    expected = encode(ds, True, True)
    assert fastpath.encode_store_response(7, CT_IMAGE, "1.2.3.4", status, comment) == expected


def test_parse_command_reads_pynetdicom_encoding() -> None:
    ds = Dataset()
    ds.AffectedSOPClassUID = CT_IMAGE
    ds.CommandField = 0x0001
    ds.MessageID = 3
    ds.Priority = 0
    ds.CommandDataSetType = 0x0001
    ds.AffectedSOPInstanceUID = "1.2.3.45"
    raw = encode(ds, True, True)
    assert raw is not None
    parsed = fastpath.parse_command(raw)
    assert fastpath._us(parsed, 0x00000100) == 1
    assert fastpath._us(parsed, 0x00000110) == 3
    assert fastpath._ui(parsed, 0x00000002) == CT_IMAGE
    assert fastpath._ui(parsed, 0x00001000) == "1.2.3.45"
    with pytest.raises(ValueError):
        fastpath.parse_command(raw[:-3])


def test_p_data_pdus_respect_the_peer_maximum() -> None:
    command = fastpath.encode_store_response(1, CT_IMAGE, "1.2.3", 0xC000, "x" * 60)
    for max_pdu, count in ((0, 1), (16384, 1), (64, -1)):
        pdus = fastpath.p_data_pdus(5, command, max_pdu)
        if count > 0:
            assert len(pdus) == count
        joined = b""
        for index, raw in enumerate(pdus):
            assert max_pdu == 0 or len(raw) - 6 <= max_pdu
            pdu = P_DATA_TF()
            pdu.decode(raw)
            ((context_id, data),) = pdu.to_primitive().presentation_data_value_list
            assert context_id == 5
            assert data[0] == (0x03 if index == len(pdus) - 1 else 0x01)
            joined += data[1:]
        assert joined == command


# -- real associations against an in-process SCP -----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int
    comment: str = ""
    sop_instance_uid: str = ""


class RecordingIngest:
    """Keeps what it received; answers ``answer`` (or raises ``error``)."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.answer = Outcome(0)
        self.error: Exception | None = None
        self.lock = threading.Lock()

    def store_encoded(self, dataset: Any, **kwargs: str) -> Outcome:
        data = bytes(dataset) if isinstance(dataset, bytes | bytearray | memoryview) else dataset.read()
        with self.lock:
            self.received.append((data, kwargs))
        if self.error is not None:
            raise self.error
        return self.answer


def _encoded(ds: Dataset, syntax: str) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = syntax == ImplicitVRLittleEndian
    write_dataset(fp, ds)
    return fp.getvalue()


@pytest.fixture
def ct() -> Dataset:
    path = get_testdata_file("CT_small.dcm", download=False)
    assert path is not None
    return dcmread(path)


def _service(ingest: RecordingIngest, *, fast_path: bool = True, max_pdu: int = 131072) -> StorageService:
    config = ServerConfig(
        data_dir=Path("unused"),
        dicom_host="127.0.0.1",
        max_pdu=max_pdu,
        network_timeout=10.0,
        storage=(StorageAE("FAST_SCP", 0),),
    )
    return StorageService(config, ingest, fast_path=fast_path)


@pytest.fixture
def scp() -> Iterator[tuple[RecordingIngest, int]]:
    ingest = RecordingIngest()
    service = _service(ingest)
    ((_title, port),) = service.start()
    yield ingest, port
    service.stop(grace=2.0)


def _scu(*syntaxes: str) -> AE:
    ae = AE("TEST_SCU")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context("1.2.840.10008.1.1")
    ae.add_requested_context(CT_IMAGE, list(syntaxes) or [ExplicitVRLittleEndian])
    return ae


def test_fast_path_stores_byte_identical_data_sets(scp: tuple[RecordingIngest, int], ct: Dataset) -> None:
    ingest, port = scp
    assoc = _scu(ImplicitVRLittleEndian, ExplicitVRLittleEndian).associate("127.0.0.1", port, ae_title="FAST_SCP")
    assert assoc.is_established
    syntax = assoc.accepted_contexts[1].transfer_syntax[0]
    assert syntax == ExplicitVRLittleEndian  # the SCP's preference, not the proposer's order
    for n in range(3):
        ct.SOPInstanceUID = f"1.2.3.{n}"
        assert assoc.send_c_store(ct).Status == 0x0000
        assert assoc.send_c_echo().Status == 0x0000  # another service in between goes to pynetdicom
    assoc.release()
    assert len(ingest.received) == 3
    for n, (data, kwargs) in enumerate(ingest.received):
        ct.SOPInstanceUID = f"1.2.3.{n}"
        assert data == _encoded(ct, syntax)
        assert kwargs == {
            "transfer_syntax": ExplicitVRLittleEndian,
            "sop_class_uid": CT_IMAGE,
            "sop_instance_uid": f"1.2.3.{n}",
            "source_ae": "TEST_SCU",
            "called_ae": "FAST_SCP",
        }


@pytest.mark.parametrize("fast_path", [True, False])
def test_small_pdus_and_both_paths_give_the_same_bytes(fast_path: bool, ct: Dataset) -> None:
    ingest = RecordingIngest()
    service = _service(ingest, fast_path=fast_path, max_pdu=4096)  # about 10 PDUs per image
    ((_title, port),) = service.start()
    try:
        assoc = _scu(ImplicitVRLittleEndian).associate("127.0.0.1", port, ae_title="FAST_SCP")
        assert assoc.send_c_store(ct).Status == 0x0000
        assoc.release()
    finally:
        service.stop(grace=2.0)
    assert [data for data, _ in ingest.received] == [_encoded(ct, ImplicitVRLittleEndian)]


@pytest.mark.parametrize("fast_path", [True, False])
def test_failure_status_and_comment_are_answered(fast_path: bool, ct: Dataset) -> None:
    ingest = RecordingIngest()
    service = _service(ingest, fast_path=fast_path)
    ((_title, port),) = service.start()
    try:
        _answer_failures(ingest, port, ct)
    finally:
        service.stop(grace=2.0)


def _answer_failures(ingest: RecordingIngest, port: int, ct: Dataset) -> None:
    assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
    ingest.answer = Outcome(0xA700, "index update failed")
    rsp = assoc.send_c_store(ct)
    assert rsp.Status == 0xA700
    assert rsp.ErrorComment == "index update failed"
    ingest.answer = Outcome(0xB000, "Patient ID was empty; coerced")
    assert assoc.send_c_store(ct).Status == 0xB000
    ingest.error = RuntimeError("boom")
    rsp = assoc.send_c_store(ct)
    assert rsp.Status == 0xC000
    assert "boom" in rsp.ErrorComment
    ingest.error = OSError(28, "No space left on device")
    assert assoc.send_c_store(ct).Status == 0xA700
    ingest.error, ingest.answer = None, Outcome(0)
    assert assoc.send_c_store(ct).Status == 0x0000  # the association is still usable
    assoc.release()




@pytest.mark.parametrize("fast_path", [True, False])
def test_peer_abort_mid_data_set_stores_nothing_and_server_goes_on(
    fast_path: bool, ct: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where either path spools data sets
    ingest = RecordingIngest()
    service = _service(ingest, fast_path=fast_path)
    ((_title, port),) = service.start()
    try:
        assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
        assert assoc.send_c_store(ct).Status == 0x0000
        context_id = assoc.accepted_contexts[1].context_id
        data = _encoded(ct, ExplicitVRLittleEndian)
        sock = assoc.dul.socket
        sock.send(p_data(context_id, 0x03, store_command(9, "1.2.3.999")))
        sock.send(p_data(context_id, 0x00, data[: len(data) // 2]))  # not the last fragment
        time.sleep(0.2)
        assoc.abort()
        time.sleep(0.3)
        assert [kw["sop_instance_uid"] for _, kw in ingest.received] == [ct.SOPInstanceUID]
        assert list(tmp_path.iterdir()) == []  # no partial data set left behind
        again = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
        assert again.is_established
        assert again.send_c_store(ct).Status == 0x0000
        again.release()
        assert len(ingest.received) == 2
    finally:
        service.stop(grace=2.0)


def test_command_on_a_context_of_another_sop_class_goes_to_pynetdicom(
    scp: tuple[RecordingIngest, int], ct: Dataset
) -> None:
    ingest, port = scp
    assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
    context_id = assoc.accepted_contexts[1].context_id
    ds = Dataset()
    ds.AffectedSOPClassUID = MR_IMAGE  # not the context's abstract syntax
    ds.CommandField = 0x0001
    ds.MessageID = 4
    ds.Priority = 0
    ds.CommandDataSetType = 0x0001
    ds.AffectedSOPInstanceUID = "1.2.3.5"
    raw = encode(ds, True, True)
    assert raw is not None
    ds.CommandGroupLength = len(raw)
    command = encode(ds, True, True)
    assert command is not None
    sock = assoc.dul.socket
    sock.send(p_data(context_id, 0x03, command))
    sock.send(p_data(context_id, 0x02, _encoded(ct, ExplicitVRLittleEndian)))
    # pynetdicom's own path answers it (through the handler) or aborts; either way the fast
    # path did not store it under the wrong SOP class.
    time.sleep(0.5)
    assert all(kw["sop_class_uid"] != CT_IMAGE or kw["sop_instance_uid"] != "1.2.3.5" for _, kw in ingest.received)
    if assoc.is_established:
        assoc.release()


def test_data_set_offset_skips_the_file_meta(ct: Dataset) -> None:
    from app.net.received import data_set_offset

    meta = BytesIO()
    ct.save_as(meta, enforce_file_format=True)
    meta.seek(0)
    offset = data_set_offset(meta)
    assert meta.getvalue()[offset:] == _encoded(ct, ExplicitVRLittleEndian)


@pytest.mark.parametrize("max_pdu", [4096, 131072])
def test_large_data_sets_spill_to_a_file_byte_identical(
    max_pdu: int, ct: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fastpath, "SPOOL_MEMORY", 10_000)  # CT_small is about 39 kB
    ingest = RecordingIngest()
    service = _service(ingest, max_pdu=max_pdu)
    ((_title, port),) = service.start()
    try:
        assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
        assert assoc.send_c_store(ct).Status == 0x0000
        ct.SOPInstanceUID = "1.2.3.77"
        assert assoc.send_c_store(ct).Status == 0x0000
        assoc.release()
    finally:
        service.stop(grace=2.0)
    assert [data for data, _ in ingest.received][-1] == _encoded(ct, ExplicitVRLittleEndian)
    assert len(ingest.received) == 2


def test_last_fragment_and_next_command_in_one_pdu(scp: tuple[RecordingIngest, int], ct: Dataset) -> None:
    ingest, port = scp
    assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
    context_id = assoc.accepted_contexts[1].context_id
    data = _encoded(ct, ExplicitVRLittleEndian)
    half = len(data) // 2

    def pdv(control: int, payload: bytes) -> bytes:
        return struct.pack(">IBB", len(payload) + 2, context_id, control) + payload

    def pdu(*items: bytes) -> bytes:
        body = b"".join(items)
        return struct.pack(">BBI", 0x04, 0, len(body)) + body

    assoc._reactor_checkpoint.clear()  # read the responses ourselves, as pynetdicom's send_*() do
    while not assoc._is_paused:
        time.sleep(0.001)
    sock = assoc.dul.socket
    sock.send(pdu(pdv(0x03, store_command(1, "1.2.3.1"))))
    sock.send(pdu(pdv(0x00, data[:half])))
    sock.send(pdu(pdv(0x02, data[half:]), pdv(0x03, store_command(2, "1.2.3.2")), pdv(0x00, data[:half])))
    sock.send(pdu(pdv(0x02, data[half:])))
    responses = [assoc.dimse.get_msg(block=True)[1] for _ in range(2)]
    assoc._reactor_checkpoint.set()
    assert [(r.MessageIDBeingRespondedTo, r.Status) for r in responses] == [(1, 0), (2, 0)]
    assert [kw["sop_instance_uid"] for _, kw in ingest.received] == ["1.2.3.1", "1.2.3.2"]
    assert all(received == data for received, _ in ingest.received)
    assoc.release()


def test_other_pynetdicom_version_falls_back_to_the_stock_path(monkeypatch: pytest.MonkeyPatch, ct: Dataset) -> None:
    monkeypatch.setattr(pynetdicom, "__version__", "3.0.5")
    assert not fastpath.is_supported()
    ingest = RecordingIngest()
    service = _service(ingest)  # fast path asked for, but not installed
    ((_title, port),) = service.start()
    try:
        assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
        assert assoc.send_c_store(ct).Status == 0x0000
        (ae, _server, _thread) = service._servers[0]
        (server_side,) = ae.active_associations
        assert not isinstance(server_side.dul.__dict__.get("_read_pdu_data"), fastpath.FastStoreReader)
        assoc.release()
    finally:
        service.stop(grace=2.0)
    assert [data for data, _ in ingest.received] == [_encoded(ct, ExplicitVRLittleEndian)]


def test_fast_path_is_installed_on_the_pinned_version(scp: tuple[RecordingIngest, int], ct: Dataset) -> None:
    _ingest, port = scp
    assoc = _scu().associate("127.0.0.1", port, ae_title="FAST_SCP")
    assert assoc.is_established
    time.sleep(0.1)
    acceptors: list[Any] = [t for t in threading.enumerate() if "AcceptorThread" in t.name]
    assert any(isinstance(a.dul.__dict__.get("_read_pdu_data"), fastpath.FastStoreReader) for a in acceptors)
    assoc.release()
