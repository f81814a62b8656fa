"""Frames ready to display without decoding, and the decoding that makes them so (off the GUI thread).

Three ways a frame of an :class:`~app.services.image_stack.ImageStack` becomes displayable:

- **Native pixel data** (PS3.5 A.1, A.2, little endian) is read in place: :func:`native_frame`
  returns stored values (one sample, 8 or 16 bits allocated, masked to Bits Stored and
  sign-extended as PS3.5 8.1.1 says) or RGB (three samples of 8 bits, PS3.3 C.7.6.3.1.3) as
  views of Pixel Data, with no decoder involved.
- **One-frame compressed images** (PS3.5 A.4: JPEG, JPEG-LS, JPEG 2000, RLE) are decoded once,
  where they arrive (the viewer's loader thread), by :func:`decode_in_place`: the decoded values
  replace the compressed Pixel Data and the transfer syntax becomes Explicit VR Little Endian,
  as a decompressing application does (PS3.5 8.2). Only one copy stays in memory.
- **Frames of compressed multi-frame images** are decoded on demand on a worker and kept in a
  small :class:`FrameCache` (least recently used first out, bounded in frames and bytes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from app.core.errors import DicomInputError
from app.imaging.frames import decode_frame, is_grey, number_of_frames, photometric_interpretation

NATIVE_LITTLE_ENDIAN = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian})
GREY, RGB = "grey", "rgb"


def _int(ds: Dataset, keyword: str, default: int) -> int:
    value = ds.get(keyword, default)
    return default if value is None or value == "" else int(value)


def native_kind(ds: Dataset) -> str | None:
    """:data:`GREY` or :data:`RGB` when :func:`native_frame` reads ``ds`` in place, else None."""
    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if syntax not in NATIVE_LITTLE_ENDIAN or not isinstance(ds.get("PixelData"), bytes):
        return None
    try:
        samples, allocated = _int(ds, "SamplesPerPixel", 1), _int(ds, "BitsAllocated", 0)
        stored = _int(ds, "BitsStored", allocated)
        int(ds.Rows), int(ds.Columns)
    except (AttributeError, TypeError, ValueError):
        return None
    if samples == 1 and is_grey(ds) and allocated in (8, 16) and 0 < stored <= allocated:
        return GREY
    if samples == 3 and allocated == 8 and photometric_interpretation(ds) == "RGB":
        return RGB
    return None


def native_frame(ds: Dataset, frame: int, kind: str | None = None) -> np.ndarray | None:
    """Frame ``frame`` of native pixel data read in place, or None when :func:`native_kind` says no.

    ``kind``: what :func:`native_kind` said of ``ds`` already (saves asking again per frame).

    Grey: the stored values, (rows, columns), a view of Pixel Data when Bits Stored fills Bits
    Allocated, else masked or sign-extended (PS3.5 8.1.1). RGB: (rows, columns, 3) uint8, by
    pixel or by plane (Planar Configuration, PS3.3 C.7.6.3.1.3).
    """
    kind = kind or native_kind(ds)
    if kind is None:
        return None
    data: bytes = ds.PixelData
    rows, columns = int(ds.Rows), int(ds.Columns)
    count = rows * columns
    if kind == RGB:
        size = count * 3
        if len(data) < (frame + 1) * size:
            return None
        flat = np.frombuffer(data, dtype=np.uint8, count=size, offset=frame * size)
        if _int(ds, "PlanarConfiguration", 0) == 1:
            return np.ascontiguousarray(flat.reshape(3, rows, columns).transpose(1, 2, 0))
        return flat.reshape(rows, columns, 3)
    allocated = int(ds.BitsAllocated)
    stored = _int(ds, "BitsStored", allocated)
    signed = _int(ds, "PixelRepresentation", 0) == 1
    width = allocated // 8
    if len(data) < (frame + 1) * count * width:
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{width}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=frame * count * width).reshape(rows, columns)
    if stored < allocated:
        shift = allocated - stored
        arr = (arr << shift) >> shift if signed else arr & np.array((1 << stored) - 1, dtype=dtype)
    return arr


def decode_in_place(ds: Dataset) -> bool:
    """Decode a one-frame compressed image into native Pixel Data (Explicit VR Little Endian).

    Runs :func:`~app.imaging.frames.decode_frame` on the calling thread (call it on a worker).
    Grey and palette images keep their stored values (8 or 16 bits allocated); YBR colour
    becomes RGB (PS3.3 C.7.6.3.1.2), by pixel, 8 bits. Returns False and leaves ``ds`` as it was
    when there is nothing to do (native already, several frames, no pixels) or the frame cannot
    be decoded or kept natively (the viewer then decodes it on demand and shows the error).
    """
    if "PixelData" not in ds or number_of_frames(ds) != 1 or native_kind(ds) is not None:
        return False
    meta = getattr(ds, "file_meta", None)
    if meta is None or getattr(meta, "TransferSyntaxUID", None) in NATIVE_LITTLE_ENDIAN:
        return False  # native but not a kind read in place (e.g. 32 bits): the decoders handle it
    try:
        arr, photometric = decode_frame(ds, 0)
    except DicomInputError:
        return False
    grey_or_palette = arr.ndim == 2 and (is_grey(ds) or photometric == "PALETTE COLOR")
    if grey_or_palette:
        if arr.dtype.itemsize not in (1, 2):
            return False
    else:
        if photometric.startswith("YBR"):
            arr = convert_color_space(arr, photometric, "RGB")
        if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
            return False
    arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    data = arr.tobytes()
    ds.PixelData = data + b"\0" if len(data) % 2 else data
    ds["PixelData"].VR = "OW" if arr.dtype.itemsize == 2 else "OB"
    ds["PixelData"].is_undefined_length = False
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.BitsAllocated = arr.dtype.itemsize * 8
    if not grey_or_palette:
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.BitsStored, ds.HighBit = 8, 7
    for keyword in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths"):
        if keyword in ds:
            delattr(ds, keyword)
    return True


class FrameCache:
    """Decoded frames, least recently used out first; at most ``max_frames`` and ``max_bytes``.

    Thread-safe: workers put, the GUI thread gets.
    """

    def __init__(self, max_frames: int = 32, max_bytes: int = 192 * 1024 * 1024) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._frames: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._frames

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            found = self._frames.get(key)
            if found is not None:
                self._frames.move_to_end(key)
            return found

    def put(self, key: Hashable, frame: np.ndarray) -> None:
        with self._lock:
            old = self._frames.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._frames[key] = frame
            self._bytes += frame.nbytes
            while len(self._frames) > 1 and (len(self._frames) > self.max_frames or self._bytes > self.max_bytes):
                _, dropped = self._frames.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0
