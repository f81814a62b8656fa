"""Modality LUT stage: stored values to modality values.

PS3.3 C.11.1 (Modality LUT Module) and C.7.6.16.2.11 / C.8.x (Rescale Slope and Intercept):
``modality = stored * RescaleSlope + RescaleIntercept``, or, when a Modality LUT Sequence is
present, the first item's LUT (C.11.1.1.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.imaging._lut import Lut, is_little_endian, read_lut


@dataclass(frozen=True)
class ModalityLUT:
    """The modality transform of one image.

    Exactly one of ``lut`` or the rescale pair is used: a LUT wins (PS3.3 C.11.1).
    """

    slope: float = 1.0
    intercept: float = 0.0
    lut: Lut | None = None

    @property
    def is_identity(self) -> bool:
        """True when modality values equal stored values."""
        return self.lut is None and self.slope == 1.0 and self.intercept == 0.0

    @property
    def output_bits(self) -> int | None:
        """Bits per entry of the LUT, or None for a rescale (PS3.3 C.11.1.1.1)."""
        return None if self.lut is None else self.lut.bits

    def apply(self, stored: np.ndarray) -> np.ndarray:
        """Return modality values (float64) for stored values."""
        if self.lut is not None:
            return self.lut.apply(stored)
        out = np.asarray(stored, dtype=np.float64)
        if self.is_identity:
            return out.copy()
        return out * self.slope + self.intercept


def modality_lut_from(ds: Dataset) -> ModalityLUT:
    """Read the modality transform of ``ds`` (PS3.3 C.11.1).

    Parameters
    ----------
    ds
        An image data set. The first item of Modality LUT Sequence (0028,3000) is used when
        present, else Rescale Slope (0028,1053) and Rescale Intercept (0028,1052), else identity.
    """
    seq = ds.get("ModalityLUTSequence")
    if seq:
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        return ModalityLUT(lut=read_lut(seq[0], signed_input=signed, little_endian=is_little_endian(ds)))
    slope = ds.get("RescaleSlope")
    intercept = ds.get("RescaleIntercept")
    return ModalityLUT(
        slope=float(slope) if slope not in (None, "") else 1.0,
        intercept=float(intercept) if intercept not in (None, "") else 0.0,
    )


def apply_modality_lut(stored: np.ndarray, ds: Dataset) -> np.ndarray:
    """Convenience: modality values of ``stored`` under the transform of ``ds``."""
    return modality_lut_from(ds).apply(stored)
