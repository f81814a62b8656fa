"""Pixel calibration: the physical size of a pixel, and where it came from.

Order, as the reference's appendix A uses them: a presentation state's Presentation Pixel
Spacing (0070,0101) (PS3.3 C.10.4) wins; then Pixel Spacing (0028,0030) (per frame from Pixel
Measures Sequence for enhanced multi-frame images, PS3.3 C.7.6.16.2.1); then Imager Pixel
Spacing (0018,1164) at the detector, divided by Estimated Radiographic Magnification Factor
(0018,1114) where present (PS3.3 C.8.11.7, 10.7.1.3); then the 2D regions of an ultrasound
image (Sequence of Ultrasound Regions, PS3.3 C.8.5.5) when they all give the same physical
size in cm; else no calibration, but Pixel Aspect
Ratio (0028,0034) (or Presentation Pixel Aspect Ratio (0070,0102)) keeps measurements
aspect-correct. Spacing values are (row spacing, column spacing): the distance between the
centres of adjacent rows, then of adjacent columns, in mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from pydicom.dataset import Dataset

from app.imaging.functional_groups import frame_value, group_value
from app.imaging.spatial import DisplayedArea


class CalibrationSource(StrEnum):
    """Where a pixel size came from."""

    PRESENTATION = "presentation"  # Presentation Pixel Spacing of a presentation state
    CALIBRATED = "calibrated"  # Pixel Spacing: in the patient
    DETECTOR = "detector"  # Imager Pixel Spacing: at the detector (magnification-corrected when known)
    NONE = "none"  # no physical size; the aspect ratio still holds


@dataclass(frozen=True)
class Calibration:
    """The pixel size of one frame.

    Attributes
    ----------
    row_spacing_mm, column_spacing_mm
        Distance between adjacent rows / columns in mm, or None when uncalibrated.
    source
        Where they came from (:class:`CalibrationSource`).
    aspect_ratio
        (vertical, horizontal) pixel size ratio; from the spacing when calibrated.
    magnification_factor
        The Estimated Radiographic Magnification Factor the detector spacing was divided by.
    """

    row_spacing_mm: float | None
    column_spacing_mm: float | None
    source: CalibrationSource
    aspect_ratio: tuple[float, float] = (1.0, 1.0)
    magnification_factor: float | None = None

    @property
    def is_calibrated(self) -> bool:
        """True when the spacing is known in mm."""
        return self.row_spacing_mm is not None and self.column_spacing_mm is not None

    @property
    def unit(self) -> str:
        """"mm" when calibrated, else "px" (lengths in widths of one pixel column)."""
        return "mm" if self.is_calibrated else "px"

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(height, width) of one pixel in :attr:`unit` (uncalibrated: width 1, height by aspect)."""
        if self.row_spacing_mm is not None and self.column_spacing_mm is not None:
            return self.row_spacing_mm, self.column_spacing_mm
        vertical, horizontal = self.aspect_ratio
        return vertical / horizontal, 1.0


def _pair(value: object) -> tuple[float, float] | None:
    """Two positive finite numbers, or None."""
    if value is None or isinstance(value, bytes):
        return None
    try:
        parts = value.split("\\") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        numbers = tuple(float(v) for v in parts)
    except (TypeError, ValueError):
        return None
    if len(numbers) != 2 or not all(math.isfinite(v) and v > 0 for v in numbers):
        return None
    return numbers[0], numbers[1]


def _factor(value: object) -> float | None:
    try:
        factor = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return factor if math.isfinite(factor) and factor > 0 else None


_CM = 3  # Physical Units X/Y Direction (0018,6024/6026): 3 = cm (PS3.3 C.8.5.5.1.15)
_REGION_2D = 1  # Region Spatial Format (0018,6012): 1 = 2D (tissue or flow)


def _ultrasound_spacing(ds: Dataset) -> tuple[float, float] | None:
    """(row, column) mm per pixel shared by every 2D ultrasound region measured in cm, or None."""
    sizes = set()
    for region in ds.get("SequenceOfUltrasoundRegions") or []:
        if region.get("RegionSpatialFormat") != _REGION_2D:
            continue
        if region.get("PhysicalUnitsXDirection") != _CM or region.get("PhysicalUnitsYDirection") != _CM:
            continue
        dy, dx = _factor(abs(region.get("PhysicalDeltaY", 0))), _factor(abs(region.get("PhysicalDeltaX", 0)))
        if dy is None or dx is None:
            continue
        sizes.add((round(dy * 10.0, 9), round(dx * 10.0, 9)))
    return sizes.pop() if len(sizes) == 1 else None


def calibration_from(
    ds: Dataset,
    frame: int = 0,
    displayed_area: DisplayedArea | None = None,
    presentation_aspect_ratio: tuple[float, float] | None = None,
) -> Calibration:
    """The calibration of frame ``frame`` (0-based) of ``ds``.

    Parameters
    ----------
    ds
        The image.
    displayed_area
        The presentation state's displayed area for this frame; its Presentation Pixel
        Spacing overrides the image's (PS3.3 C.10.4).
    presentation_aspect_ratio
        Presentation Pixel Aspect Ratio (0070,0102) of the presentation state, used when
        nothing gives a spacing.
    """
    spacing = _pair(displayed_area.pixel_spacing) if displayed_area is not None else None
    if spacing is not None:
        return Calibration(spacing[0], spacing[1], CalibrationSource.PRESENTATION, spacing)
    spacing = _pair(group_value(ds, frame, "PixelMeasuresSequence", "PixelSpacing"))
    if spacing is None:
        spacing = _pair(ds.get("PixelSpacing"))
    if spacing is not None:
        return Calibration(spacing[0], spacing[1], CalibrationSource.CALIBRATED, spacing)
    imager = _pair(frame_value(ds, frame, "ImagerPixelSpacing"))
    if imager is not None:
        factor = _factor(frame_value(ds, frame, "EstimatedRadiographicMagnificationFactor"))
        row, column = (imager[0] / factor, imager[1] / factor) if factor else imager
        return Calibration(row, column, CalibrationSource.DETECTOR, imager, factor)
    regions = _ultrasound_spacing(ds)
    if regions is not None:
        return Calibration(regions[0], regions[1], CalibrationSource.CALIBRATED, regions)
    aspect = _pair(presentation_aspect_ratio) or _pair(ds.get("PixelAspectRatio")) or (1.0, 1.0)
    return Calibration(None, None, CalibrationSource.NONE, aspect)
