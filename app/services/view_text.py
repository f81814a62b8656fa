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
import threading
from collections import OrderedDict
from dataclasses import dataclass

from pydicom.dataset import Dataset

from app.imaging.calibration import Calibration, calibration_from
from app.imaging.corner_text import (
    DEFAULT_TEMPLATES,
    CornerTemplates,
    CornerText,
    frame_resolver,
    render_line,
    uses_view_fields,
)
from app.imaging.frames import number_of_frames
from app.imaging.orientation import EdgeLabels, edge_labels
from app.imaging.spatial import SpatialTransform
from app.imaging.voi_lut import VOI, Window

SCALE_BAR_FRACTION = 0.2
_CACHED_FRAMES = 4096

Lines = dict[str, tuple[str | None, ...]]


class CornerTextCache:
    """Corner text lines that depend only on the data set and frame, computed once per frame.

    Lines showing the window or the zoom (:func:`~app.imaging.corner_text.uses_view_fields`)
    are rendered at each call; the others come from the cache. :meth:`prepare` may run on a
    loader thread as data sets arrive, so scrolling only formats the few view lines. Entries
    are keyed by the data set's identity (the entry holds the data set, so the key stays valid).
    The result is what :func:`~app.imaging.corner_text.corner_text` gives.
    """

    def __init__(self, templates: CornerTemplates | None = None) -> None:
        self.templates = templates or DEFAULT_TEMPLATES
        self._lines: OrderedDict[tuple[int, int], tuple[Dataset, Lines]] = OrderedDict()
        self._lock = threading.Lock()

    def _static(self, ds: Dataset, frame: int) -> Lines:
        key = (id(ds), frame)
        with self._lock:
            found = self._lines.get(key)
        if found is not None and found[0] is ds:
            return found[1]
        resolve = frame_resolver(ds, self.templates, frame=frame)
        lines = {
            corner: tuple(None if uses_view_fields(t) else render_line(t, resolve) for t in templates)
            for corner, templates in self.templates.for_modality(str(ds.get("Modality", "") or "")).items()
        }
        with self._lock:
            self._lines[key] = (ds, lines)
            if len(self._lines) > _CACHED_FRAMES:
                self._lines.popitem(last=False)
        return lines

    def prepare(self, ds: Dataset) -> None:
        """Compute the fixed lines of every frame of ``ds`` (safe on a worker thread)."""
        for frame in range(number_of_frames(ds)):
            self._static(ds, frame)

    def corner_text(
        self, ds: Dataset, frame: int, window: tuple[float, float] | None, zoom: float | None
    ) -> CornerText:
        """The corner text of frame ``frame`` of ``ds`` with this window and zoom."""
        static = self._static(ds, frame)
        resolve = None
        out: dict[str, tuple[str, ...]] = {}
        for corner, templates in self.templates.for_modality(str(ds.get("Modality", "") or "")).items():
            rendered: list[str] = []
            for template, line in zip(templates, static[corner], strict=True):
                if uses_view_fields(template):
                    resolve = resolve or frame_resolver(ds, self.templates, frame=frame, window=window, zoom=zoom)
                    line = render_line(template, resolve)
                if line is not None:
                    rendered.append(line)
            out[corner] = tuple(rendered)
        return CornerText(**out)


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
    cache: CornerTextCache | None = None,
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
    cache
        The corner text of the viewport's templates (default: the default templates, nothing kept).
    position
        (1-based stack position, stack size) for the "Image i / n" line.
    scale, width_px
        Widget pixels per displayed column and the viewport's width, for the scale bar.
    """
    window = (voi.center, voi.width) if isinstance(voi, Window) else None
    corners = (cache or CornerTextCache()).corner_text(ds, frame, window, zoom)
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
