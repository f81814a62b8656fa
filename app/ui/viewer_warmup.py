"""The one-time costs of a process's first image, paid at start-up instead of at the first double-click.

Profiling the open path (double-click, WADO-RS, parse, render, paint) in a fresh process showed
about 100 ms (more under load) that only the first image of the process pays and a second one
does not: lazy imports of pydicom and of the pipeline, ``time.strptime``'s first call (corner
text dates), the first grey table, Qt's font cache for the text layer. :func:`warm_up_viewer`
opens a small synthetic image in a hidden viewport the way a double-click opens a series
(parsed from Part 10 bytes, loaded on a pool thread, rendered with its corner text, painted
into an off-screen image); the application calls it once its information window is up,
while the user looks at the study list.
"""

from __future__ import annotations

import logging
import time
from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QImage

from app.services.series_source import DatasetSource, parse_part
from app.ui.viewport import Viewport

log = logging.getLogger(__name__)

_DONE: list[float] = []
SIZE = 64


def _sample() -> bytes:
    """A small CT image as Part 10 bytes, with what the corner text and the pipeline read."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = generate_uid(), generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Warm^Up", "WARMUP", "19700101", "O"
    ds.StudyDate, ds.StudyTime, ds.SeriesDate, ds.SeriesTime = "20260101", "120000", "20260101", "120000"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.SliceThickness = "CT", 1, 1, 1.0
    ds.ImageOrientationPatient, ds.ImagePositionPatient = [1, 0, 0, 0, 1, 0], [0, 0, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth = 0, 1, 40, 400
    ds.PixelData = np.arange(SIZE * SIZE, dtype=np.int16).tobytes()
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def warm_up_viewer(pool: QThreadPool | None = None) -> Viewport | None:
    """Open a small synthetic image in a hidden viewport once per process, as a double-click would.

    Runs on ``pool`` (default: the global pool, the viewers' own) and the GUI thread without
    blocking: the viewport loads it on a pool thread, shows it, paints it into an off-screen
    image and is deleted. Returns that viewport (its ``warmed`` attribute is set when it is
    done), or None after the first call.
    """
    if _DONE:
        return None
    _DONE.append(time.perf_counter())
    viewport = Viewport(pool or QThreadPool.globalInstance())
    viewport.warmed = False  # type: ignore[attr-defined]
    viewport.resize(320, 320)

    def painted() -> None:
        try:
            image = QImage(viewport.size(), QImage.Format.Format_RGB32)
            viewport.render(image)  # image, text layer and scale bar: Qt's font cache
        finally:
            viewport.warmed = True  # type: ignore[attr-defined]
            viewport.deleteLater()

    def failed(message: str) -> None:
        log.warning("viewer warm-up failed: %s", message)
        viewport.warmed = True  # type: ignore[attr-defined]
        viewport.deleteLater()

    viewport.loaded.connect(painted)
    viewport.load_failed.connect(failed)
    try:
        viewport.open_source(DatasetSource((parse_part(_sample(), "warm-up"),), "warm-up"))
    except Exception as exc:  # a warm-up must never stop the application
        failed(str(exc))
    return viewport
