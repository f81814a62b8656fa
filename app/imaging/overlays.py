"""Overlay planes (60xx groups) as boolean layers, never baked into the grey pixels.

PS3.3 C.9.2 (Overlay Plane Module) and C.9.3 (Multi-frame Overlay Module): each of the 16
even groups 6000..601E may hold one overlay, a bit plane of Overlay Rows x Overlay Columns
placed at Overlay Origin (1-based row\\column, may be negative or beyond the image), either in
Overlay Data (60xx,3000, packed bits, little-bit first) or, in older objects (retired since
2004, PS3.5 8.1.2), in an unused high bit of Pixel Data (Overlay Bits Allocated > 1 with
Overlay Bit Position). A multi-frame overlay has Number of Frames in Overlay (60xx,0015)
frames starting at Image Frame Origin (60xx,0051).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError

logger = logging.getLogger(__name__)

GROUPS: tuple[int, ...] = tuple(range(0x6000, 0x6020, 2))


@dataclass(frozen=True, eq=False)
class Overlay:
    """One overlay plane as read from a data set (PS3.3 C.9.2.1)."""

    group: int
    rows: int
    columns: int
    origin: tuple[int, int]  # (row, column), 1-based, of the overlay's top left pixel
    type: str  # "G" graphics or "R" region of interest
    frames: int
    image_frame_origin: int  # 1-based image frame of the first overlay frame
    description: str
    label: str
    bits: np.ndarray | None  # unpacked Overlay Data (bool, frames x rows x columns), or None
    bit_position: int  # for overlays in unused Pixel Data bits

    @property
    def in_pixel_data(self) -> bool:
        """True for a (retired) overlay stored in an unused bit of Pixel Data."""
        return self.bits is None

    def frame_index(self, image_frame: int) -> int | None:
        """The overlay frame (0-based) shown on image frame ``image_frame`` (0-based), or None."""
        k = image_frame - (self.image_frame_origin - 1)
        return k if 0 <= k < self.frames else None

    def plane(self, image_frame: int = 0, pixel_words: np.ndarray | None = None) -> np.ndarray | None:
        """The overlay's own bit plane (rows x columns, bool) for an image frame, or None.

        Parameters
        ----------
        image_frame
            0-based image frame.
        pixel_words
            The raw stored words of that frame (all bits, before masking to Bits Stored):
            needed only for overlays in Pixel Data (see :func:`raw_pixel_words`).
        """
        k = self.frame_index(image_frame)
        if k is None:
            return None
        if self.bits is not None:
            return self.bits[k]
        if pixel_words is None:
            return None
        if pixel_words.shape != (self.rows, self.columns):
            return None  # PS3.3 C.9.2.1.1: an embedded overlay has the size of the image
        return ((pixel_words.astype(np.uint32) >> self.bit_position) & 1).astype(bool)

    def mask(self, shape: tuple[int, int], image_frame: int = 0, pixel_words: np.ndarray | None = None) -> np.ndarray:
        """The overlay as a bool mask of the image (``shape`` = rows, columns), placed at its origin."""
        out = np.zeros(shape, dtype=bool)
        plane = self.plane(image_frame, pixel_words)
        if plane is None:
            return out
        r0, c0 = self.origin[0] - 1, self.origin[1] - 1
        top, left = max(r0, 0), max(c0, 0)
        bottom, right = min(r0 + self.rows, shape[0]), min(c0 + self.columns, shape[1])
        if bottom <= top or right <= left:
            return out
        out[top:bottom, left:right] = plane[top - r0 : bottom - r0, left - c0 : right - c0]
        return out


def _value(ds: Dataset, group: int, element: int, default: object = None) -> object:
    elem = ds.get((group, element))
    return default if elem is None or elem.value in (None, "") else elem.value


def _read(ds: Dataset, group: int) -> Overlay | None:
    rows = _value(ds, group, 0x0010)
    columns = _value(ds, group, 0x0011)
    if rows is None or columns is None:
        return None
    rows, columns = int(rows), int(columns)  # type: ignore[call-overload]
    origin_value = _value(ds, group, 0x0050, [1, 1])
    origin = [int(v) for v in origin_value] if isinstance(origin_value, Iterable) else [1, 1]
    if len(origin) != 2:
        origin = [1, 1]
    frames = max(int(_value(ds, group, 0x0015, 1) or 1), 1)  # type: ignore[call-overload]
    frame_origin = max(int(_value(ds, group, 0x0051, 1) or 1), 1)  # type: ignore[call-overload]
    data = _value(ds, group, 0x3000)
    bits: np.ndarray | None = None
    if isinstance(data, bytes | bytearray):
        count = rows * columns * frames
        flat = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        if flat.size < count:
            logger.warning("Overlay %04X has %d bits for %d expected; padded with zeros", group, flat.size, count)
            flat = np.concatenate([flat, np.zeros(count - flat.size, dtype=np.uint8)])
        bits = flat[:count].astype(bool).reshape(frames, rows, columns)
    elif int(_value(ds, group, 0x0100, 1) or 1) <= 1:  # type: ignore[call-overload]
        return None  # neither Overlay Data nor an embedded bit: nothing to show
    return Overlay(
        group=group,
        rows=rows,
        columns=columns,
        origin=(origin[0], origin[1]),
        type=str(_value(ds, group, 0x0040, "G")).strip().upper(),
        frames=frames,
        image_frame_origin=frame_origin,
        description=str(_value(ds, group, 0x0022, "")),
        label=str(_value(ds, group, 0x1500, "")),
        bits=bits,
        bit_position=int(_value(ds, group, 0x0102, 0) or 0),  # type: ignore[call-overload]
    )


def overlays_from(ds: Dataset) -> list[Overlay]:
    """Every overlay of ``ds``, by group (PS3.3 C.9.2)."""
    found = (_read(ds, group) for group in GROUPS)
    return [o for o in found if o is not None]


def raw_pixel_words(ds: Dataset, image_frame: int = 0) -> np.ndarray | None:
    """The stored words of a native (uncompressed) frame with all their bits, or None.

    Embedded overlays live in the bits above Bits Stored that decoders mask away; they
    exist only in native Pixel Data (PS3.5 8.1.2), so an encapsulated frame gives None.
    """
    pixel = ds.get("PixelData")
    meta = getattr(ds, "file_meta", None)
    ts = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if pixel is None or ts is None or ts.is_compressed or int(ds.get("BitsAllocated", 0) or 0) != 16:
        return None
    rows, columns = int(ds.Rows), int(ds.Columns)
    count = rows * columns
    data = ds.PixelData
    words = np.frombuffer(data, dtype="<u2" if ts.is_little_endian else ">u2")
    start = image_frame * count
    if words.size < start + count:
        return None
    return words[start : start + count].reshape(rows, columns)


@dataclass(frozen=True, eq=False)
class OverlayLayer:
    """One overlay drawn over a frame: its mask in image coordinates and what it is."""

    group: int
    mask: np.ndarray
    type: str
    label: str
    description: str


def overlay_layers(
    ds: Dataset, image_frame: int = 0, shown: Iterable[int] | None = None, overlays: list[Overlay] | None = None
) -> list[OverlayLayer]:
    """The overlay layers of an image frame, each a bool mask the size of the image.

    Parameters
    ----------
    ds
        The image (Rows, Columns; Pixel Data for embedded overlays).
    image_frame
        0-based frame of the image.
    shown
        Groups to show (0x6000, 0x6002, ...); None shows all (each can be toggled singly).
    overlays
        Overlays already read with :func:`overlays_from` (read again when None).
    """
    try:
        shape = (int(ds.Rows), int(ds.Columns))
    except AttributeError as exc:
        raise DicomInputError("The image lacks Rows or Columns; its overlays cannot be placed.") from exc
    wanted = None if shown is None else set(shown)
    words: np.ndarray | None = None
    out: list[OverlayLayer] = []
    for overlay in overlays if overlays is not None else overlays_from(ds):
        if wanted is not None and overlay.group not in wanted:
            continue
        if overlay.in_pixel_data and words is None:
            words = raw_pixel_words(ds, image_frame)
        mask = overlay.mask(shape, image_frame, words)
        out.append(OverlayLayer(overlay.group, mask, overlay.type, overlay.label, overlay.description))
    return out


def combined_mask(layers: Iterable[OverlayLayer], shape: tuple[int, int]) -> np.ndarray:
    """The union of overlay layers (all overlays shown in one colour)."""
    out = np.zeros(shape, dtype=bool)
    for layer in layers:
        out |= layer.mask
    return out
