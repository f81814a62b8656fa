"""Storage Commitment Push Model SCP on the Storage AEs, over real associations (PS3.4 J.3).

pynetdicom plays the requester (DCMTK has no storage commitment SCU): it stores images
with C-STORE, asks for their commitment with an N-ACTION and receives the N-EVENT-REPORT,
either on its own association or as an SCP listening on an ephemeral port that the
server knows as a ``[[server.destinations]]`` entry. Stored files are damaged on disk to
check that commitment looks at the files, not only at the index.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xxhash
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from sqlalchemy import create_engine, text

from tests.conftest import RunningServer, start_server, stop_server, write_server_config

PUSH_MODEL = "1.2.840.10008.1.20.1"
PUSH_MODEL_INSTANCE = "1.2.840.10008.1.20.1.1"
STORAGE_AE = "DICOM_STORAGE"
SCU_AE = "COMMIT_SCU"
WAIT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _testfile(name: str) -> Dataset:
    path = get_testdata_file(name, download=False)
    assert path is not None
    return dcmread(str(path))


def _instances(count: int) -> list[Dataset]:
    """Distinct instances (CT and MR), new UIDs each time."""
    made = []
    for number in range(count):
        ds = _testfile("CT_small.dcm" if number % 2 == 0 else "MR_small.dcm")
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        made.append(ds)
    return made


def _store(server: RunningServer, datasets: list[Dataset]) -> None:
    ae = AE(ae_title="MODALITY")
    for ds in datasets:
        ae.add_requested_context(ds.SOPClassUID, [str(ds.file_meta.TransferSyntaxUID)])
    assoc = ae.associate("127.0.0.1", server.storage_port, ae_title=STORAGE_AE)
    assert assoc.is_established
    try:
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()


def _request(transaction_uid: str | None, refs: list[tuple[str, str]] | None) -> Dataset:
    info = Dataset()
    if transaction_uid is not None:
        info.TransactionUID = transaction_uid
    if refs is not None:
        items = []
        for sop_class, sop_instance in refs:
            item = Dataset()
            item.ReferencedSOPClassUID = sop_class
            item.ReferencedSOPInstanceUID = sop_instance
            items.append(item)
        info.ReferencedSOPSequence = items
    return info


@dataclass
class Reports:
    """N-EVENT-REPORTs received, with the association details they came on."""

    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)

    def on_sent(self, event: Any) -> None:
        """``EVT_DIMSE_SENT``: the N-EVENT-REPORT response went out (safe to release now)."""
        if type(event.message).__name__ == "N_EVENT_REPORT_RSP":
            self.answered.set()

    def handler(self, event: Any) -> tuple[int, None]:
        info = event.event_information
        cx = next(c for c in event.assoc.accepted_contexts if c.context_id == event.context.context_id)
        self.received.append({
            "event_type": event.event_type,
            "info": info,
            "calling_ae": str(event.assoc.requestor.ae_title).strip(),
            "is_requestor": event.assoc.is_requestor,
            "we_are_scu": cx.as_scu,
            "we_are_scp": cx.as_scp,
            "class": str(event.request.AffectedSOPClassUID),
            "instance": str(event.request.AffectedSOPInstanceUID),
        })
        self.arrived.set()
        return 0x0000, None

    def wait(self, timeout: float = WAIT) -> dict[str, Any]:
        assert self.arrived.wait(timeout), "no N-EVENT-REPORT arrived"
        return self.received[0]


def _ask(
    server: RunningServer, info: Dataset, *, wait_report: bool, action_type: int = 1,
    instance: str = PUSH_MODEL_INSTANCE, ae_title: str = SCU_AE,
) -> tuple[Dataset, Reports]:
    """Send one N-ACTION; keep the association open for the report when ``wait_report``."""
    reports = Reports()
    ae = AE(ae_title=ae_title)
    ae.add_requested_context(PUSH_MODEL, [ImplicitVRLittleEndian])
    handlers = [(evt.EVT_N_EVENT_REPORT, reports.handler), (evt.EVT_DIMSE_SENT, reports.on_sent)]
    assoc = ae.associate("127.0.0.1", server.storage_port, ae_title=STORAGE_AE, evt_handlers=handlers)
    assert assoc.is_established
    try:
        status, _reply = assoc.send_n_action(info, action_type, PUSH_MODEL, instance)
        if wait_report and status.Status == 0x0000:
            reports.wait()
            assert reports.answered.wait(WAIT)
    finally:
        assoc.release()
    return status, reports


class Requester:
    """The requester's own SCP, receiving reports on associations the server opens."""

    def __init__(self, port: int, ae_title: str = SCU_AE) -> None:
        self.port = port
        self.reports = Reports()
        self.ae = AE(ae_title=ae_title)
        self.ae.add_supported_context(PUSH_MODEL, [ImplicitVRLittleEndian, ExplicitVRLittleEndian],
                                      scu_role=False, scp_role=True)
        self.server: Any = None

    def start(self) -> Requester:
        self.server = self.ae.start_server(
            ("127.0.0.1", self.port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, self.reports.handler)]
        )
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()


def _destination(title: str, port: int) -> str:
    return f'[[server.destinations]]\nae_title = "{title}"\nhost = "127.0.0.1"\nport = {port}\n'


def _start(tmp_path: Path, index_url: str, *, extra: str = "", commitment: str = "", destinations: str = "",
           name: str = "srv") -> RunningServer:
    data_dir = tmp_path / name
    qr = "[server.qr]\nport = 0\n" + (f"[server.commitment]\n{commitment}\n" if commitment else "") + destinations
    config = write_server_config(tmp_path / f"{name}.toml", data_dir, extra_server=extra, qr=qr, index_url=index_url)
    return start_server(config, data_dir)


def _rows(server: RunningServer, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on the server's index (either backend)."""
    engine = create_engine(server.index_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _stored_path(server: RunningServer, sop_instance_uid: str) -> Path:
    [(relpath,)] = _rows(server, "SELECT relpath FROM instance WHERE sop_instance_uid = :uid", uid=sop_instance_uid)
    return server.data_dir / "storage" / relpath


def _jobs(server: RunningServer) -> list[tuple[Any, ...]]:
    return _rows(server, "SELECT kind, state, attempts, last_error, payload FROM job ORDER BY id")


def _job_states(server: RunningServer, transaction: str) -> list[str]:
    """States of the report jobs of ``transaction`` (one server serves several tests)."""
    states = []
    for _kind, state, _attempts, _error, payload in _jobs(server):
        values = json.loads(payload) if isinstance(payload, str) else payload
        if values.get("transaction_uid") == transaction:
            states.append(state)
    return states


def _wait_for(predicate: Any, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _refs(datasets: list[Dataset]) -> list[tuple[str, str]]:
    return [(str(ds.SOPClassUID), str(ds.SOPInstanceUID)) for ds in datasets]


def _uids(info: Dataset, keyword: str) -> list[tuple[str, str]]:
    return [(i.ReferencedSOPClassUID, i.ReferencedSOPInstanceUID) for i in info.get(keyword, [])]


@pytest.fixture
def running(shared_server: RunningServer) -> RunningServer:
    """The module's server with the default settings: each test stores instances of new UIDs and
    looks only at those and at its own transaction's report job."""
    return shared_server


def test_report_on_the_same_association(running: RunningServer) -> None:
    stored = _instances(3)
    _store(running, stored)
    transaction = generate_uid()
    status, reports = _ask(running, _request(transaction, _refs(stored)), wait_report=True)
    assert status.Status == 0x0000
    report = reports.wait()
    assert report["is_requestor"]  # on the association the requester opened
    assert report["event_type"] == 1  # all committed
    assert (report["class"], report["instance"]) == (PUSH_MODEL, PUSH_MODEL_INSTANCE)
    info = report["info"]
    assert info.TransactionUID == transaction
    assert info.RetrieveAETitle == running.qr_ae_title
    assert sorted(_uids(info, "ReferencedSOPSequence")) == sorted(_refs(stored))
    assert "FailedSOPSequence" not in info
    _wait_for(lambda: _job_states(running, transaction) == ["done"])


def test_modality_stores_and_commits_on_one_association(running: RunningServer) -> None:
    """C-STOREs (the server's fast path) then the N-ACTION and its report, all on one association."""
    stored = _instances(4)
    reports = Reports()
    ae = AE(ae_title="MODALITY")
    for sop_class in {str(ds.SOPClassUID) for ds in stored}:
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    ae.add_requested_context(PUSH_MODEL, [ImplicitVRLittleEndian])
    handlers = [(evt.EVT_N_EVENT_REPORT, reports.handler), (evt.EVT_DIMSE_SENT, reports.on_sent)]
    assoc = ae.associate("127.0.0.1", running.storage_port, ae_title=STORAGE_AE, evt_handlers=handlers)
    assert assoc.is_established
    try:
        for ds in stored:
            assert assoc.send_c_store(ds).Status == 0x0000
        transaction = generate_uid()
        status, _ = assoc.send_n_action(_request(transaction, _refs(stored)), 1, PUSH_MODEL, PUSH_MODEL_INSTANCE)
        assert status.Status == 0x0000
        report = reports.wait()
        assert reports.answered.wait(WAIT)
        # more images after the report: the association still serves C-STORE
        extra = _instances(1)
        assert assoc.send_c_store(extra[0]).Status == 0x0000
    finally:
        assoc.release()
    assert report["is_requestor"] and report["event_type"] == 1
    assert report["info"].TransactionUID == transaction
    assert sorted(_uids(report["info"], "ReferencedSOPSequence")) == sorted(_refs(stored))
    _wait_for(lambda: _job_states(running, transaction) == ["done"])


def test_report_on_a_new_association_to_the_requester(tmp_path: Path, index_url: str) -> None:
    requester = Requester(_free_port()).start()
    server = _start(
        tmp_path, index_url, commitment="same_association = false", destinations=_destination(SCU_AE, requester.port)
    )
    try:
        stored = _instances(2)
        _store(server, stored)
        transaction = generate_uid()
        status, on_request_association = _ask(server, _request(transaction, _refs(stored)), wait_report=False)
        assert status.Status == 0x0000
        report = requester.reports.wait()
        assert not on_request_association.received
        assert report["calling_ae"] == STORAGE_AE  # from the Storage AE that got the request
        assert not report["is_requestor"]
        # SCP/SCU role selection: the requester's SCP acts as the SCU of the service here
        assert report["we_are_scu"] is True and report["we_are_scp"] is False
        assert report["event_type"] == 1
        assert report["info"].TransactionUID == transaction
        assert report["info"].RetrieveAETitle == server.qr_ae_title
        assert sorted(_uids(report["info"], "ReferencedSOPSequence")) == sorted(_refs(stored))
    finally:
        requester.stop()
        assert stop_server(server) == 0


def test_released_association_gets_its_report_on_a_new_one(tmp_path: Path, index_url: str) -> None:
    requester = Requester(_free_port()).start()
    server = _start(tmp_path, index_url, destinations=_destination(SCU_AE, requester.port))  # same_association on
    try:
        stored = _instances(1)
        _store(server, stored)
        status, _ = _ask(server, _request(generate_uid(), _refs(stored)), wait_report=False)
        assert status.Status == 0x0000
        report = requester.reports.wait()
        assert report["event_type"] == 1
        assert _uids(report["info"], "ReferencedSOPSequence") == _refs(stored)
    finally:
        requester.stop()
        assert stop_server(server) == 0


def test_report_to_always_gets_the_report(tmp_path: Path, index_url: str) -> None:
    monitor = Requester(_free_port(), ae_title="RIS_MONITOR").start()
    server = _start(
        tmp_path, index_url, commitment='report_to = "RIS_MONITOR"',
        destinations=_destination("RIS_MONITOR", monitor.port),
    )
    try:
        stored = _instances(2)
        _store(server, stored)
        reports = Reports()
        ae = AE(ae_title="ANY_SCU")  # not a destination: the report goes to report_to anyway
        ae.add_requested_context(PUSH_MODEL, [ImplicitVRLittleEndian])
        assoc = ae.associate("127.0.0.1", server.storage_port, ae_title=STORAGE_AE,
                             evt_handlers=[(evt.EVT_N_EVENT_REPORT, reports.handler)])
        assert assoc.is_established
        try:
            transaction = generate_uid()
            status, _ = assoc.send_n_action(_request(transaction, _refs(stored)), 1, PUSH_MODEL, PUSH_MODEL_INSTANCE)
            assert status.Status == 0x0000
            report = monitor.reports.wait()
            time.sleep(0.5)
            assert not reports.received  # never on the still-open requesting association
        finally:
            assoc.release()
        assert report["info"].TransactionUID == transaction
        assert report["calling_ae"] == STORAGE_AE
    finally:
        monitor.stop()
        assert stop_server(server) == 0


def test_failures_are_reported_with_their_reason(running: RunningServer) -> None:
    good, wrong_class, truncated, corrupted, deleted = stored = _instances(5)
    _store(running, stored)
    path = _stored_path(running, truncated.SOPInstanceUID)
    path.write_bytes(path.read_bytes()[:-100])
    path = _stored_path(running, corrupted.SOPInstanceUID)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(data))
    _stored_path(running, deleted.SOPInstanceUID).unlink()
    unknown = ("1.2.840.10008.5.1.4.1.1.2", generate_uid())
    wrong = ("1.2.840.10008.5.1.4.1.1.7", str(wrong_class.SOPInstanceUID))  # stored as CT/MR, asked as SC
    refs = [*_refs([good, truncated, corrupted, deleted]), unknown, wrong]
    status, reports = _ask(running, _request(generate_uid(), refs), wait_report=True)
    assert status.Status == 0x0000
    report = reports.wait()
    assert report["event_type"] == 2  # some failed
    info = report["info"]
    assert _uids(info, "ReferencedSOPSequence") == _refs([good])
    reasons = {i.ReferencedSOPInstanceUID: int(i.FailureReason) for i in info.FailedSOPSequence}
    assert reasons == {
        truncated.SOPInstanceUID: 0x0110,
        corrupted.SOPInstanceUID: 0x0110,
        deleted.SOPInstanceUID: 0x0110,
        unknown[1]: 0x0112,
        wrong_class.SOPInstanceUID: 0x0119,
    }
    failed_classes = {i.ReferencedSOPInstanceUID: i.ReferencedSOPClassUID for i in info.FailedSOPSequence}
    assert failed_classes[wrong_class.SOPInstanceUID] == wrong[0]  # echoed as requested


def test_checksum_of_a_received_instance_matches_the_stored_file(running: RunningServer) -> None:
    stored = _instances(2)
    _store(running, stored)
    for ds in stored:
        path = _stored_path(running, ds.SOPInstanceUID)
        [(checksum, size)] = _rows(
            running, "SELECT checksum, size FROM instance WHERE sop_instance_uid = :uid", uid=ds.SOPInstanceUID
        )
        data = path.read_bytes()
        assert checksum == f"xxh3_64:{xxhash.xxh3_64_hexdigest(data)}"
        assert size == len(data)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    server = _start(tmp_path_factory.mktemp("commit"), module_index_url)
    yield server
    assert stop_server(server) == 0


_CT = "1.2.840.10008.5.1.4.1.1.2"


_ONE = [(_CT, "1.2.3")]


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
@pytest.mark.parametrize(
    ("transaction", "refs", "action_type", "instance", "expected"),
    [
        pytest.param(None, _ONE, 1, PUSH_MODEL_INSTANCE, 0x0120, id="no-transaction-uid"),
        pytest.param("", _ONE, 1, PUSH_MODEL_INSTANCE, 0x0121, id="empty-transaction-uid"),
        pytest.param("1.2.abc", _ONE, 1, PUSH_MODEL_INSTANCE, 0x0106, id="bad-transaction-uid"),
        pytest.param("1.2.3", None, 1, PUSH_MODEL_INSTANCE, 0x0120, id="no-sequence"),
        pytest.param("1.2.3", [], 1, PUSH_MODEL_INSTANCE, 0x0121, id="empty-sequence"),
        pytest.param("1.2.3", [(_CT, "")], 1, PUSH_MODEL_INSTANCE, 0x0121, id="empty-instance-uid"),
        pytest.param("1.2.3", _ONE, 2, PUSH_MODEL_INSTANCE, 0x0123, id="other-action-type"),
        pytest.param("1.2.3", _ONE, 1, "1.2.3.4", 0x0112, id="other-sop-instance"),
        pytest.param(
            "1.2.3", [(_CT, f"1.2.3.{n}") for n in range(10_001)], 1, PUSH_MODEL_INSTANCE, 0x0213, id="too-many-items"
        ),
    ],
)
def test_malformed_requests_are_refused(
    shared_server: RunningServer, transaction: str | None, refs: list[tuple[str, str]] | None, action_type: int,
    instance: str, expected: int,
) -> None:
    before = len(_jobs(shared_server))
    info = _request(transaction, refs)
    status, _ = _ask(shared_server, info, wait_report=False, action_type=action_type, instance=instance)
    assert status.Status == expected
    assert status.get("ErrorComment")  # says what was wrong
    assert len(_jobs(shared_server)) == before  # nothing owed


def test_item_without_instance_uid_is_refused(shared_server: RunningServer) -> None:
    info = _request("1.2.3", [(_CT, "1.2.3")])
    del info.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
    status, _ = _ask(shared_server, info, wait_report=False)
    assert status.Status == 0x0120


def test_unknown_requester_fails_the_job_for_good(tmp_path: Path, index_url: str) -> None:
    server = _start(tmp_path, index_url, commitment="same_association = false")
    try:
        stored = _instances(1)
        _store(server, stored)
        status, _ = _ask(server, _request(generate_uid(), _refs(stored)), wait_report=False)
        assert status.Status == 0x0000
        _wait_for(lambda: [j[1] for j in _jobs(server)] == ["failed"])
        with urllib.request.urlopen(f"{server.http_url}/api/jobs?kind=commitment-report", timeout=10) as rsp:
            [job] = json.loads(rsp.read())  # what the admin sees
        assert job["state"] == "failed"
        assert job["attempts"] == 1  # not retried
        assert SCU_AE in job["last_error"] and "[[server.destinations]]" in job["last_error"]
        assert job["payload"]["requester"] == SCU_AE
        assert job["payload"]["references"] == [list(r) for r in _refs(stored)]
    finally:
        assert stop_server(server) == 0


def test_report_pending_while_requester_is_down_is_delivered_after_a_restart(tmp_path: Path, index_url: str) -> None:
    port = _free_port()  # nobody listens here yet
    settings = dict(
        extra="job_retry_seconds = 0.5", commitment="same_association = false",
        destinations=_destination(SCU_AE, port),
    )
    server = _start(tmp_path, index_url, **settings)  # type: ignore[arg-type]
    stored = _instances(2)
    transaction = generate_uid()
    try:
        _store(server, stored)
        status, _ = _ask(server, _request(transaction, _refs(stored)), wait_report=False)
        assert status.Status == 0x0000
        _wait_for(lambda: any(j[2] >= 1 and j[3] for j in _jobs(server)))  # an attempt failed
        [(_kind, state, _attempts, error, _payload)] = _jobs(server)
        assert state == "queued" and SCU_AE in error
    finally:
        assert stop_server(server) == 0
    requester = Requester(port).start()
    server = _start(tmp_path, index_url, **settings)  # type: ignore[arg-type]  # same data directory
    try:
        report = requester.reports.wait()
        assert report["info"].TransactionUID == transaction
        assert report["event_type"] == 1
        assert sorted(_uids(report["info"], "ReferencedSOPSequence")) == sorted(_refs(stored))
        _wait_for(lambda: [j[1] for j in _jobs(server)] == ["done"])
    finally:
        requester.stop()
        assert stop_server(server) == 0
