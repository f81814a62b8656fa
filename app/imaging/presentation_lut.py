"""Presentation LUT stage: VOI output to P-values (display values).

PS3.3 C.11.4 (Presentation LUT Module) and C.11.6 (Softcopy Presentation LUT): a shape of
IDENTITY or INVERSE. MONOCHROME1 images (PS3.3 C.7.6.3.1.2: minimum value is white) are
displayed inverted unless a Presentation LUT Shape says otherwise (PS3.3 C.8.11.6.1.2).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

PresentationLUTShape = Literal["IDENTITY", "INVERSE"]


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


def apply_presentation_lut(
    values: np.ndarray, shape: PresentationLUTShape, y_min: float = 0.0, y_max: float = 255.0
) -> np.ndarray:
    """Apply IDENTITY or INVERSE to VOI output in ``[y_min, y_max]`` (PS3.3 C.11.6.1)."""
    if shape == "INVERSE":
        return (y_max + y_min) - np.asarray(values, dtype=np.float64)
    return np.asarray(values, dtype=np.float64)
