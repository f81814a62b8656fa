"""Spatial transformation and displayed area (PS3.3 C.10.4 and C.10.6).

Image Rotation (0070,0042), a clockwise multiple of 90 degrees, is applied first, then
Image Horizontal Flip (0070,0041) ("after any Image Rotation has been applied", C.10.6.1).
The Displayed Area (C.10.4) is given by its
top left and bottom right corners (column\\row, 1-based, possibly outside the image) in the
coordinates of the image before the spatial transformation; it is cut out first (padded
where it leaves the image), then transformed. Presentation Size Mode SCALE TO FIT,
TRUE SIZE or MAGNIFY decides the display scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError

SizeMode = Literal["SCALE TO FIT", "TRUE SIZE", "MAGNIFY"]


@dataclass(frozen=True)
class SpatialTransform:
    """A clockwise rotation by ``rotation`` degrees, then a horizontal flip (PS3.3 C.10.6.1)."""

    rotation: int = 0
    flip: bool = False

    def __post_init__(self) -> None:
        if self.rotation not in (0, 90, 180, 270):
            raise DicomInputError(f"Image Rotation {self.rotation} is not 0, 90, 180 or 270 (PS3.3 C.10.6.1.1).")

    @classmethod
    def from_dataset(cls, ds: Dataset) -> SpatialTransform:
        """Read Image Rotation and Image Horizontal Flip (a presentation state's)."""
        rotation = int(ds.get("ImageRotation", 0) or 0) % 360
        flip = str(ds.get("ImageHorizontalFlip", "N") or "N").strip().upper() == "Y"
        return cls(rotation, flip)

    def apply(self, arr: np.ndarray) -> np.ndarray:
        """Transform an image or a mask (rows, columns[, samples])."""
        # np.rot90 turns counter-clockwise for positive k
        out = np.rot90(arr, k=-(self.rotation // 90), axes=(0, 1))
        return np.ascontiguousarray(out[:, ::-1] if self.flip else out)

    def shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """Rows and columns after the transform."""
        return (shape[1], shape[0]) if self.rotation in (90, 270) else shape

    def point(self, row: float, column: float, shape: tuple[int, int]) -> tuple[float, float]:
        """Where the 0-based pixel (row, column) of an image of ``shape`` lands after the transform."""
        rows, columns = shape
        if self.rotation == 90:
            row, column = column, rows - 1 - row
        elif self.rotation == 180:
            row, column = rows - 1 - row, columns - 1 - column
        elif self.rotation == 270:
            row, column = columns - 1 - column, row
        if self.flip:
            column = self.shape(shape)[1] - 1 - column
        return row, column


@dataclass(frozen=True)
class DisplayedArea:
    """The displayed area of an image (PS3.3 C.10.4), corners as 1-based (column, row)."""

    top_left: tuple[int, int]
    bottom_right: tuple[int, int]
    size_mode: SizeMode = "SCALE TO FIT"
    pixel_spacing: tuple[float, float] | None = None  # Presentation Pixel Spacing (row, column), mm
    magnification: float = 1.0

    @classmethod
    def whole(cls, shape: tuple[int, int]) -> DisplayedArea:
        """The whole image, scaled to fit."""
        return cls((1, 1), (shape[1], shape[0]))

    @classmethod
    def from_item(cls, item: Dataset, shape: tuple[int, int]) -> DisplayedArea:
        """Read an item of Displayed Area Selection Sequence (0070,005A)."""
        tlhc = [int(v) for v in item.get("DisplayedAreaTopLeftHandCorner") or [1, 1]]
        brhc = [int(v) for v in item.get("DisplayedAreaBottomRightHandCorner") or [shape[1], shape[0]]]
        mode = str(item.get("PresentationSizeMode", "SCALE TO FIT") or "SCALE TO FIT").strip().upper()
        if mode not in ("SCALE TO FIT", "TRUE SIZE", "MAGNIFY"):
            mode = "SCALE TO FIT"
        spacing = item.get("PresentationPixelSpacing")
        magnification = float(item.get("PresentationPixelMagnificationRatio", 1.0) or 1.0)
        return cls(
            (tlhc[0], tlhc[1]),
            (brhc[0], brhc[1]),
            mode,  # type: ignore[arg-type]
            (float(spacing[0]), float(spacing[1])) if spacing else None,
            magnification,
        )

    def crop(self, arr: np.ndarray, fill: int = 0) -> np.ndarray:
        """Cut the area out of an image or mask (before the spatial transform), padding outside it."""
        (c1, r1), (c2, r2) = self.top_left, self.bottom_right
        top, bottom = sorted((r1, r2))
        left, right = sorted((c1, c2))
        rows, columns = arr.shape[:2]
        out = np.full((bottom - top + 1, right - left + 1, *arr.shape[2:]), fill, dtype=arr.dtype)
        src_top, src_left = max(top, 1), max(left, 1)
        src_bottom, src_right = min(bottom, rows), min(right, columns)
        if src_bottom >= src_top and src_right >= src_left:
            out[src_top - top : src_bottom - top + 1, src_left - left : src_right - left + 1] = arr[
                src_top - 1 : src_bottom, src_left - 1 : src_right
            ]
        return out

    def scale(self, viewport: tuple[int, int], screen_pixel_mm: float | None = None) -> float:
        """Screen pixels per image pixel for a viewport of (rows, columns).

        SCALE TO FIT fits the area; MAGNIFY uses the magnification ratio; TRUE SIZE needs the
        screen's pixel size and the presentation pixel spacing (falls back to fit without).
        """
        (c1, r1), (c2, r2) = self.top_left, self.bottom_right
        rows, columns = abs(r2 - r1) + 1, abs(c2 - c1) + 1
        if self.size_mode == "MAGNIFY":
            return self.magnification
        if self.size_mode == "TRUE SIZE" and self.pixel_spacing and screen_pixel_mm:
            return self.pixel_spacing[0] / screen_pixel_mm
        return min(viewport[0] / rows, viewport[1] / columns)
