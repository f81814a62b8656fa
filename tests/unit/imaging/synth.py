"""Synthesised grey and colour images for the imaging tests (SC Image IOD, PS3.3 A.8, or another
image storage SOP class given), and the presentation states that reference them (PS3.3 A.33.1)."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    GrayscaleSoftcopyPresentationStateStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from app.imaging.voi_lut import Window


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
    sop_class: str = SecondaryCaptureImageStorage,
    **attributes: object,
) -> Dataset:
    """A single- or multi-frame grey image of ``sop_class`` (SC unless given) holding ``stored``
    values (frames first when 3-D), little endian uncompressed; ``attributes`` set last."""
    bits_stored = bits_stored or bits_allocated
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.PatientName, ds.PatientID = "Synth^Image", "SYNTH"
    if sop_class == SecondaryCaptureImageStorage:
        ds.ConversionType = "WSD"  # SC Equipment Module (PS3.3 C.8.6.1)
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


def mask_item(operation: str, **attributes: object) -> Dataset:
    """A Mask Subtraction Sequence item (PS3.3 C.7.6.10): ``operation`` (AVG_SUB, TID, REV_TID) and ``attributes``."""
    item = Dataset()
    item.MaskOperation = operation
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def state_of(ds: Dataset, *masks: Dataset, window: Window | None = None) -> Dataset:
    """A Grayscale Softcopy Presentation State (PS3.3 A.33.1) of the image ``ds``: IDENTITY
    presentation LUT; with ``masks``, a Presentation State Mask (C.11.13, Recommended Viewing Mode
    SUB); with ``window``, a Softcopy VOI LUT (C.11.8)."""
    ps = Dataset()
    ps.SOPClassUID = GrayscaleSoftcopyPresentationStateStorage
    ps.SOPInstanceUID = generate_uid()
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    series = Dataset()
    series.SeriesInstanceUID = ds.SeriesInstanceUID
    series.ReferencedImageSequence = [ref]
    ps.ReferencedSeriesSequence = [series]
    ps.PresentationLUTShape = "IDENTITY"
    if masks:
        ps.MaskSubtractionSequence = list(masks)
        ps.RecommendedViewingMode = "SUB"
    if window is not None:
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = window.center, window.width
        ps.SoftcopyVOILUTSequence = [voi]
    return ps
