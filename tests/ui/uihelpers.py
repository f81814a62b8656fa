"""Helpers of the UI tests: pydicom test files, a small synthetic CT series, and the real start of
the workstation from its command line."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from PySide6.QtCore import QTimer

from app.cli import main


def dicom_path(name: str) -> Path:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return Path(path)


def ct_series(count: int = 3) -> list[Dataset]:
    """``count`` distinct images of one CT series made from CT_small (instance i: rows rolled by 6*(i-1))."""
    series_uid = generate_uid()
    out = []
    for i in range(1, count + 1):
        ds = dcmread(dicom_path("CT_small.dcm"))
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i
        ds.ImagePositionPatient = [0.0, 0.0, float(i)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        arr = np.roll(ds.pixel_array, 6 * (i - 1), axis=0).astype(np.int16)  # distinct, still lifelike
        ds.PixelData = arr.tobytes()
        ds.WindowCenter, ds.WindowWidth = 40, 400
        out.append(ds)
    return out


def to_bytes(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def start_workstation(config: Path, step: Callable[[], bool], every_ms: int = 100) -> int:
    """Start the workstation as its command line does (``lightbox --config config``, offscreen) and,
    while it runs, call ``step`` every ``every_ms`` until it returns True; the command's exit code."""

    def tick() -> None:
        if not step():
            QTimer.singleShot(every_ms, tick)

    QTimer.singleShot(every_ms, tick)
    return main(["--config", str(config), "-platform", "offscreen"])
