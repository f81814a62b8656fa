"""Synthesised grey and colour images for the imaging tests (SC Image IOD, PS3.3 A.8)."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def ramp(rows: int, columns: int, lo: int, hi: int, seed: int = 0) -> np.ndarray:
    """A diagonal ramp over ``[lo, hi]`` with some noise, int64."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns]
    base = lo + (hi - lo) * (x + y) / max(rows + columns - 2, 1)
    noise = rng.integers(-3, 4, size=(rows, columns))
    out = np.clip(np.rint(base).astype(np.int64) + noise, lo, hi)
    out[0, 0], out[-1, -1] = lo, hi
    return out


def image(
    stored: np.ndarray,
    *,
    bits_allocated: int = 16,
    bits_stored: int | None = None,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    **attributes: object,
) -> Dataset:
    """A single- or multi-frame grey SC image holding ``stored`` values (frames first when 3-D)."""
    bits_stored = bits_stored or bits_allocated
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.PatientName, ds.PatientID = "Synth^Image", "SYNTH"
    ds.ConversionType = "WSD"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = stored.shape[-2:]
    if stored.ndim == 3:
        ds.NumberOfFrames = stored.shape[0]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    dtype = {8: np.int8 if signed else np.uint8, 16: np.int16 if signed else np.uint16}[bits_allocated]
    raw = stored.astype(np.int64)
    if signed and bits_stored < bits_allocated:  # two's complement in bits_stored, sign-extended
        raw = raw.astype(dtype)
    ds.PixelData = raw.astype(dtype).tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def lut_item(first: int, bits: int, data: np.ndarray, explanation: str = "") -> Dataset:
    """A Modality/VOI LUT Sequence item (PS3.3 C.11.1.1.1), LUT Data as US values."""
    item = Dataset()
    item.add_new(0x00283002, "US" if first >= 0 else "SS", [len(data) % 65536, first, bits])
    item.add_new(0x00283006, "US", [int(v) for v in data])
    if explanation:
        item.LUTExplanation = explanation
    return item
