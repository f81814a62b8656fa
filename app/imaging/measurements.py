"""Measurements on an image frame: distance, angle, area and ROI statistics.

Coordinates are those of presentation state graphics in PIXEL units (PS3.3 C.10.5.1.2):
(column, row) pairs with the top left corner of the image at (0, 0), so the pixel at 0-based
(r, c) covers [c, c+1) x [r, r+1) and its centre is (c + 0.5, r + 0.5). Geometry is done in
physical space with the frame's :class:`~app.imaging.calibration.Calibration` (row and column
spacing may differ, PS3.3 10.7.1.3), so lengths, angles and areas are right for non-square
pixels; uncalibrated images measure in pixel widths, scaled by the pixel aspect ratio.

ROI statistics count a pixel when its centre lies inside the shape or on its edge, and are
computed on modality values (stored values through the Modality LUT, PS3.3 C.11.1: e.g.
Hounsfield units for CT; per frame for enhanced multi-frame images, Pixel Value
Transformation Sequence, PS3.3 C.7.6.16.2.9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.imaging.calibration import Calibration, calibration_from
from app.imaging.functional_groups import frame_value, group_value
from app.imaging.modality_lut import ModalityLUT, modality_lut_from
from app.imaging.shutters import polygonal

Point = tuple[float, float]  # (column, row) in image pixel coordinates


@dataclass(frozen=True)
class Quantity:
    """A measured value and its unit ("mm", "px", "mm2", "px2", "deg")."""

    value: float
    unit: str


@dataclass(frozen=True)
class RoiStatistics:
    """Statistics of the modality values inside a region (None when no pixel centre is inside).

    ``sd`` is the sample standard deviation (n - 1; 0 for one pixel). ``area`` is the
    shape's geometric area, ``pixel_area`` the area of the counted pixels; ``unit`` is the unit
    of the values ("HU", a Rescale Type, or "").
    """

    pixel_count: int
    mean: float | None
    sd: float | None
    minimum: float | None
    maximum: float | None
    area: Quantity
    pixel_area: Quantity
    unit: str


def _physical(point: Point, calibration: Calibration) -> tuple[float, float]:
    height, width = calibration.pixel_size
    return point[0] * width, point[1] * height


def distance(a: Point, b: Point, calibration: Calibration) -> Quantity:
    """Length of the segment from ``a`` to ``b`` (mm when calibrated, else pixel widths)."""
    (x1, y1), (x2, y2) = _physical(a, calibration), _physical(b, calibration)
    return Quantity(math.hypot(x2 - x1, y2 - y1), calibration.unit)


def angle(a: Point, vertex: Point, b: Point, calibration: Calibration) -> Quantity | None:
    """The angle at ``vertex`` between the rays to ``a`` and ``b``, 0..180 degrees, in physical space.

    None when a ray has no length.
    """
    (xa, ya), (xv, yv), (xb, yb) = (_physical(p, calibration) for p in (a, vertex, b))
    u, v = (xa - xv, ya - yv), (xb - xv, yb - yv)
    if math.hypot(*u) == 0 or math.hypot(*v) == 0:
        return None
    cross = u[0] * v[1] - u[1] * v[0]
    dot = u[0] * v[0] + u[1] * v[1]
    return Quantity(math.degrees(math.atan2(abs(cross), dot)), "deg")


def _area_unit(calibration: Calibration) -> str:
    return calibration.unit + "2"


def polygon_area(points: Sequence[Point], calibration: Calibration) -> Quantity:
    """Area enclosed by a simple polygon (shoelace formula in physical space)."""
    xy = [_physical(p, calibration) for p in points]
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1], strict=True))
    return Quantity(abs(twice) / 2.0, _area_unit(calibration))


def _centres(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centre coordinates: columns as a row vector, rows as a column vector."""
    return np.arange(shape[1]) + 0.5, (np.arange(shape[0]) + 0.5)[:, None]


def rectangle_mask(shape: tuple[int, int], corner: Point, opposite: Point) -> np.ndarray:
    """Pixels whose centre lies in the closed axis-aligned rectangle with these two corners."""
    x, y = _centres(shape)
    (x1, x2), (y1, y2) = sorted((corner[0], opposite[0])), sorted((corner[1], opposite[1]))
    return ((x >= x1) & (x <= x2)) & ((y >= y1) & (y <= y2))


def ellipse_mask(shape: tuple[int, int], centre: Point, radii: tuple[float, float]) -> np.ndarray:
    """Pixels whose centre lies in the closed axis-aligned ellipse; ``radii`` = (column, row) semi-axes."""
    x, y = _centres(shape)
    a, b = radii
    if a <= 0 or b <= 0:
        return np.zeros(shape, dtype=bool)
    inside: np.ndarray = ((x - centre[0]) / a) ** 2 + ((y - centre[1]) / b) ** 2 <= 1.0
    return inside


def polygon_mask(shape: tuple[int, int], points: Sequence[Point]) -> np.ndarray:
    """Pixels whose centre lies inside the polygon (even-odd rule) or on an edge."""
    if len(points) < 3:
        return np.zeros(shape, dtype=bool)
    # shutters.polygonal works on 1-based (row, column) pixel positions: centre (c + 0.5) is column c + 1
    vertices = [(row + 0.5, column + 0.5) for column, row in points]
    inside: np.ndarray = ~polygonal(shape, vertices)
    return inside


def frame_modality_lut(ds: Dataset, frame: int = 0) -> ModalityLUT:
    """The modality transform of a frame: Pixel Value Transformation of enhanced frames, else the image's."""
    slope = group_value(ds, frame, "PixelValueTransformationSequence", "RescaleSlope")
    intercept = group_value(ds, frame, "PixelValueTransformationSequence", "RescaleIntercept")
    if slope is not None or intercept is not None:
        return ModalityLUT(
            slope=float(slope) if slope is not None else 1.0,  # type: ignore[arg-type]
            intercept=float(intercept) if intercept is not None else 0.0,  # type: ignore[arg-type]
        )
    return modality_lut_from(ds)


def modality_unit(ds: Dataset, frame: int = 0) -> str:
    """The unit of modality values: Rescale Type (0028,1054) unless "US" (unspecified); CT gives HU."""
    rescale_type = str(frame_value(ds, frame, "RescaleType") or "").strip()
    if rescale_type and rescale_type.upper() != "US":
        return rescale_type
    return "HU" if str(ds.get("Modality", "")).strip().upper() == "CT" else ""


def roi_statistics(
    stored: np.ndarray,
    mask: np.ndarray,
    ds: Dataset,
    area: Quantity,
    frame: int = 0,
    calibration: Calibration | None = None,
) -> RoiStatistics:
    """Statistics of the modality values of ``stored`` (one frame) where ``mask`` is True.

    Parameters
    ----------
    stored
        Stored values of the frame, (rows, columns).
    mask
        The region, same shape (from :func:`rectangle_mask`, :func:`ellipse_mask`, :func:`polygon_mask`).
    ds
        The image, for its modality transform and unit.
    area
        The shape's geometric area.
    """
    calibration = calibration or calibration_from(ds, frame)
    values = frame_modality_lut(ds, frame).apply(np.asarray(stored)[mask])
    height, width = calibration.pixel_size
    count = int(values.size)
    pixel_area = Quantity(count * height * width, _area_unit(calibration))
    unit = modality_unit(ds, frame)
    if count == 0:
        return RoiStatistics(0, None, None, None, None, area, pixel_area, unit)
    return RoiStatistics(
        pixel_count=count,
        mean=float(values.mean()),
        sd=float(values.std(ddof=1)) if count > 1 else 0.0,
        minimum=float(values.min()),
        maximum=float(values.max()),
        area=area,
        pixel_area=pixel_area,
        unit=unit,
    )


def rectangle_roi(
    stored: np.ndarray,
    ds: Dataset,
    corner: Point,
    opposite: Point,
    frame: int = 0,
    calibration: Calibration | None = None,
) -> RoiStatistics:
    """Statistics inside an axis-aligned rectangle given by two opposite corners."""
    calibration = calibration or calibration_from(ds, frame)
    height, width = calibration.pixel_size
    area = abs(opposite[0] - corner[0]) * width * abs(opposite[1] - corner[1]) * height
    mask = rectangle_mask(stored.shape[:2], corner, opposite)
    return roi_statistics(stored, mask, ds, Quantity(area, _area_unit(calibration)), frame, calibration)


def ellipse_roi(
    stored: np.ndarray,
    ds: Dataset,
    centre: Point,
    radii: tuple[float, float],
    frame: int = 0,
    calibration: Calibration | None = None,
) -> RoiStatistics:
    """Statistics inside an axis-aligned ellipse; ``radii`` = (column, row) semi-axes in pixels."""
    calibration = calibration or calibration_from(ds, frame)
    height, width = calibration.pixel_size
    area = math.pi * abs(radii[0]) * width * abs(radii[1]) * height
    mask = ellipse_mask(stored.shape[:2], centre, radii)
    return roi_statistics(stored, mask, ds, Quantity(area, _area_unit(calibration)), frame, calibration)


def polygon_roi(
    stored: np.ndarray, ds: Dataset, points: Sequence[Point], frame: int = 0, calibration: Calibration | None = None
) -> RoiStatistics:
    """Statistics inside a simple polygon (closed implicitly)."""
    calibration = calibration or calibration_from(ds, frame)
    mask = polygon_mask(stored.shape[:2], points)
    return roi_statistics(stored, mask, ds, polygon_area(points, calibration), frame, calibration)
