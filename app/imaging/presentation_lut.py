"""Presentation LUT stage: VOI output to P-values (display values).

PS3.3 C.11.4 (Presentation LUT Module) and C.11.6 (Softcopy Presentation LUT): a shape of
IDENTITY or INVERSE, or a Presentation LUT Sequence (2050,0010) holding one LUT. MONOCHROME1
images (PS3.3 C.7.6.3.1.2: minimum value is white) are displayed inverted unless a
Presentation LUT Shape says otherwise (PS3.3 C.8.11.6.1.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

from app.imaging._lut import Lut, is_little_endian, read_lut

PresentationLUTShape = Literal["IDENTITY", "INVERSE"]


@dataclass(frozen=True, eq=False)
class PresentationLUT:
    """A Presentation LUT given as data (PS3.3 C.11.6.1).

    Its input range is the whole VOI output range: entry 0 for the lowest VOI output, the
    last entry for the highest; its output is P-values in ``[0, 2**bits - 1]``.
    """

    lut: Lut

    def apply(self, values: np.ndarray, y_min: float = 0.0, y_max: float = 255.0) -> np.ndarray:
        """Map VOI output in ``[y_min, y_max]`` through the LUT, back to ``[y_min, y_max]``."""
        entries = len(self.lut.data)
        x = (np.asarray(values, dtype=np.float64) - y_min) / max(y_max - y_min, 1e-12)
        index = np.clip(np.rint(x * (entries - 1)), 0, entries - 1).astype(np.intp)
        out = self.lut.data[index] / max(self.lut.max_output, 1)
        result: np.ndarray = out * (y_max - y_min) + y_min
        return result


Presentation = PresentationLUTShape | PresentationLUT


def presentation_lut_shape(ds: Dataset) -> PresentationLUTShape:
    """The shape to apply to ``ds``.

    An explicit Presentation LUT Shape (2050,0020) decides; without one, MONOCHROME1 gives
    INVERSE and everything else IDENTITY.
    """
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if shape in ("IDENTITY", "INVERSE"):
        return shape  # type: ignore[return-value]
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    return "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"


def presentation_lut_from(ds: Dataset) -> Presentation:
    """The presentation stage of ``ds``: its Presentation LUT Sequence item, else its shape.

    PS3.3 C.11.6: a data set has either Presentation LUT Sequence (2050,0010) or Presentation
    LUT Shape (2050,0020); without both, :func:`presentation_lut_shape` decides.
    """
    seq = ds.get("PresentationLUTSequence")
    if seq:
        return PresentationLUT(read_lut(seq[0], signed_input=False, little_endian=is_little_endian(ds)))
    return presentation_lut_shape(ds)


def apply_presentation_lut(
    values: np.ndarray, shape: Presentation, y_min: float = 0.0, y_max: float = 255.0
) -> np.ndarray:
    """Apply IDENTITY, INVERSE or a LUT to VOI output in ``[y_min, y_max]`` (PS3.3 C.11.6.1)."""
    if isinstance(shape, PresentationLUT):
        return shape.apply(values, y_min, y_max)
    if shape == "INVERSE":
        return (y_max + y_min) - np.asarray(values, dtype=np.float64)
    return np.asarray(values, dtype=np.float64)
