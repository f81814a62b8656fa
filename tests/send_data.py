"""Test studies for the send and notification tests: CT images plus a presentation state.

Images are pydicom's ``CT_small.dcm`` with fresh UIDs (Explicit VR Little Endian); the
Grayscale Softcopy Presentation State draws one PIXEL-unit polyline on the first image.
"""

from __future__ import annotations

import copy
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt

from tests.conftest import require_tool

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"
#: The polyline of the presentation state (column, row pairs, PIXEL units).
LINE = [10.0, 10.0, 50.0, 10.0, 50.0, 40.0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_storescp(received: Path, ae_title: str = "STORESCP", options: tuple[str, ...] = ()) -> Iterator[int]:
    """DCMTK ``storescp -od received`` as ``ae_title`` on a free loopback port (yielded), terminated at the end.

    ``options`` go to storescp as given (e.g. ``("--sleep-after", "1")``: a slow receiver).
    """
    received.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [require_tool("storescp"), "-od", str(received), "-aet", ae_title, *options, str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Study:
    """One test study: its images by series, and one presentation state."""

    uid: str
    images: list[Dataset]
    state: Dataset

    @property
    def series(self) -> list[str]:
        return list(dict.fromkeys(str(ds.SeriesInstanceUID) for ds in self.images))

    @property
    def all(self) -> list[Dataset]:
        return [*self.images, self.state]


def make_study(series: int = 2, per_series: int = 3, patient: str = "SEND^TEST", patient_id: str = "PSEND") -> Study:
    base = dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]
    study_uid = generate_uid()
    images = []
    for s in range(series):
        series_uid = generate_uid()
        for n in range(per_series):
            ds = copy.deepcopy(base)
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.PatientName, ds.PatientID = patient, patient_id
            ds.PatientBirthDate, ds.PatientSex = "19700101", "F"
            ds.AccessionNumber, ds.StudyID = "ACC42", "S42"
            ds.StudyDate, ds.StudyTime = "20240102", "101500"
            ds.SeriesNumber, ds.InstanceNumber = s + 1, n + 1
            images.append(ds)
    return Study(study_uid, images, _state(images[0]))


def _state(image: Dataset) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = GSPS
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate",
                    "StudyTime", "AccessionNumber", "StudyID", "ReferringPhysicianName"):
        setattr(ds, keyword, image.get(keyword, ""))
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = "PR", generate_uid(), 99, 1
    ds.ContentLabel, ds.ContentDescription, ds.ContentCreatorName = "TEST", "", ""
    ds.PresentationCreationDate, ds.PresentationCreationTime = "20240102", "120000"
    ref_image = Dataset()
    ref_image.ReferencedSOPClassUID, ref_image.ReferencedSOPInstanceUID = image.SOPClassUID, image.SOPInstanceUID
    ref_series = Dataset()
    ref_series.SeriesInstanceUID = image.SeriesInstanceUID
    ref_series.ReferencedImageSequence = Sequence([ref_image])
    ds.ReferencedSeriesSequence = Sequence([ref_series])
    layer = Dataset()
    layer.GraphicLayer, layer.GraphicLayerOrder = "LAYER1", 1
    layer.GraphicLayerRecommendedDisplayGrayscaleValue = 0xFFFF
    ds.GraphicLayerSequence = Sequence([layer])
    graphic = Dataset()
    graphic.GraphicAnnotationUnits, graphic.GraphicDimensions = "PIXEL", 2
    graphic.NumberOfGraphicPoints, graphic.GraphicData = len(LINE) // 2, LINE
    graphic.GraphicType, graphic.GraphicFilled = "POLYLINE", "N"
    annotation = Dataset()
    annotation.GraphicLayer = "LAYER1"
    annotation.ReferencedImageSequence = Sequence([ref_image])
    annotation.GraphicObjectSequence = Sequence([graphic])
    ds.GraphicAnnotationSequence = Sequence([annotation])
    ds.PresentationLUTShape = "IDENTITY"
    return ds


def store(port: int, datasets: list[Dataset], called: str = "DICOM_STORAGE") -> None:
    """C-STORE ``datasets`` (Explicit VR Little Endian) into a Storage SCP."""
    ae = AE("SEND_TEST")
    for sop_class in dict.fromkeys(str(ds.SOPClassUID) for ds in datasets):
        ae.add_requested_context(sop_class, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    assert assoc.is_established
    try:
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()


class Recorder:
    """A pynetdicom Storage SCP recording proposals, syntaxes and concurrent associations."""

    def __init__(self, title: str, delay: float = 0.0, take_gsps: bool = True) -> None:
        self.port, self.delay = free_port(), delay
        self.proposed: list[tuple[str, list[str]]] = []
        self.received: list[Dataset] = []
        self.open = self.most_open = 0
        self._lock = threading.Lock()
        ae = AE(title)
        classes = [CT_IMAGE, GSPS] if take_gsps else [CT_IMAGE]
        for sop_class in classes:
            ae.add_supported_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        self.scp = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=[
            (evt.EVT_C_STORE, self._store), (evt.EVT_REQUESTED, self._requested),
            (evt.EVT_ESTABLISHED, self._up), (evt.EVT_RELEASED, self._down), (evt.EVT_ABORTED, self._down),
        ])

    def _store(self, event: Any) -> int:
        time.sleep(self.delay)
        ds = event.dataset
        ds.file_meta = event.file_meta
        self.received.append(ds)
        return 0x0000

    def _requested(self, event: Any) -> None:
        self.proposed += [
            (str(cx.abstract_syntax), [str(ts) for ts in cx.transfer_syntax])
            for cx in event.assoc.requestor.requested_contexts
        ]

    def _up(self, event: Any) -> None:
        with self._lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)

    def _down(self, event: Any) -> None:
        with self._lock:
            self.open -= 1
