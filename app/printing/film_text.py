"""Text and marks drawn on the composed film: the header lines and the calibrated scale bars.

Glyphs come from the same bundled font as the burnt-in annotations
(:func:`app.imaging.text_layer.font`); they are drawn as anti-aliased coverage and blended
into the film image at its full grey value, whatever its bit depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from app.imaging.text_layer import font
from app.printing.layouts import Rect

#: Bar lengths (mm) a scale may show: the longest that fits in :data:`SCALE_FRACTION` of the image.
SCALE_LENGTHS_MM = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0)
SCALE_FRACTION = 0.4


def blend_text(film: np.ndarray, box: Rect, lines: list[str], size: int, value: float) -> None:
    """Draw ``lines`` at ``size`` pixels top-left in ``box`` of ``film`` (in place), clipped to the box."""
    if not lines or box.width < 1 or box.height < 1:
        return
    mask = Image.new("L", (box.width, box.height), 0)
    draw = ImageDraw.Draw(mask)
    f = font(size)
    y = 0
    for line in lines:
        draw.text((0, y), line, fill=255, font=f)
        y += round(size * 1.25)
    alpha = np.asarray(mask, dtype=np.float32) / 255.0
    region = film[box.top : box.bottom, box.left : box.right]
    blended = region.astype(np.float32) * (1.0 - alpha) + value * alpha
    region[...] = np.rint(blended).astype(film.dtype)


@dataclass(frozen=True)
class ScaleBar:
    """A calibrated scale drawn on the film: ``length_mm`` of the patient spans ``length_px`` film pixels."""

    left: int
    top: int
    length_px: int
    length_mm: float

    @property
    def label(self) -> str:
        mm = self.length_mm
        return f"{mm / 10:g} cm" if mm >= 10 else f"{mm:g} mm"


def scale_bar(shown: Rect, mm_per_film_pixel: float) -> ScaleBar | None:
    """The longest bar of :data:`SCALE_LENGTHS_MM` that fits in ``shown`` (the visible image), or None."""
    limit = shown.width * SCALE_FRACTION
    best = None
    for mm in SCALE_LENGTHS_MM:
        if mm / mm_per_film_pixel <= limit:
            best = mm
    if best is None:
        return None
    margin = max(4, shown.height // 40)
    length = round(best / mm_per_film_pixel)
    return ScaleBar(shown.left + margin, shown.bottom - margin, length, best)


def draw_scale(film: np.ndarray, bar: ScaleBar, value: float) -> None:
    """Draw ``bar`` (a line with end ticks and its label above it) on ``film``, in place."""
    rows, columns = film.shape
    thick = max(2, bar.length_px // 60)
    tick = thick * 4
    right = min(bar.left + bar.length_px, columns)
    top = max(bar.top - thick, 0)
    film[top : bar.top, bar.left : right] = value
    for x in (bar.left, right - thick):
        film[max(bar.top - tick, 0) : bar.top, x : x + thick] = value
    size = max(9, tick * 2)
    label_top = max(bar.top - tick - round(size * 1.3), 0)
    blend_text(film, Rect(bar.left + tick, label_top, max(0, min(columns - bar.left - tick, size * 8)),
                          min(round(size * 1.3), rows - label_top)), [bar.label], size, value)
