"""A calibrated synthetic CT-like image for the measurement tests (known spacing, known values).

Stored value at (row r, column c) is ``1000 + c + 3 r``; the modality transform is
``2 x stored - 1024`` (HU); Pixel Spacing is 0.5 mm between rows and 0.25 mm between
columns (non-square, so a measurement done in pixel space instead of physical space fails).
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.unit.imaging.synth import image

ROWS, COLUMNS = 64, 96
ROW_MM, COLUMN_MM = 0.5, 0.25
SLOPE, INTERCEPT = 2.0, -1024.0


def stored_values(rows: int = ROWS, columns: int = COLUMNS) -> np.ndarray:
    r, c = np.mgrid[0:rows, 0:columns]
    return (1000 + c + 3 * r).astype(np.int64)


def hounsfield(stored: np.ndarray) -> np.ndarray:
    return stored.astype(np.float64) * SLOPE + INTERCEPT


def calibrated_image(calibrated: bool = True, study_uid: str | None = None, series_uid: str | None = None,
                     instance: int = 1, stored: np.ndarray | None = None) -> Dataset:
    """The test image; ``calibrated=False`` leaves Pixel Spacing out (measurements in pixels)."""
    values = stored_values() if stored is None else stored
    attributes: dict[str, object] = {
        "Modality": "CT",
        "RescaleSlope": SLOPE,
        "RescaleIntercept": INTERCEPT,
        "RescaleType": "HU",
        "WindowCenter": 1100,
        "WindowWidth": 400,
        "InstanceNumber": instance,
        "StudyDate": "20260101",
        "StudyTime": "101010",
        "AccessionNumber": "ACC1",
        "StudyID": "1",
        "PatientBirthDate": "19700101",
        "PatientSex": "O",
        "ReferringPhysicianName": "",
        "SeriesNumber": 1,
    }
    if calibrated:
        attributes["PixelSpacing"] = [ROW_MM, COLUMN_MM]
    ds = image(values, **attributes)
    ds.StudyInstanceUID = study_uid or ds.StudyInstanceUID
    ds.SeriesInstanceUID = series_uid or ds.SeriesInstanceUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    return ds
