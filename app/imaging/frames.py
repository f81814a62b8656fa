"""Frames of an image data set: decoded with pydicom's pixel handlers and pylibjpeg plugins.

Native and encapsulated transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE; PS3.5 A.4) are
decoded frame by frame, by the fastest installed plugin (:mod:`app.imaging.decoders`). Grey
frames stay as stored values for the grey pipeline; colour frames (PS3.3 C.7.6.3.1.2: RGB,
YBR_FULL, YBR_FULL_422, YBR_ICT/RCT, PALETTE COLOR) become RGB uint8
(``pydicom.pixels.convert_color_space`` / ``apply_color_lut``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, convert_color_space
from pydicom.uid import UID

from app.core.errors import DicomInputError
from app.imaging.decoders import decode
from app.imaging.pixel_attributes import with_pixel_defaults

GREY = ("MONOCHROME1", "MONOCHROME2")

DecodeListener = Callable[[Dataset, int], None]
"""Called with (data set, 0-based frame) on the thread that runs :func:`decode_frame`, before it decodes."""

_LISTENERS: list[DecodeListener] = []
_LISTENERS_LOCK = threading.Lock()


def add_decode_listener(listener: DecodeListener) -> Callable[[], None]:
    """Have ``listener`` called at every :func:`decode_frame` (instrumentation: which thread decodes what).

    Returns the function that removes it again. Listeners run on the decoding thread and must be quick.
    """
    with _LISTENERS_LOCK:
        _LISTENERS.append(listener)

    def remove() -> None:
        with _LISTENERS_LOCK:
            if listener in _LISTENERS:
                _LISTENERS.remove(listener)

    return remove


def photometric_interpretation(ds: Dataset) -> str:
    """Photometric Interpretation (0028,0004), upper case, stripped; MONOCHROME2 when absent.

    A missing value is read as MONOCHROME2 for one sample, RGB for three (reference defaults,
    see :mod:`app.imaging.pixel_attributes`).
    """
    value = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if not value:
        return "MONOCHROME2" if int(ds.get("SamplesPerPixel", 1) or 1) == 1 else "RGB"
    return "PALETTE COLOR" if value == "PALETTE_COLOR" else value


def is_grey(ds: Dataset) -> bool:
    """True for one-sample MONOCHROME1/2 images (the grey pipeline applies)."""
    return int(ds.get("SamplesPerPixel", 1) or 1) == 1 and photometric_interpretation(ds) in GREY


def number_of_frames(ds: Dataset) -> int:
    """Number of Frames (0028,0008), 1 when absent (PS3.3 C.7.6.6)."""
    try:
        return max(int(ds.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        return 1


def _transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    ts = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if ts is None:
        raise DicomInputError(
            "The data set has no Transfer Syntax UID in its file meta information; its pixels cannot "
            "be decoded (PS3.10 7.1)."
        )
    return UID(str(ts))


def decode_frame(ds: Dataset, index: int = 0, preference: Sequence[str] | None = None) -> tuple[np.ndarray, str]:
    """Decode frame ``index`` (0-based) of ``ds`` with the fastest available decoder plugin.

    Parameters
    ----------
    preference
        Decoder plugins to try first, in order (default: the measured
        :data:`app.imaging.decoders.PREFERENCE` of the transfer syntax); the other installed
        plugins are tried after them.

    Returns
    -------
    array, photometric
        The frame, (rows, columns) for one sample or (rows, columns, samples) for colour, and
        the photometric interpretation of the returned values (a YBR frame is converted to RGB
        by the decoder where it can be).
    """
    if "PixelData" not in ds:
        raise DicomInputError("The data set has no Pixel Data (7FE0,0010); it is not an image.")
    frames = number_of_frames(ds)
    if not 0 <= index < frames:
        raise DicomInputError(f"Frame {index + 1} does not exist: the image has {frames} frame(s).")
    for listener in tuple(_LISTENERS):
        listener(ds, index)
    ds = with_pixel_defaults(ds)
    try:
        decoded = decode(ds, _transfer_syntax(ds), index, preference)
    except DicomInputError:
        raise
    except Exception as exc:  # decoders raise many kinds (NotImplementedError, RuntimeError, ValueError)
        raise DicomInputError(
            f"Cannot decode frame {index + 1}: {exc}. The transfer syntax may need a decoder plugin "
            "that is not installed (python-gdcm, pylibjpeg-libjpeg, -openjpeg, -rle, pyjpegls)."
        ) from exc
    photometric = decoded.photometric or photometric_interpretation(ds)
    return decoded.array, photometric.strip().upper()


def _to_uint8(arr: np.ndarray, bits: int) -> np.ndarray:
    if arr.dtype == np.uint8 and bits <= 8:
        return arr
    if bits <= 8:
        return np.clip(arr, 0, 255).astype(np.uint8)
    shifted: np.ndarray = (arr.astype(np.uint32) >> (bits - 8)).astype(np.uint8)
    return shifted


def rgb_frame(ds: Dataset, index: int = 0) -> np.ndarray:
    """Frame ``index`` of a colour image as RGB uint8, shape (rows, columns, 3).

    PALETTE COLOR goes through the Palette Color LUTs (PS3.3 C.7.6.3.1.5-6); YBR_* through
    ``convert_color_space`` (PS3.3 C.7.6.3.1.2); more than 8 bits are scaled down.
    """
    ds = with_pixel_defaults(ds)
    arr, photometric = decode_frame(ds, index)
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        descriptor = ds.get("RedPaletteColorLookupTableDescriptor") or [0, 0, 8]
        return _to_uint8(rgb, int(descriptor[2]))
    if photometric in GREY:
        raise DicomInputError("rgb_frame was asked for a grey image; use the grey pipeline.")
    if photometric.startswith("YBR"):
        arr = convert_color_space(arr, photometric, "RGB")
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise DicomInputError(f"Colour frame has shape {arr.shape}; expected rows x columns x 3.")
    return _to_uint8(arr, int(ds.get("BitsStored", 8) or 8))
