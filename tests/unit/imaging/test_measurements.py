"""Measurements: expected values from analytic formulas and pixel-by-pixel loops, not from the code under test."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut

from app.imaging.calibration import Calibration, CalibrationSource, calibration_from
from app.imaging.measurements import (
    angle,
    distance,
    ellipse_mask,
    ellipse_roi,
    polygon_area,
    polygon_mask,
    polygon_roi,
    rectangle_roi,
)

# rows 0.5 mm apart, columns 0.25 mm apart: a pixel is twice as tall as it is wide
NON_SQUARE = Calibration(0.5, 0.25, CalibrationSource.CALIBRATED, (0.5, 0.25))
UNCALIBRATED_2_TO_1 = Calibration(None, None, CalibrationSource.NONE, (2.0, 1.0))


def _ct(stored: np.ndarray, slope: float, intercept: float, spacing: list[float]) -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.Rows, ds.Columns = stored.shape
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.PixelSpacing = spacing
    return ds


def _point_in_polygon(x: float, y: float, poly: list[tuple[float, float]]) -> bool:
    """Plain even-odd ray cast to the right, plus points on an edge (the documented rule)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        within = min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)
        if within and abs((x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)) < 1e-9:
            return True
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_distance_in_mm_for_non_square_pixels_and_in_pixel_widths_without_calibration() -> None:
    # 3 columns across (0.75 mm) and 4 rows down (2 mm)
    assert math.isclose(distance((1, 1), (4, 5), NON_SQUARE).value, math.sqrt(0.75**2 + 2.0**2))
    assert distance((1, 1), (4, 5), NON_SQUARE).unit == "mm"
    # uncalibrated, pixels twice as tall as wide: 4 rows count as 8 pixel widths
    result = distance((1, 1), (4, 5), UNCALIBRATED_2_TO_1)
    assert math.isclose(result.value, math.sqrt(3**2 + 8**2)) and result.unit == "px"


def test_angle_is_measured_in_physical_space() -> None:
    # in pixel coordinates the rays (1, 0) and (1, 1) meet at 45 degrees; in mm they are (0.25, 0) and
    # (0.25, 0.5), which meet at atan(0.5 / 0.25)
    result = angle((11, 10), (10, 10), (11, 11), NON_SQUARE)
    assert result is not None and math.isclose(result.value, math.degrees(math.atan(2.0)))
    square = Calibration(1.0, 1.0, CalibrationSource.CALIBRATED, (1.0, 1.0))
    straight = angle((0, 0), (5, 5), (10, 10), square)
    assert straight is not None and math.isclose(straight.value, 180.0)
    assert angle((5, 5), (5, 5), (1, 1), square) is None


def test_polygon_area_of_a_triangle_in_mm2() -> None:
    # base 8 columns (2 mm), height 6 rows (3 mm)
    result = polygon_area([(2, 2), (10, 2), (6, 8)], NON_SQUARE)
    assert math.isclose(result.value, 0.5 * 2.0 * 3.0) and result.unit == "mm2"


def test_rectangle_roi_in_hounsfield_units_with_non_square_pixels() -> None:
    rng = np.random.default_rng(4)
    stored = rng.integers(0, 4096, size=(12, 16))
    ds = _ct(stored, 1.0, -1024.0, [0.5, 0.25])
    corner, opposite = (3.2, 2.0), (9.6, 7.5)
    expected = []
    for r in range(12):
        for c in range(16):
            if 3.2 <= c + 0.5 <= 9.6 and 2.0 <= r + 0.5 <= 7.5:
                expected.append(float(stored[r, c]) * 1.0 - 1024.0)
    stats = rectangle_roi(stored, ds, corner, opposite)
    assert stats.pixel_count == len(expected) == 7 * 6  # columns 3..9, rows 2..7 (centre 7.5 on the edge)
    assert stats.unit == "HU"
    assert math.isclose(stats.mean or 0, statistics.fmean(expected))
    assert math.isclose(stats.sd or 0, statistics.stdev(expected))
    assert (stats.minimum, stats.maximum) == (min(expected), max(expected))
    assert math.isclose(stats.area.value, (9.6 - 3.2) * 0.25 * (7.5 - 2.0) * 0.5) and stats.area.unit == "mm2"
    assert math.isclose(stats.pixel_area.value, 42 * 0.5 * 0.25)


def test_ellipse_mask_and_roi_match_a_pixel_by_pixel_loop() -> None:
    stored = np.arange(20 * 30).reshape(20, 30) % 97
    ds = _ct(stored, 2.0, -100.0, [0.5, 0.25])
    centre, radii = (14.3, 9.7), (9.0, 6.5)
    expected_mask = np.zeros(stored.shape, dtype=bool)
    values = []
    for r in range(20):
        for c in range(30):
            if ((c + 0.5 - 14.3) / 9.0) ** 2 + ((r + 0.5 - 9.7) / 6.5) ** 2 <= 1.0:
                expected_mask[r, c] = True
                values.append(stored[r, c] * 2.0 - 100.0)
    assert np.array_equal(ellipse_mask(stored.shape, centre, radii), expected_mask)
    stats = ellipse_roi(stored, ds, centre, radii)
    assert stats.pixel_count == len(values)
    assert math.isclose(stats.mean or 0, statistics.fmean(values))
    assert math.isclose(stats.sd or 0, statistics.stdev(values))
    # semi-axes 9 columns = 2.25 mm and 6.5 rows = 3.25 mm
    assert math.isclose(stats.area.value, math.pi * 2.25 * 3.25)
    # the counted pixels approximate the analytic area
    assert abs(stats.pixel_area.value - stats.area.value) / stats.area.value < 0.05


def test_polygon_mask_matches_an_independent_ray_cast() -> None:
    poly = [(2.0, 1.5), (17.5, 4.0), (12.0, 14.5), (6.5, 9.0), (1.0, 12.5)]  # concave
    expected = np.array([[_point_in_polygon(c + 0.5, r + 0.5, poly) for c in range(20)] for r in range(16)])
    assert np.array_equal(polygon_mask((16, 20), poly), expected)
    # a square whose edges run through pixel centres: the pixels on the edge count
    square = [(2.5, 2.5), (5.5, 2.5), (5.5, 5.5), (2.5, 5.5)]
    assert int(polygon_mask((8, 8), square).sum()) == 16
    stored = np.ones((8, 8), dtype=np.int64) * 7
    stats = polygon_roi(stored, _ct(stored, 1.0, 0.0, [1.0, 1.0]), square)
    assert (stats.pixel_count, stats.mean, stats.sd, stats.area.value) == (16, 7.0, 0.0, 9.0)


def test_empty_region_has_no_statistics() -> None:
    stored = np.zeros((4, 4), dtype=np.int64)
    stats = rectangle_roi(stored, _ct(stored, 1.0, 0.0, [1.0, 1.0]), (1.1, 1.1), (1.4, 1.4))
    assert stats.pixel_count == 0 and stats.mean is None and stats.sd is None


def test_enhanced_frame_uses_its_own_rescale() -> None:
    stored = np.array([[10, 20], [30, 40]])
    ds = Dataset()
    ds.Modality, ds.NumberOfFrames = "CT", 2
    items = []
    for intercept in (-1000, 500):
        item, transform = Dataset(), Dataset()
        transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = 1, intercept, "HU"
        item.PixelValueTransformationSequence = [transform]
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = items
    square = Calibration(1.0, 1.0, CalibrationSource.CALIBRATED, (1.0, 1.0))
    assert rectangle_roi(stored, ds, (0, 0), (2, 2), frame=1, calibration=square).mean == 25.0 + 500
    assert rectangle_roi(stored, ds, (0, 0), (2, 2), frame=0, calibration=square).mean == 25.0 - 1000


@pytest.mark.parametrize("box", [((10, 20), (40, 35)), ((60, 60), (64, 64))])
def test_ct_test_file_roi_against_pydicom_modality_lut(box: tuple[tuple[int, int], tuple[int, int]]) -> None:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    ds = pydicom.dcmread(path)
    hu = apply_modality_lut(ds.pixel_array, ds)
    (c1, r1), (c2, r2) = box
    values = [
        float(hu[r, c])
        for r in range(ds.Rows)
        for c in range(ds.Columns)
        if c1 <= c + 0.5 <= c2 and r1 <= r + 0.5 <= r2
    ]
    stats = rectangle_roi(ds.pixel_array, ds, (c1, r1), (c2, r2))
    spacing = [float(v) for v in ds.PixelSpacing]
    assert stats.pixel_count == len(values) == (c2 - c1) * (r2 - r1)
    assert math.isclose(stats.mean or 0, statistics.fmean(values))
    assert math.isclose(stats.sd or 0, statistics.stdev(values))
    assert (stats.minimum, stats.maximum) == (min(values), max(values))
    assert math.isclose(stats.area.value, (c2 - c1) * spacing[1] * (r2 - r1) * spacing[0])
    assert calibration_from(ds).source is CalibrationSource.CALIBRATED
