"""Calibration: which attribute gives the pixel size, in the reference's order."""

from __future__ import annotations

import math

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from app.imaging.calibration import CalibrationSource, calibration_from
from app.imaging.spatial import DisplayedArea


def _ds(**attributes: object) -> Dataset:
    ds = Dataset()
    ds.Rows, ds.Columns = 4, 4
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def test_pixel_spacing_is_calibrated_and_wins_over_imager_spacing() -> None:
    cal = calibration_from(_ds(PixelSpacing=[0.5, 0.25], ImagerPixelSpacing=[0.1, 0.1], PixelAspectRatio=[1, 3]))
    assert (cal.row_spacing_mm, cal.column_spacing_mm, cal.source) == (0.5, 0.25, CalibrationSource.CALIBRATED)
    assert cal.is_calibrated and cal.unit == "mm" and cal.pixel_size == (0.5, 0.25)


def test_imager_pixel_spacing_divided_by_the_estimated_magnification() -> None:
    cal = calibration_from(_ds(ImagerPixelSpacing=[0.2, 0.15], EstimatedRadiographicMagnificationFactor="1.25"))
    assert cal.source is CalibrationSource.DETECTOR and cal.magnification_factor == 1.25
    assert math.isclose(cal.row_spacing_mm or 0, 0.16) and math.isclose(cal.column_spacing_mm or 0, 0.12)
    plain = calibration_from(_ds(ImagerPixelSpacing=[0.2, 0.15]))
    assert (plain.row_spacing_mm, plain.column_spacing_mm, plain.magnification_factor) == (0.2, 0.15, None)


@pytest.mark.parametrize("bad", [[0, 0], [-1, 0.5], ["0.5"]])
def test_unusable_pixel_spacing_falls_back_to_the_detector(bad: list[object]) -> None:
    cal = calibration_from(_ds(PixelSpacing=bad, ImagerPixelSpacing=[0.1, 0.1]))
    assert cal.source is CalibrationSource.DETECTOR and cal.row_spacing_mm == 0.1


def test_pixel_aspect_ratio_only_is_uncalibrated_but_aspect_correct() -> None:
    cal = calibration_from(_ds(PixelAspectRatio=[5, 4]))
    assert cal.source is CalibrationSource.NONE and not cal.is_calibrated and cal.unit == "px"
    assert cal.aspect_ratio == (5.0, 4.0) and cal.pixel_size == (1.25, 1.0)
    bare = calibration_from(_ds())
    assert bare.source is CalibrationSource.NONE and bare.pixel_size == (1.0, 1.0)
    assert calibration_from(_ds(), presentation_aspect_ratio=(2, 1)).pixel_size == (2.0, 1.0)


def test_presentation_pixel_spacing_overrides_the_image() -> None:
    area = DisplayedArea((1, 1), (4, 4), "TRUE SIZE", (0.3, 0.2))
    cal = calibration_from(_ds(PixelSpacing=[0.5, 0.5]), displayed_area=area)
    assert (cal.row_spacing_mm, cal.column_spacing_mm, cal.source) == (0.3, 0.2, CalibrationSource.PRESENTATION)
    without = DisplayedArea((1, 1), (4, 4))
    assert calibration_from(_ds(PixelSpacing=[0.5, 0.5]), displayed_area=without).source is CalibrationSource.CALIBRATED


def test_enhanced_frames_take_their_pixel_measures() -> None:
    ds = _ds(NumberOfFrames=2)
    frames = []
    for spacing in ([0.7, 0.7], [0.9, 0.6]):
        item, measures = Dataset(), Dataset()
        measures.PixelSpacing = spacing
        item.PixelMeasuresSequence = [measures]
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = frames
    assert calibration_from(ds, 1).pixel_size == (0.9, 0.6)
    assert calibration_from(ds, 0).pixel_size == (0.7, 0.7)


@pytest.mark.parametrize("name", ["CT_small.dcm", "eCT_Supplemental.dcm"])
def test_test_files_read_their_own_spacing(name: str) -> None:
    path = get_testdata_file(name)
    assert path is not None
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    source = ds if "PixelSpacing" in ds else ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
    expected = tuple(float(v) for v in source.PixelSpacing)
    cal = calibration_from(ds)
    assert cal.source is CalibrationSource.CALIBRATED and cal.pixel_size == expected


def _region(spatial_format: int, units: int, dx: float, dy: float) -> Dataset:
    region = Dataset()
    region.RegionSpatialFormat = spatial_format
    region.PhysicalUnitsXDirection = region.PhysicalUnitsYDirection = units
    region.PhysicalDeltaX, region.PhysicalDeltaY = dx, dy
    return region


def test_ultrasound_regions_in_cm_calibrate_when_they_agree() -> None:
    # 0.02 cm across, 0.03 cm down = 0.2 mm and 0.3 mm; a spectral (format 3) region in seconds is ignored
    regions = [_region(1, 3, 0.02, 0.03), _region(3, 4, 0.01, 5.0), _region(1, 3, 0.02, 0.03)]
    ds = _ds(SequenceOfUltrasoundRegions=regions)
    cal = calibration_from(ds)
    assert cal.source is CalibrationSource.CALIBRATED
    assert math.isclose(cal.row_spacing_mm or 0, 0.3) and math.isclose(cal.column_spacing_mm or 0, 0.2)
    # two 2D regions of different size: no single pixel size
    ds.SequenceOfUltrasoundRegions.append(_region(1, 3, 0.04, 0.04))
    assert calibration_from(ds).source is CalibrationSource.NONE
