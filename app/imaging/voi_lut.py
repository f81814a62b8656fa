"""VOI LUT stage: modality values to a display range, by a window or a VOI LUT.

PS3.3 C.11.2 (VOI LUT Module): Window Center (0028,1050) / Window Width (0028,1051) with
VOI LUT Function (0028,1056) LINEAR (C.11.2.1.2.1), LINEAR_EXACT (C.11.2.1.3.2) or
SIGMOID (C.11.2.1.3.1); or the VOI LUT Sequence (0028,3010).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging._lut import Lut, is_little_endian, read_lut

VOIFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]
_FUNCTIONS: tuple[VOIFunction, ...] = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True)
class Window:
    """A window: center and width in modality units, and its VOI LUT Function.

    ``explanation`` is Window Center & Width Explanation (0028,1055); it takes no part in
    equality, so equal windows share one cached table.
    """

    center: float
    width: float
    function: VOIFunction = "LINEAR"
    explanation: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.function not in _FUNCTIONS:
            raise DicomInputError(
                f"VOI LUT Function {self.function!r} is not one of {', '.join(_FUNCTIONS)} (PS3.3 C.11.2.1.3)."
            )

    def clamped(self) -> Window:
        """The same window with the smallest width its function allows (1 for LINEAR)."""
        minimum = 1.0 if self.function == "LINEAR" else 1e-6
        return self if self.width >= minimum else Window(self.center, minimum, self.function, self.explanation)

    def apply(self, x: np.ndarray, y_min: float = 0.0, y_max: float = 255.0) -> np.ndarray:
        """Map modality values ``x`` to ``[y_min, y_max]`` (float64).

        LINEAR (PS3.3 C.11.2.1.2.1), width >= 1::

            if x <= c - 0.5 - (w-1)/2: y = y_min
            elif x > c - 0.5 + (w-1)/2: y = y_max
            else: y = ((x - (c - 0.5)) / (w-1) + 0.5) * (y_max - y_min) + y_min

        LINEAR_EXACT (C.11.2.1.3.2), width > 0::

            if x <= c - w/2: y = y_min
            elif x > c + w/2: y = y_max
            else: y = ((x - c) / w + 0.5) * (y_max - y_min) + y_min

        SIGMOID (C.11.2.1.3.1): ``y = (y_max - y_min) / (1 + exp(-4 (x - c) / w)) + y_min``.
        """
        win = self.clamped()
        x = np.asarray(x, dtype=np.float64)
        span = y_max - y_min
        c, w = win.center, win.width
        if win.function == "SIGMOID":
            with np.errstate(over="ignore"):
                return span / (1.0 + np.exp(-4.0 * (x - c) / w)) + y_min
        if win.function == "LINEAR":
            c, w = c - 0.5, w - 1.0
            if w == 0.0:  # width 1: a threshold at c - 0.5
                return np.where(x <= c, y_min, y_max).astype(np.float64)
        y = ((x - c) / w + 0.5) * span + y_min
        return np.clip(y, y_min, y_max)


@dataclass(frozen=True, eq=False)
class VOILUT:
    """A VOI LUT from the VOI LUT Sequence (PS3.3 C.11.2.1.1)."""

    lut: Lut
    explanation: str = ""

    def apply(self, x: np.ndarray, y_min: float = 0.0, y_max: float = 255.0) -> np.ndarray:
        """Map modality values through the LUT, rescaled from ``[0, 2**bits-1]`` to ``[y_min, y_max]``."""
        out = self.lut.apply(x)
        return out / max(self.lut.max_output, 1) * (y_max - y_min) + y_min


VOI = Window | VOILUT


def windows_from(ds: Dataset) -> list[Window]:
    """All windows of ``ds`` (Window Center/Width may be multi-valued, PS3.3 C.11.2.1.2)."""
    centers = ds.get("WindowCenter")
    widths = ds.get("WindowWidth")
    if centers in (None, "") or widths in (None, ""):
        return []
    cs = list(centers) if hasattr(centers, "__len__") and not isinstance(centers, str) else [centers]
    ws = list(widths) if hasattr(widths, "__len__") and not isinstance(widths, str) else [widths]
    explanations = ds.get("WindowCenterWidthExplanation") or []
    if isinstance(explanations, str):
        explanations = [explanations]
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function not in _FUNCTIONS:
        function = "LINEAR"
    out: list[Window] = []
    for i, (c, w) in enumerate(zip(cs, ws, strict=False)):
        text = str(explanations[i]) if i < len(explanations) else ""
        try:
            out.append(Window(float(c), float(w), function, text))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return [w.clamped() for w in out]


def voi_luts_from(ds: Dataset) -> list[VOILUT]:
    """All items of the VOI LUT Sequence of ``ds`` (PS3.3 C.11.2.1.1).

    The first value mapped is read as signed when the modality values can be negative
    (signed pixels without a Modality LUT Sequence, or a negative Rescale Intercept).
    """
    seq = ds.get("VOILUTSequence") or []
    little = is_little_endian(ds)
    intercept = ds.get("RescaleIntercept")
    signed = not ds.get("ModalityLUTSequence") and (
        int(ds.get("PixelRepresentation", 0) or 0) == 1 or (intercept not in (None, "") and float(intercept) < 0)
    )
    return [
        VOILUT(read_lut(item, signed_input=signed, little_endian=little), str(item.get("LUTExplanation", "")))
        for item in seq
    ]


def window_from_range(lowest: float, highest: float) -> Window:
    """A LINEAR window spanning ``[lowest, highest]`` exactly (used when the image has none)."""
    if highest < lowest:
        lowest, highest = highest, lowest
    width = max(highest - lowest + 1.0, 1.0)
    return Window(center=lowest + (width - 1.0) / 2.0 + 0.5, width=width)
