"""Mask subtraction of multi-frame images: AVG_SUB, TID and REV_TID (PS3.3 C.7.6.10, C.11.13).

The Mask Subtraction Sequence (0028,6100) of the image (Mask Module, C.7.6.10) or of a
presentation state (Presentation State Mask Module, C.11.13, which then replaces the image's)
says which frames are subtracted from which. Each item applies to the frames of its Applicable
Frame Range (0028,6102), pairs of first/last frame numbers:

- ``AVG_SUB``: the mean of the Mask Frame Numbers (0028,6110) is subtracted. Without a range
  the item applies to frames 1 .. frames - Contrast Frame Averaging + 1.
- ``TID``: the mask of frame *f* is frame *f* - TID Offset (0028,6120). Without a range, to
  every frame whose mask frame exists.
- ``REV_TID``: the mask of the *k*-th frame (0-based) of its range is frame *f* - (TID Offset +
  2 *k*); the range must be given.

Contrast Frame Averaging (0028,6112) frames, starting with the current one, are averaged
before the subtraction; the mask is moved by Mask Sub-pixel Shift (0028,6114), read as
(row, column) in pixels, positive = down / right, and sampled by bilinear interpolation
(edge pixels repeated outside the frame). An enhanced image may give the shift per frame in the
Frame Pixel Shift functional group (C.7.6.16.2.14: Frame Pixel Shift Sequence (0028,9415),
whose items name their mask item by Subtraction Item ID (0028,9416)); that shift wins over the
item's own.

The subtraction happens on stored values, before the Modality LUT (C.7.6.10.1; PS3.4 N.2.1).
Means are kept exact and the difference rounded once. Contrast and mask lie in the range of
Bits Stored *b* (signed or not), so their difference lies in the signed range of *b* + 1 bits:
:class:`SubtractedFrame` carries that range, and :meth:`SubtractedFrame.pipeline` gives the grey
pipeline that indexes it (same modality and presentation stages; the image's own windows,
which describe native frames, are dropped, so the default window comes from the subtracted
values).

Recommended Viewing Mode (0028,1090) ``SUB`` asks for the subtracted view; ``NAT`` (or its
absence in an image) for the native one.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging.frames import decode_frame, number_of_frames
from app.imaging.functional_groups import frame_groups
from app.imaging.pipeline import GreyPipeline
from app.imaging.pixel_attributes import with_pixel_defaults

OPERATIONS = ("AVG_SUB", "TID", "REV_TID")
_MASK_CACHE_SIZE = 4

FramePixels = Callable[[int], np.ndarray]
"""Stored values of a frame (0-based) of the image: :func:`~app.imaging.frames.decode_frame` by default;
the viewer passes its frames decoded on workers (see :func:`subtraction_frames`)."""


@dataclass(frozen=True, eq=False)
class SubtractedFrame:
    """A subtracted frame in the signed range one bit wider than the image's stored values.

    Attributes
    ----------
    values
        Contrast minus mask, rounded, int32, (rows, columns).
    bits_stored
        Bits Stored of the image + 1; the values are signed.
    operation
        AVG_SUB, TID or REV_TID.
    contrast_frames, mask_frames
        The 1-based frame numbers averaged on each side.
    """

    values: np.ndarray
    bits_stored: int
    operation: str
    contrast_frames: tuple[int, ...]
    mask_frames: tuple[int, ...]

    def pipeline(self, native: GreyPipeline) -> GreyPipeline:
        """The grey pipeline of the subtracted values: ``native``'s modality and presentation stages."""
        return GreyPipeline(self.bits_stored, True, native.modality, native.shape)


def _numbers(value: object) -> list[int]:
    if value in (None, ""):
        return []
    if isinstance(value, int | float | str):
        return [int(value)]
    return [int(v) for v in value]  # type: ignore[attr-defined]


def mask_items(image: Dataset, state: Dataset | None = None, viewing_mode: str | None = None) -> list[Dataset]:
    """The Mask Subtraction Sequence items to apply, or none for the native view.

    Parameters
    ----------
    state
        A presentation state: its Presentation State Mask (C.11.13) replaces the image's
        Mask Module; a state without one shows native frames.
    viewing_mode
        ``"SUB"`` or ``"NAT"`` to override the Recommended Viewing Mode (0028,1090) of the
        state (default SUB when it has a mask) or of the image (default NAT).
    """
    source = state if state is not None else image
    items = list(source.get("MaskSubtractionSequence") or [])
    recommended = str(source.get("RecommendedViewingMode", "") or "").strip().upper()
    if not recommended:
        recommended = "SUB" if state is not None and items else "NAT"
    mode = (viewing_mode or recommended).strip().upper()
    return items if mode == "SUB" else []


def _mask_and_contrast(item: Dataset, number: int, frames: int) -> tuple[list[int], list[int]] | None:
    """Mask and contrast frame numbers of frame ``number`` (1-based) under ``item``; None when outside it."""
    operation = str(item.get("MaskOperation", "") or "").strip().upper()
    if operation not in OPERATIONS:
        raise DicomInputError(
            f"Mask Operation {operation!r} is not one of {', '.join(OPERATIONS)} (PS3.3 C.7.6.10.1); "
            "show the image in native view."
        )
    averaging = max(int(item.get("ContrastFrameAveraging", 1) or 1), 1)
    bounds = _numbers(item.get("ApplicableFrameRange"))
    offset = int(item.get("TIDOffset", 0) or 0)
    if len(bounds) % 2:
        raise DicomInputError("Applicable Frame Range (0028,6102) must hold pairs of frame numbers (PS3.3 C.7.6.10).")
    ranges = list(zip(bounds[0::2], bounds[1::2], strict=True))
    if not ranges:
        if operation == "REV_TID":
            raise DicomInputError("REV_TID needs an Applicable Frame Range (0028,6102) (PS3.3 C.7.6.10.1.1).")
        if operation == "AVG_SUB":
            ranges = [(1, frames - averaging + 1)]
        else:
            ranges = [(max(1, 1 + offset), min(frames, frames + offset))]
    for first, last in ranges:
        if not first <= number <= last:
            continue
        if operation == "AVG_SUB":
            masks = _numbers(item.get("MaskFrameNumbers"))
            if not masks:
                raise DicomInputError("AVG_SUB needs Mask Frame Numbers (0028,6110) (PS3.3 C.7.6.10).")
        elif operation == "TID":
            masks = [number - offset]
        else:
            masks = [number - (offset + 2 * (number - first))]
        contrast = list(range(number, min(number + averaging, frames + 1)))
        return masks, contrast
    return None


def shifted(frame: np.ndarray, shift: Sequence[float]) -> np.ndarray:
    """``frame`` moved by (row, column) pixels, bilinear, edges repeated: ``out[r, c] = frame(r - dr, c - dc)``."""
    dr, dc = float(shift[0]), float(shift[1])
    if dr == 0 and dc == 0:
        return frame.astype(np.float64)
    rows, columns = frame.shape

    def taps(n: int, d: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        source = np.arange(n) - d
        low = np.floor(source)
        weight = source - low
        return np.clip(low, 0, n - 1).astype(np.intp), np.clip(low + 1, 0, n - 1).astype(np.intp), weight

    r0, r1, wr = taps(rows, dr)
    c0, c1, wc = taps(columns, dc)
    arr = frame.astype(np.float64)
    top = arr[r0][:, c0] * (1 - wc) + arr[r0][:, c1] * wc
    bottom = arr[r1][:, c0] * (1 - wc) + arr[r1][:, c1] * wc
    out: np.ndarray = top * (1 - wr)[:, None] + bottom * wr[:, None]
    return out


def mask_shift(image: Dataset, frame: int, item: Dataset) -> tuple[float, float]:
    """(row, column) shift of ``item``'s mask for ``frame`` (0-based).

    The contrast frame's Frame Pixel Shift Sequence item with the same Subtraction Item ID (or
    the first one when the mask item has no ID) wins over the mask item's Mask Sub-pixel Shift.
    """
    item_id = item.get("SubtractionItemID")
    for group in frame_groups(image, frame):
        for entry in group.get("FramePixelShiftSequence") or []:
            if item_id is not None and entry.get("SubtractionItemID") != item_id:
                continue
            value = entry.get("MaskSubPixelShift")
            if value is not None and len(value) == 2:
                return float(value[0]), float(value[1])
    value = item.get("MaskSubPixelShift")
    if value is not None and len(value) == 2:
        return float(value[0]), float(value[1])
    return 0.0, 0.0


def _decoded(image: Dataset) -> FramePixels:
    return lambda index: decode_frame(image, index)[0]


def _mean(numbers: Sequence[int], frames: int, pixels: FramePixels) -> np.ndarray:
    """Mean of the frames ``numbers`` (1-based), float64."""
    for number in numbers:
        if not 1 <= number <= frames:
            raise DicomInputError(
                f"Mask subtraction refers to frame {number}, but the image has {frames} frame(s) (PS3.3 C.7.6.10)."
            )
    stack = np.stack([pixels(number - 1) for number in numbers]).astype(np.float64)
    mean: np.ndarray = stack.mean(axis=0)
    return mean


class _MaskCache:
    """The last few shifted masks, so that a cine through one run decodes its mask frames once.

    Keyed by the image object (checked through a weak reference, so a new data set at a reused
    address never hits), its Pixel Data object, the mask frames and the shift.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[object, ...], tuple[weakref.ref[Dataset], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(image: Dataset, masks: Sequence[int], shift: tuple[float, float]) -> tuple[object, ...]:
        return id(image), id(image.get("PixelData")), tuple(masks), shift

    def get(self, image: Dataset, masks: Sequence[int], shift: tuple[float, float]) -> np.ndarray | None:
        key = self._key(image, masks, shift)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0]() is not image:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, image: Dataset, masks: Sequence[int], shift: tuple[float, float], mask: np.ndarray) -> None:
        mask.setflags(write=False)
        with self._lock:
            self._entries[self._key(image, masks, shift)] = (weakref.ref(image), mask)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_masks = _MaskCache(_MASK_CACHE_SIZE)


def _chosen(
    image: Dataset, frame: int, state: Dataset | None, viewing_mode: str | None
) -> tuple[Dataset, Dataset, list[int], list[int]] | None:
    """(image with pixel defaults, mask item, mask frames, contrast frames) for ``frame`` (0-based), or None."""
    items = mask_items(image, state, viewing_mode)
    if not items:
        return None
    ds = with_pixel_defaults(image)
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise DicomInputError("Mask subtraction applies to grey images only (PS3.3 C.7.6.10); show it natively.")
    frames = number_of_frames(ds)
    for item in items:
        chosen = _mask_and_contrast(item, frame + 1, frames)
        if chosen is not None:
            return ds, item, chosen[0], chosen[1]
    return None


def subtraction_frames(
    image: Dataset, frame: int, state: Dataset | None = None, viewing_mode: str | None = None
) -> tuple[int, ...]:
    """The 0-based frames :func:`subtracted_frame` reads for ``frame``: its masks and contrast frames.

    Empty for the native view. Invalid mask items (see :func:`subtracted_frame`) read nothing
    here; :func:`subtracted_frame` raises their error. A viewer decodes these frames on workers
    and passes them to :func:`subtracted_frame` as ``pixels`` (PS3.3 C.7.6.10, C.11.13).
    """
    try:
        chosen = _chosen(image, frame, state, viewing_mode)
    except DicomInputError:
        return ()
    if chosen is None:
        return ()
    frames = number_of_frames(image)
    _, _, masks, contrast = chosen
    return tuple(dict.fromkeys(n - 1 for n in (*contrast, *masks) if 1 <= n <= frames))


def subtracted_frame(
    image: Dataset,
    frame: int,
    state: Dataset | None = None,
    viewing_mode: str | None = None,
    pixels: FramePixels | None = None,
) -> SubtractedFrame | None:
    """Frame ``frame`` (0-based) of ``image`` with its mask subtracted, or None for the native view.

    None when no mask applies (see :func:`mask_items`) or when the frame lies outside every
    item's Applicable Frame Range. The first item whose range holds the frame is used.
    ``pixels`` gives the stored values of the frames it reads (default: decoded here with
    :func:`~app.imaging.frames.decode_frame`).

    Raises
    ------
    DicomInputError
        For a colour image, an unknown Mask Operation or frame numbers outside the image.
    """
    chosen = _chosen(image, frame, state, viewing_mode)
    if chosen is None:
        return None
    ds, item, masks, contrast = chosen
    frames = number_of_frames(ds)
    read = pixels if pixels is not None else _decoded(ds)
    shift = mask_shift(ds, frame, item)
    mask = _masks.get(image, masks, shift)
    if mask is None:
        mask = shifted(_mean(masks, frames, read), shift)
        _masks.put(image, masks, shift, mask)
    difference = np.rint(_mean(contrast, frames, read) - mask).astype(np.int32)
    return SubtractedFrame(
        values=difference,
        bits_stored=int(ds.BitsStored) + 1,
        operation=str(item.MaskOperation).strip().upper(),
        contrast_frames=tuple(contrast),
        mask_frames=tuple(masks),
    )
