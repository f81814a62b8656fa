"""MPPS test helpers: N-CREATE / N-SET data sets built per PS3.4 Table F.7.2-1, an SCU call
to a server's Q/R AE and a real pynetdicom MPPS SCP to relay into."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MPPS = "1.2.840.10008.3.1.2.3.3"


def n_create_attributes(
    *, study_uid: str | None = None, sps_id: str = "SPS1", accession: str = "ACC1", status: str = "IN PROGRESS"
) -> Dataset:
    """A complete N-CREATE Attribute List (every Type 1 and Type 2 attribute of Table F.7.2-1)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    step = Dataset()
    step.StudyInstanceUID = study_uid or generate_uid()
    step.ReferencedStudySequence = []
    step.AccessionNumber = accession
    step.RequestedProcedureID = "RP1"
    step.RequestedProcedureDescription = "CT head"
    step.ScheduledProcedureStepID = sps_id
    step.ScheduledProcedureStepDescription = "CT head plain"
    step.ScheduledProtocolCodeSequence = []
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName = "Müller^Jörg"
    ds.PatientID = "PID1"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "CT01"
    ds.PerformedStationName = "CT room 1"
    ds.PerformedLocation = "Radiology"
    ds.PerformedProcedureStepStartDate = "20261127"
    ds.PerformedProcedureStepStartTime = "080000"
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepDescription = "CT head"
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = "CT"
    ds.StudyID = "1"
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    return ds


def final_modification(status: str = "COMPLETED") -> Dataset:
    """An N-SET Modification List ending the step with one performed series (final-state attributes)."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20261127"
    ds.PerformedProcedureStepEndTime = "081500"
    series = Dataset()
    series.SeriesInstanceUID = generate_uid()
    series.ProtocolName = "Head routine"
    series.RetrieveAETitle = "DICOM_QR_SCP"
    series.PerformingPhysicianName = ""
    series.OperatorsName = "Tech^One"
    series.SeriesDescription = "Axial"
    image = Dataset()
    image.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image.ReferencedSOPInstanceUID = generate_uid()
    series.ReferencedImageSequence = [image]
    series.ReferencedNonImageCompositeSOPInstanceSequence = []
    ds.PerformedSeriesSequence = [series]
    return ds


def mpps_association(port: int, called: str = "DICOM_QR_SCP", calling: str = "MODALITY",
                     handlers: list[Any] | None = None) -> Any:
    """An association proposing the MPPS SOP class to ``127.0.0.1:port``."""
    from pynetdicom import AE

    ae = AE(calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    ae.add_requested_context(MPPS, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title=called, evt_handlers=handlers or [])
    assert assoc.is_established
    return assoc


def n_create(port: int, attributes: Dataset, uid: str | None) -> tuple[Dataset, str]:
    """One N-CREATE on its own association: (status data set, the response's Affected SOP
    Instance UID, read from the response command set)."""
    from pynetdicom import evt

    affected: list[str] = []

    def on_recv(event: Any) -> None:
        command = event.message.command_set
        if "AffectedSOPInstanceUID" in command:
            affected.append(str(command.AffectedSOPInstanceUID))

    assoc = mpps_association(port, handlers=[(evt.EVT_DIMSE_RECV, on_recv)])
    try:
        status, _ = assoc.send_n_create(attributes, MPPS, uid)
    finally:
        assoc.release()
    assert status is not None and "Status" in status
    return status, affected[-1] if affected else ""


def n_set(port: int, modification: Dataset, uid: str) -> Dataset:
    """One N-SET on its own association: the status data set."""
    assoc = mpps_association(port)
    try:
        status, _ = assoc.send_n_set(modification, MPPS, uid)
    finally:
        assoc.release()
    assert status is not None and "Status" in status
    return status


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class MppsReceiver:
    """A pynetdicom MPPS SCP on 127.0.0.1 recording each request it gets (operation, UID, data set)
    and keeping the steps by UID (0x0111 for a duplicate N-CREATE, 0x0112 for an unknown N-SET)."""

    ae_title: str = "MPPS_RECV"
    port: int = 0
    fail_first: int = 0  # answer this many requests 0x0110 processing failure first
    received: list[tuple[str, str, Dataset]] = field(default_factory=list)
    steps: dict[str, Dataset] = field(default_factory=dict)
    _server: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> MppsReceiver:
        from pynetdicom import AE, evt

        ae = AE(self.ae_title)
        ae.add_supported_context(MPPS, ExplicitVRLittleEndian)
        ae.add_supported_context(MPPS, "1.2.840.10008.1.2")
        handlers = [(evt.EVT_N_CREATE, self._create), (evt.EVT_N_SET, self._set)]
        self._server = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=handlers)
        self.port = int(self._server.server_address[1])
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _failing(self) -> bool:
        if self.fail_first > 0:
            self.fail_first -= 1
            return True
        return False

    def _create(self, event: Any) -> tuple[int, Dataset | None]:
        uid = str(event.request.AffectedSOPInstanceUID)
        ds = event.attribute_list
        with self._lock:
            self.received.append(("N-CREATE", uid, ds))
            if self._failing():
                return 0x0110, None
            if uid in self.steps:
                return 0x0111, None
            self.steps[uid] = ds
        return 0x0000, None

    def _set(self, event: Any) -> tuple[int, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        ds = event.modification_list
        with self._lock:
            self.received.append(("N-SET", uid, ds))
            if self._failing():
                return 0x0110, None
            if uid not in self.steps:
                return 0x0112, None
            if self.steps[uid].get("PerformedProcedureStepStatus") != "IN PROGRESS":
                return 0x0110, None  # may no longer be updated
            self.steps[uid].update(ds)
        return 0x0000, None
