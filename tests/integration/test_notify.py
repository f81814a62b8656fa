"""Study content notifications received by a pynetdicom RIS (the reference's 4.6, 10.3.1;
PS3.4 Annex R): on approval, on deletion, when a study becomes stable; standard and extended
Basic Study Descriptor; Instance Availability Notification to a receiver that prefers it;
corrected values in a sent study (storescp)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.service_class import StorageServiceClass
from pynetdicom.sop_class import register_uid

from app.server.notify_datasets import BSCN_SOP_CLASS, IAN_SOP_CLASS
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.integration.test_send import StoreScp, destinations_toml, finished, send
from tests.mpps_peers import wait_for
from tests.send_data import free_port, make_study, store

pytestmark = pytest.mark.peer

# pynetdicom knows the retired SOP class by UID only: serve its C-STORE like a storage one.
register_uid(BSCN_SOP_CLASS, "BasicStudyContentNotification", StorageServiceClass)


class Ris:
    """A pynetdicom SCP taking Basic Study Content Notifications (C-STORE) and Instance
    Availability Notifications (N-CREATE), each under its own AE title and port."""

    def __init__(self, scn_port: int = 0, ian_port: int = 0) -> None:
        self.scn_port, self.ian_port = scn_port or free_port(), ian_port or free_port()
        self.descriptors: list[Dataset] = []
        self.availability: list[Dataset] = []
        self._lock = threading.Lock()
        scn = AE("SCN_SCP")
        scn.add_supported_context(BSCN_SOP_CLASS, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        ian = AE("IAN_RX")
        ian.add_supported_context(IAN_SOP_CLASS, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        self.servers = [
            scn.start_server(("127.0.0.1", self.scn_port), block=False, evt_handlers=[(evt.EVT_C_STORE, self._scn)]),
            ian.start_server(("127.0.0.1", self.ian_port), block=False, evt_handlers=[(evt.EVT_N_CREATE, self._ian)]),
        ]

    def _scn(self, event: Any) -> int:
        with self._lock:
            self.descriptors.append(event.dataset)
        return 0x0000

    def _ian(self, event: Any) -> tuple[int, Dataset | None]:
        ds = event.attribute_list
        ds.SOPInstanceUID = event.request.AffectedSOPInstanceUID
        with self._lock:
            self.availability.append(ds)
        return 0x0000, None

    def shutdown(self) -> None:
        for server in self.servers:
            server.shutdown()


@pytest.fixture
def ris() -> Iterator[Ris]:
    receiver = Ris()
    yield receiver
    receiver.shutdown()


def _server(
    tmp_path: Path, index_url: str, ris: Ris, notify: str, peers: dict[str, int] | None = None
) -> RunningServer:
    data_dir = tmp_path / "data"
    extra = (f'job_retry_seconds = 0.2\n[server.notify]\nhost = "127.0.0.1"\nport = {ris.scn_port}\n'
             f'ian_receivers = ["IAN_RX"]\n{notify}')
    qr = destinations_toml({"IAN_RX": ris.ian_port, **(peers or {})})
    config = write_server_config(tmp_path / "server.toml", data_dir, extra_server=extra, qr=qr, index_url=index_url)
    return start_server(config, data_dir)


def _approve(server: RunningServer, study_uid: str) -> None:
    response = httpx.post(f"{server.http_url}/api/studies/{study_uid}/approve", json={"by": "dr.test"}, timeout=10)
    assert response.status_code == 200, response.text


def _references(ds: Dataset, item_sequence: str) -> set[str]:
    return {str(r.ReferencedSOPInstanceUID) for s in ds.ReferencedSeriesSequence for r in s[item_sequence].value}


def test_approval_sends_the_standard_descriptor_and_an_ian(tmp_path: Path, ris: Ris, index_url: str) -> None:
    server = _server(tmp_path, index_url, ris, "")
    try:
        study = make_study()
        store(server.storage_port, study.all)
        _approve(server, study.uid)
        wait_for(lambda: len(ris.descriptors) == 1 and len(ris.availability) == 1, 30, "the notifications")
        ds = ris.descriptors[0]
        assert ds.SOPClassUID == BSCN_SOP_CLASS
        assert (str(ds.PatientName), ds.PatientID, ds.StudyID, ds.StudyInstanceUID) == (
            "SEND^TEST", "PSEND", "S42", study.uid)
        assert len(ds.ReferencedSeriesSequence) == 3  # two image series and the presentation state's
        assert _references(ds, "ReferencedImageSequence") == {str(d.SOPInstanceUID) for d in study.all}
        assert {s.RetrieveAETitle for s in ds.ReferencedSeriesSequence} == {server.qr_ae_title}
        for keyword in ("StudyDate", "StudyTime", "AccessionNumber", "PatientBirthDate", "PatientSex",
                        "StudyComments"):
            assert keyword not in ds  # the standard form has no type 3 attribute
        ian = ris.availability[0]
        assert ian.StudyInstanceUID == study.uid
        assert _references(ian, "ReferencedSOPSequence") == {str(d.SOPInstanceUID) for d in study.all}
        assert {r.InstanceAvailability for s in ian.ReferencedSeriesSequence for r in s.ReferencedSOPSequence} == {
            "ONLINE"}
        jobs = httpx.get(f"{server.http_url}/api/jobs", params={"kind": "study-notify"}, timeout=10).json()
        wait_for(lambda: all(j["state"] == "done" for j in httpx.get(
            f"{server.http_url}/api/jobs", params={"kind": "study-notify"}, timeout=10).json()), 10, "jobs done")
        assert len(jobs) == 2
    finally:
        assert stop_server(server) == 0


def test_extended_descriptor_on_approval_and_on_deletion(tmp_path: Path, ris: Ris, index_url: str) -> None:
    server = _server(tmp_path, index_url, ris, "extended = true\non_delete = true\n")
    try:
        study = make_study(series=1, per_series=2)
        store(server.storage_port, study.all)
        _approve(server, study.uid)
        wait_for(lambda: len(ris.descriptors) == 1, 30, "the approval notification")
        added = ris.descriptors[0]
        assert (added.StudyDate, added.StudyTime, added.AccessionNumber) == ("20240102", "101500", "ACC42")
        assert (added.PatientBirthDate, added.PatientSex, added.StudyComments) == ("19700101", "F", "ADD")
        response = httpx.delete(f"{server.http_url}/api/studies/{study.uid}", timeout=10)
        assert response.status_code == 200, response.text
        wait_for(lambda: len(ris.descriptors) == 2 and len(ris.availability) == 2, 30, "the deletion notices")
        deleted = ris.descriptors[1]
        assert deleted.StudyComments == "DELETE" and deleted.AccessionNumber == "ACC42"
        assert _references(deleted, "ReferencedImageSequence") == {str(d.SOPInstanceUID) for d in study.all}
        gone = ris.availability[1]
        assert {r.InstanceAvailability for s in gone.ReferencedSeriesSequence for r in s.ReferencedSOPSequence} == {
            "UNAVAILABLE"}
    finally:
        assert stop_server(server) == 0


def test_a_study_is_notified_once_it_is_stable(tmp_path: Path, ris: Ris, index_url: str) -> None:
    server = _server(tmp_path, index_url, ris, "on_approve = false\nstable_seconds = 2\n")
    try:
        study = make_study(series=1, per_series=2)
        store(server.storage_port, study.images[:1])
        store(server.storage_port, study.images[1:])
        wait_for(lambda: len(ris.descriptors) == 1, 30, "the stable notice")
        assert _references(ris.descriptors[0], "ReferencedImageSequence") == {
            str(d.SOPInstanceUID) for d in study.images}
        _approve(server, study.uid)  # on_approve = false: no notice
        store(server.storage_port, [study.state])
        wait_for(lambda: len(ris.descriptors) == 2, 30, "the notice after the new instance")
        assert len(_references(ris.descriptors[1], "ReferencedImageSequence")) == 3
        assert len(ris.descriptors) == 2
    finally:
        assert stop_server(server) == 0


def test_a_sent_study_carries_the_corrected_values(tmp_path: Path, ris: Ris, index_url: str) -> None:
    received = StoreScp(tmp_path / "received", "STORESCP")
    server = _server(tmp_path, index_url, ris, "on_approve = false\n", {"STORESCP": received.port})
    try:
        study = make_study(series=1, per_series=2)
        store(server.storage_port, study.all)
        changes = {"PatientName": "CORRECTED^NAME", "AccessionNumber": "ACC99"}
        response = httpx.patch(f"{server.http_url}/api/studies/{study.uid}", json=changes, timeout=10)
        assert response.status_code == 200, response.text
        assert finished(server, send(server, study.uid, "STORESCP"))["state"] == "done"
        files = received.files()
        assert len(files) == len(study.all)
        assert {str(f.PatientName) for f in files} == {"CORRECTED^NAME"}
        assert {f.AccessionNumber for f in files} == {"ACC99"}
        assert {f.PatientID for f in files} == {"PSEND"}  # not corrected: as stored
    finally:
        assert stop_server(server) == 0
        received.stop()


def test_a_notification_waits_for_the_ris_and_survives_a_restart(tmp_path: Path, index_url: str) -> None:
    ports = free_port(), free_port()
    data_dir = tmp_path / "data"
    extra = (f'job_retry_seconds = 0.3\n[server.notify]\nhost = "127.0.0.1"\nport = {ports[0]}\n'
             'ian_receivers = ["IAN_RX"]\n')
    config = write_server_config(tmp_path / "server.toml", data_dir, extra_server=extra,
                                 qr=destinations_toml({"IAN_RX": ports[1]}), index_url=index_url)
    server = start_server(config, data_dir)
    study = make_study(series=1, per_series=1)
    try:
        store(server.storage_port, study.all)
        _approve(server, study.uid)

        def tried() -> bool:
            jobs = httpx.get(f"{server.http_url}/api/jobs", params={"kind": "study-notify"}, timeout=10).json()
            return len(jobs) == 2 and all(j["attempts"] >= 1 and "did not accept" in j["last_error"] for j in jobs)

        wait_for(tried, 30, "failed attempts while the RIS is down")
        assert stop_server(server) == 0
        ris = Ris(*ports)
        try:
            server = start_server(config, data_dir)
            wait_for(lambda: len(ris.descriptors) == 1 and len(ris.availability) == 1, 60, "delivery after restart")
            assert ris.descriptors[0].StudyInstanceUID == study.uid
        finally:
            ris.shutdown()
    finally:
        if server.process.poll() is None:
            assert stop_server(server) == 0
