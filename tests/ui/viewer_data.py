"""Synthetic series for the viewer's tests, screenshots and benchmark: a CT phantom stack.

Each slice is a 512 x 512 (or ``size``) signed 16-bit CT image in Hounsfield units: an
elliptic body (soft tissue 40 HU) with two lungs (-800 HU) and a spine (700 HU) whose size
changes along the stack, so slices differ. Positions follow Image Position (Patient) along
z (PS3.3 C.7.6.2), one Frame of Reference per series unless given. An optional overlay plane
(group 6000, a rectangle outline, PS3.3 C.9.2) and rectangular shutter (C.7.6.11).
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def phantom(size: int, z: float) -> np.ndarray:
    """A CT-like slice in HU (int16) at table position ``z`` (mm)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    grow = 1.0 + 0.25 * np.sin(z / 40.0)
    out = np.full((size, size), -1000, dtype=np.int16)
    out[(xx / 0.42) ** 2 + (yy / 0.32) ** 2 <= 1] = 40
    for side in (-1, 1):
        out[((xx - side * 0.17) / (0.11 * grow)) ** 2 + ((yy + 0.02) / (0.18 * grow)) ** 2 <= 1] = -800
    out[(xx / (0.05 * grow)) ** 2 + ((yy - 0.2) / 0.05) ** 2 <= 1] = 700
    return out


def overlay_mask(size: int) -> np.ndarray:
    """A rectangle outline (3 px wide) inset by a tenth of the image."""
    mask = np.zeros((size, size), dtype=bool)
    a, b = size // 10, size - size // 10
    mask[a : a + 3, a:b] = mask[b - 3 : b, a:b] = True
    mask[a:b, a : a + 3] = mask[a:b, b - 3 : b] = True
    return mask


def add_overlay(ds: Dataset, mask: np.ndarray, group: int = 0x6000) -> None:
    """Give ``ds`` the graphics overlay plane ``group`` (PS3.3 C.9.2; an even group 6000-601E)
    holding ``mask`` (rows x columns of the image, origin 1\\1), its bits packed in Overlay Data."""
    rows, columns = mask.shape
    tag = group << 16
    ds.add_new(tag | 0x0010, "US", rows)
    ds.add_new(tag | 0x0011, "US", columns)
    ds.add_new(tag | 0x0040, "CS", "G")
    ds.add_new(tag | 0x0050, "SS", [1, 1])
    ds.add_new(tag | 0x0100, "US", 1)
    ds.add_new(tag | 0x0102, "US", 0)
    ds.add_new(tag | 0x3000, "OW", np.packbits(mask.ravel(), bitorder="little").tobytes())


def ct_stack(
    count: int,
    size: int = 512,
    *,
    spacing: float = 2.0,
    overlay: bool = True,
    shutter: bool = False,
    frame_of_reference: str | None = None,
    study_uid: str | None = None,
    description: str = "Phantom",
    series_number: int = 1,
    start: float = 0.0,
) -> list[Dataset]:
    """``count`` CT slices of one series (Instance Number 1..count, z = start + i * spacing)."""
    series_uid, study_uid = generate_uid(), study_uid or generate_uid()
    frame_of_reference = frame_of_reference or generate_uid()
    mask = overlay_mask(size) if overlay else None
    out = []
    for i in range(count):
        z = start + i * spacing
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_of_reference
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Phantom^Viewer", "VIEW1", "19700101", "O"
        ds.StudyDate, ds.StudyTime, ds.StudyDescription = "20260101", "120000", "Viewer phantom"
        ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = description, series_number, i + 1
        ds.Modality, ds.KVP, ds.XRayTubeCurrent, ds.SliceThickness = "CT", 120, 200, spacing
        ds.ConvolutionKernel, ds.PatientPosition = "STANDARD", "HFS"
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-size * 0.35, -size * 0.35, z]
        ds.SliceLocation = z
        ds.PixelSpacing = [0.7, 0.7]
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.PixelData = phantom(size, z).tobytes()
        if mask is not None:
            add_overlay(ds, mask)
        if shutter:
            ds.ShutterShape = "RECTANGULAR"
            ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = size // 4, size - size // 4
            ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = size // 4, size - size // 4
        out.append(ds)
    return out


def part10(ds: Dataset) -> bytes:
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
