"""Where image points land in the displayed frame: displayed area, then spatial transform.

PS3.4 N.2 orders the stages: the displayed area (PS3.3 C.10.4) is cut out of the image, then
the spatial transformation (C.10.6: clockwise rotation, then horizontal flip) is applied.
Graphic and text annotations are placed in that displayed frame (C.10.5.1): PIXEL units are
image coordinates (column\\row, the image's top left corner at 0.0) carried through both
stages; DISPLAY units are fractions (0.0 top left .. 1.0 bottom right) of the displayed area
as shown, i.e. already transformed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.imaging.spatial import DisplayedArea, SpatialTransform


@dataclass(frozen=True)
class ViewGeometry:
    """The displayed frame of an image of ``image_shape`` (rows, columns)."""

    image_shape: tuple[int, int]
    area: DisplayedArea | None = None
    transform: SpatialTransform = field(default_factory=SpatialTransform)

    @property
    def origin(self) -> tuple[int, int]:
        """0-based (column, row) of the displayed area's top left pixel in the image (may be negative)."""
        if self.area is None:
            return 0, 0
        (c1, r1), (c2, r2) = self.area.top_left, self.area.bottom_right
        return min(c1, c2) - 1, min(r1, r2) - 1

    @property
    def area_shape(self) -> tuple[int, int]:
        """Rows and columns of the displayed area, before the spatial transform."""
        if self.area is None:
            return self.image_shape
        (c1, r1), (c2, r2) = self.area.top_left, self.area.bottom_right
        return abs(r2 - r1) + 1, abs(c2 - c1) + 1

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the displayed frame (the output)."""
        return self.transform.shape(self.area_shape)

    def to_display(self, arr: np.ndarray, fill: int = 0) -> np.ndarray:
        """An image or mask of the image's shape cut to the displayed area and transformed."""
        out = self.area.crop(arr, fill) if self.area is not None else arr
        return self.transform.apply(out)

    def from_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Displayed-frame (x, y) of the image point (column ``x``, row ``y``), continuous coordinates."""
        left, top = self.origin
        x, y = x - left, y - top
        rows, columns = self.area_shape
        rotation = self.transform.rotation
        if rotation == 90:  # clockwise: the left edge becomes the top
            x, y = rows - y, x
        elif rotation == 180:
            x, y = columns - x, rows - y
        elif rotation == 270:
            x, y = y, columns - x
        if self.transform.flip:
            x = self.shape[1] - x
        return x, y

    def from_display(self, x: float, y: float) -> tuple[float, float]:
        """Displayed-frame (x, y) of a DISPLAY-unit point (0..1 of the displayed area as shown)."""
        rows, columns = self.shape
        return x * columns, y * rows

    def point(self, point: tuple[float, float], units: str) -> tuple[float, float]:
        """A (column, row) point in PIXEL or DISPLAY ``units`` in displayed-frame coordinates."""
        return self.from_display(*point) if units == "DISPLAY" else self.from_pixel(*point)
