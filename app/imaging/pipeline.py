"""The grey display pipeline composed into one lookup table (DESIGN.md section 4).

Stored value -> Modality LUT (PS3.3 C.11.1) -> VOI LUT / window (C.11.2) -> Presentation LUT
(C.11.6) -> uint8 display value. All three stages are evaluated once over every possible
stored value (Bits Stored 1..16, signed or unsigned), giving a uint8 table indexed by
``stored - stored_min``. A window change therefore costs one table build plus one ``np.take``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging.modality_lut import ModalityLUT, modality_lut_from
from app.imaging.pixel_attributes import with_pixel_defaults
from app.imaging.presentation_lut import Presentation, apply_presentation_lut, presentation_lut_from
from app.imaging.presets import percentile_window
from app.imaging.voi_lut import VOI, VOILUT, Window, voi_luts_from, window_from_range, windows_from

_MAX_TABLE_BITS = 16
_MAX_BITS = 32
_CACHE_SIZE = 8


@dataclass(frozen=True)
class StoredRange:
    """Range of stored values allowed by Bits Stored and Pixel Representation (PS3.3 C.7.6.3.1)."""

    bits_stored: int
    signed: bool

    @property
    def minimum(self) -> int:
        return -(2 ** (self.bits_stored - 1)) if self.signed else 0

    @property
    def maximum(self) -> int:
        return 2 ** (self.bits_stored - 1) - 1 if self.signed else 2**self.bits_stored - 1

    @property
    def size(self) -> int:
        return self.maximum - self.minimum + 1


class GreyPipeline:
    """Modality, VOI and presentation stages of one grey image, as a cached uint8 table.

    Parameters
    ----------
    bits_stored, signed
        Bits Stored (0028,0101) and Pixel Representation (0028,0103) of the image.
    modality
        The modality transform.
    shape
        The presentation stage: IDENTITY, INVERSE (MONOCHROME1) or a Presentation LUT.
    windows, voi_luts
        The image's own windows and VOI LUTs, in the order given by the data set.
    """

    def __init__(
        self,
        bits_stored: int,
        signed: bool,
        modality: ModalityLUT | None = None,
        shape: Presentation = "IDENTITY",
        windows: list[Window] | None = None,
        voi_luts: list[VOILUT] | None = None,
    ) -> None:
        if not 1 <= bits_stored <= _MAX_BITS:
            raise DicomInputError(
                f"Bits Stored {bits_stored} is outside 1..32; this grey image cannot be displayed "
                "(PS3.3 C.7.6.3.1)."
            )
        self.range = StoredRange(bits_stored, signed)
        self.modality = modality or ModalityLUT()
        self.shape: Presentation = shape
        self.windows = list(windows or [])
        self.voi_luts = list(voi_luts or [])
        #: Above 16 bits a table over every stored value is too large: the stages are then
        #: evaluated on the frame's values directly (the "index" is the stored value itself).
        self.direct = bits_stored > _MAX_TABLE_BITS
        if self.direct:
            ends = np.array([self.range.minimum, self.range.maximum], dtype=np.int64)
            self._modality_values = self.modality.apply(ends)
        else:
            stored = np.arange(self.range.minimum, self.range.maximum + 1, dtype=np.int64)
            self._modality_values = self.modality.apply(stored)
        self._tables: OrderedDict[object, np.ndarray] = OrderedDict()

    @classmethod
    def from_dataset(cls, ds: Dataset) -> GreyPipeline:
        """Build the pipeline of a grey image data set (MONOCHROME1 or MONOCHROME2).

        Missing Image Pixel attributes take the reference defaults with a warning
        (:func:`~app.imaging.pixel_attributes.with_pixel_defaults`).
        """
        ds = with_pixel_defaults(ds)
        try:
            bits_stored = int(ds.BitsStored)
        except (AttributeError, TypeError, ValueError) as exc:
            raise DicomInputError("The image lacks Bits Stored (0028,0101); it cannot be displayed.") from exc
        return cls(
            bits_stored=bits_stored,
            signed=int(ds.get("PixelRepresentation", 0) or 0) == 1,
            modality=modality_lut_from(ds),
            shape=presentation_lut_from(ds),
            windows=windows_from(ds),
            voi_luts=voi_luts_from(ds),
        )

    # -- values ------------------------------------------------------------------------------
    def modality_range(self, index: np.ndarray | None = None) -> tuple[float, float]:
        """Lowest and highest modality value, over ``index`` (from :meth:`index`) or over all stored values.

        Only the stored values between the lowest and highest present are visited, so a
        non-monotonic Modality LUT is still handled.
        """
        if index is None or index.size == 0:
            values = self._modality_values
        elif self.direct:
            values = self.modality.apply(np.array([index.min(), index.max()]) if self.modality.lut is None else index)
        else:
            values = self._modality_values[int(index.min()) : int(index.max()) + 1]
        return float(values.min()), float(values.max())

    def full_range_voi(self) -> Window:
        """A LINEAR window over every possible modality value (no VOI: PS3.3 C.11.2 "identity").

        This maps the whole range Bits Stored allows, through the modality stage, onto the
        display range: what DCMTK shows for an image without any VOI, and a neutral choice
        for printing such an image.
        """
        return window_from_range(*self.modality_range())

    def voi_choices(self) -> list[VOI]:
        """The image's own VOIs, selectable by the user: its windows, then its VOI LUTs (PS3.3 C.11.2)."""
        return [*self.windows, *self.voi_luts]

    def default_voi(self, index: np.ndarray | None = None) -> VOI:
        """The image's first window, else its first VOI LUT, else a robust window over its values.

        Parameters
        ----------
        index
            The table index of the displayed pixels (:meth:`index`): the fallback window then
            spans the 0.5..99.5 percentiles of the modality values present
            (:func:`~app.imaging.presets.percentile_window`; PS3.3 C.11.2 leaves it to the display).
        """
        if self.windows:
            return self.windows[0]
        if self.voi_luts:
            return self.voi_luts[0]
        if index is None or index.size == 0:
            return percentile_window(self._modality_values, low=0.0, high=100.0)
        if self.direct:
            return percentile_window(self.modality.apply(index))
        counts = np.bincount(index.ravel(), minlength=self.range.size)
        return percentile_window(self._modality_values, counts)

    def index(self, stored: np.ndarray) -> np.ndarray:
        """Table index of stored values: ``stored - stored_min``, clipped to the table (uint16).

        Compute it once per frame; it is the array :meth:`render` takes from. Above 16 bits
        (:attr:`direct`) it is the stored values themselves, as int64.
        """
        arr = np.asarray(stored)
        if self.range.bits_stored == 16 and arr.dtype == (np.int16 if self.range.signed else np.uint16):
            # every value of the dtype is in the table: one pass (signed: flipping the sign bit adds 32768)
            return arr.view(np.uint16) ^ np.uint16(0x8000) if self.range.signed else arr
        if not np.issubdtype(arr.dtype, np.integer):
            arr = np.rint(arr)
        if self.direct:
            return np.clip(arr.astype(np.int64), self.range.minimum, self.range.maximum)
        idx = arr.astype(np.int64) - self.range.minimum if self.range.minimum else arr
        idx = np.clip(idx, 0, self.range.size - 1)
        return idx.astype(np.uint16 if self.range.size <= 65536 else np.uint32)

    # -- tables ------------------------------------------------------------------------------
    def table(self, voi: VOI | None = None) -> np.ndarray:
        """The uint8 table for ``voi`` (default: :meth:`default_voi`), cached for the last few VOIs.

        Raises
        ------
        DicomInputError
            Above 16 bits stored, where there is no table (:attr:`direct`).
        """
        if self.direct:
            raise DicomInputError("An image of more than 16 bits stored has no lookup table; use render().")
        voi = voi if voi is not None else self.default_voi()
        key: object = voi  # Window: by value; VOILUT: by identity
        table = self._tables.get(key)
        if table is not None:
            self._tables.move_to_end(key)
            return table
        values = voi.apply(self._modality_values, 0.0, 255.0)
        values = apply_presentation_lut(values, self.shape, 0.0, 255.0)
        table = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        self._tables[key] = table
        if len(self._tables) > _CACHE_SIZE:
            self._tables.popitem(last=False)
        return table

    def render(self, index: np.ndarray, voi: VOI | None = None) -> np.ndarray:
        """uint8 display values of pixels given by their table ``index`` (one ``np.take``)."""
        if self.direct:
            voi = voi if voi is not None else self.default_voi(index)
            values = voi.apply(self.modality.apply(index), 0.0, 255.0)
            values = apply_presentation_lut(values, self.shape, 0.0, 255.0)
            return np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return np.take(self.table(voi), index)

    def render_stored(self, stored: np.ndarray, voi: VOI | None = None) -> np.ndarray:
        """uint8 display values of raw stored values (computes the index first)."""
        return self.render(self.index(stored), voi)
