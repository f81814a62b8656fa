"""The text layer of a viewport, computed without Qt: corner text, edge labels, scale bar.

Corner text comes from the per-modality templates (:mod:`app.imaging.corner_text`, defaults in
:mod:`app.imaging.corner_text_defaults`) with the window, zoom and frame in use; the viewer
adds the stack position ("Image 3 / 120") as the last bottom-left line and the active
presentation state's label as the last top-right line. Orientation labels follow the view's
rotation and flip (:mod:`app.imaging.orientation`). The scale bar's length is a round number
of mm (1, 2 or 5 x 10^k) about a fifth of the viewport's width, from the frame's calibration
(:mod:`app.imaging.calibration`); no bar on an uncalibrated image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydicom.dataset import Dataset

from app.imaging.calibration import Calibration, calibration_from
from app.imaging.corner_text import CornerTemplates, CornerText, corner_text
from app.imaging.orientation import EdgeLabels, edge_labels
from app.imaging.spatial import SpatialTransform
from app.imaging.voi_lut import VOI, Window

SCALE_BAR_FRACTION = 0.2


@dataclass(frozen=True)
class ScaleBar:
    """A bar ``length_mm`` long, drawn ``length_px`` widget pixels wide."""

    length_mm: float
    length_px: float

    @property
    def label(self) -> str:
        return f"{self.length_mm:g} mm" if self.length_mm >= 1 else f"{self.length_mm * 1000:g} \N{MICRO SIGN}m"


@dataclass(frozen=True)
class ViewText:
    """Everything the text layer draws over one viewport."""

    corners: CornerText
    edges: EdgeLabels | None
    scale_bar: ScaleBar | None


def round_length(limit: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``limit`` (> 0)."""
    exponent = math.floor(math.log10(limit))
    for mantissa in (5.0, 2.0, 1.0):
        value = mantissa * 10.0**exponent
        if value <= limit:
            return value
    return 10.0**exponent  # pragma: no cover - 1 x 10^floor(log10) is always <= limit


def scale_bar(calibration: Calibration, transform: SpatialTransform, scale: float, width_px: float) -> ScaleBar | None:
    """A horizontal bar for a viewport ``width_px`` wide showing columns at ``scale`` widget px each."""
    if not calibration.is_calibrated or scale <= 0 or width_px <= 0:
        return None
    row_mm, column_mm = calibration.pixel_size
    mm_per_column = row_mm if transform.rotation in (90, 270) else column_mm  # screen x after a quarter turn
    mm_per_widget_px = mm_per_column / scale
    length = round_length(width_px * SCALE_BAR_FRACTION * mm_per_widget_px)
    return ScaleBar(length, length / mm_per_widget_px)


def view_text(
    ds: Dataset,
    frame: int,
    *,
    templates: CornerTemplates | None = None,
    voi: VOI | None = None,
    zoom: float | None = None,
    transform: SpatialTransform | None = None,
    position: tuple[int, int] | None = None,
    presentation_label: str = "",
    scale: float = 0.0,
    width_px: float = 0.0,
) -> ViewText:
    """The text layer of frame ``frame`` of ``ds`` as shown.

    Parameters
    ----------
    position
        (1-based stack position, stack size) for the "Image i / n" line.
    scale, width_px
        Widget pixels per displayed column and the viewport's width, for the scale bar.
    """
    window = (voi.center, voi.width) if isinstance(voi, Window) else None
    corners = corner_text(ds, templates, frame=frame, window=window, zoom=zoom)
    if position is not None:
        corners = CornerText(
            corners.top_left, corners.top_right, (*corners.bottom_left, f"Image {position[0]} / {position[1]}"),
            corners.bottom_right,
        )  # fmt: skip
    if voi is not None and not isinstance(voi, Window):
        corners = CornerText(
            corners.top_left, corners.top_right, corners.bottom_left,
            (*corners.bottom_right, f"VOI LUT {voi.explanation}".strip()),
        )  # fmt: skip
    if presentation_label:
        corners = CornerText(
            corners.top_left, (*corners.top_right, f"PR: {presentation_label}"), corners.bottom_left,
            corners.bottom_right,
        )  # fmt: skip
    transform = transform or SpatialTransform()
    bar = scale_bar(calibration_from(ds, frame), transform, scale, width_px)
    return ViewText(corners, edge_labels(ds, frame, transform), bar)
