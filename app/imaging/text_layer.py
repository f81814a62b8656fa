"""Text objects of a presentation state rasterised in the displayed frame (PS3.3 C.10.5.1.1).

A text object has a bounding box, an anchor point, or both. With a bounding box the text is
fitted inside it (wrapped at spaces, the largest size that fits, at most a sixteenth of the
frame's height so a large box does not give giant letters, at least :data:`MIN_SIZE` pixels,
clipped to the box when even that does not fit) and justified horizontally as Bounding Box
Text Horizontal Justification (0070,0012) says. A PIXEL-unit box is carried through the
displayed area and the spatial transform; its transformed corners span the box the text is
upright in (text stays readable, it is never rotated or mirrored). With only an anchor point
the text is placed beside it, inside the frame. An Anchor Point Visibility of Y draws a line
from the box's nearest edge point to the anchor.

Glyphs come from Pillow's bundled scalable font (``ImageFont.load_default(size=...)``,
FreeType) and are returned as coverage (0..1), anti-aliased.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.imaging.annotations import GraphicObject, TextObject, rasterise
from app.imaging.view_geometry import ViewGeometry

MIN_SIZE = 9  # pixels: below this the bundled font is no longer legible
_HEIGHT_FRACTION = 16  # largest text: the frame's height / 16
_ANCHOR_FRACTION = 28  # text beside an anchor point: the frame's height / 28


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels (cached)."""
    return ImageFont.load_default(size=size)


def _line_height(size: int) -> int:
    f = font(size)
    if isinstance(f, ImageFont.FreeTypeFont):
        ascent, descent = f.getmetrics()
        return int(ascent + descent)
    return size


def _width(text: str, size: int) -> float:
    return float(font(size).getlength(text))


def wrap(text: str, size: int, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` at ``size`` (at spaces; its own line breaks kept)."""
    out: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and _width(candidate, size) > width:
                out.append(line)
                line = word
            else:
                line = candidate
        out.append(line)
    return out


def fit(text: str, width: float, height: float, largest: int) -> tuple[int, list[str]]:
    """The largest size (``MIN_SIZE``..``largest``) at which ``text`` wraps into ``width`` x ``height``.

    A binary search over the sizes (the wrapped text grows with the size); ``MIN_SIZE`` when
    nothing fits (the text is then clipped to the box).
    """

    def fits(size: int) -> list[str] | None:
        lines = wrap(text, size, width)
        if len(lines) * _line_height(size) <= height and all(_width(line, size) <= width for line in lines):
            return lines
        return None

    low, high = MIN_SIZE, max(largest, MIN_SIZE)
    best = fits(low)
    if best is None:
        return MIN_SIZE, wrap(text, MIN_SIZE, width)
    while low < high:  # invariant: ``low`` fits
        middle = (low + high + 1) // 2
        lines = fits(middle)
        if lines is not None:
            low, best = middle, lines
        else:
            high = middle - 1
    return low, best


@dataclass(frozen=True)
class Placement:
    """Where a text object goes in the displayed frame (continuous x, y coordinates)."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    size: int
    lines: tuple[str, ...]
    anchor: tuple[float, float] | None


def place(text: TextObject, geometry: ViewGeometry) -> Placement | None:
    """The box, size and lines of ``text`` in the displayed frame; None when it has neither box nor anchor."""
    rows, columns = geometry.shape
    largest = max(MIN_SIZE, round(rows / _HEIGHT_FRACTION))
    anchor = geometry.point(text.anchor, text.anchor_units) if text.anchor is not None else None
    if text.bounding_box is not None:
        (x1, y1), (x2, y2) = (geometry.point(p, text.box_units) for p in text.bounding_box)
        left, right = sorted((x1, x2))
        top, bottom = sorted((y1, y2))
        size, lines = fit(text.text, right - left, bottom - top, largest)
        return Placement((left, top, right, bottom), size, tuple(lines), anchor)
    if anchor is None:
        return None
    size = max(MIN_SIZE, round(rows / _ANCHOR_FRACTION))
    lines = wrap(text.text, size, columns / 2)
    width = max(_width(line, size) for line in lines) + 1
    height = len(lines) * _line_height(size)
    gap = size / 2
    ax, ay = anchor
    left = ax + gap if ax + gap + width <= columns else ax - gap - width
    top = ay + gap if ay + gap + height <= rows else ay - gap - height
    left, top = min(max(left, 0.0), max(columns - width, 0.0)), min(max(top, 0.0), max(rows - height, 0.0))
    return Placement((left, top, left + width, top + height), size, tuple(lines), anchor)


def box_pixels(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """First and past-the-end (column, row) of the pixels whose centres lie inside ``box``."""
    left, top, right, bottom = box
    c0, r0 = int(np.ceil(left - 0.5)), int(np.ceil(top - 0.5))
    c1, r1 = int(np.floor(right - 0.5)) + 1, int(np.floor(bottom - 0.5)) + 1
    return c0, r0, max(c1, c0), max(r1, r0)


def coverage(text: TextObject, geometry: ViewGeometry) -> np.ndarray:
    """The text (and its anchor line) as coverage 0..1 (float32) over the displayed frame."""
    shape = geometry.shape
    out = np.zeros(shape, dtype=np.float32)
    placement = place(text, geometry)
    if placement is None:
        return out
    c0, r0, c1, r1 = box_pixels(placement.box)
    if c1 > c0 and r1 > r0:
        glyphs = Image.new("L", (c1 - c0, r1 - r0), 0)
        draw = ImageDraw.Draw(glyphs)
        step = _line_height(placement.size)
        f = font(placement.size)
        for i, line in enumerate(placement.lines):
            spare = (c1 - c0) - _width(line, placement.size)
            x = spare if text.justification == "RIGHT" else spare / 2 if text.justification == "CENTER" else 0.0
            draw.text((max(x, 0.0), i * step), line, font=f, fill=255)
        drawn = np.asarray(glyphs, dtype=np.float32) / 255.0
        # the box may leave the frame: keep the part inside it
        top, left = max(r0, 0), max(c0, 0)
        bottom, right = min(r1, shape[0]), min(c1, shape[1])
        if bottom > top and right > left:
            out[top:bottom, left:right] = drawn[top - r0 : bottom - r0, left - c0 : right - c0]
    if text.anchor_visible and placement.anchor is not None:
        out[anchor_line(placement.box, placement.anchor, shape)] = 1.0
    return out


def anchor_line(
    box: tuple[float, float, float, float], anchor: tuple[float, float], shape: tuple[int, int]
) -> np.ndarray:
    """The pixels of the line from the box's nearest point to the anchor (none when the anchor is inside)."""
    left, top, right, bottom = box
    ax, ay = anchor
    nearest = (min(max(ax, left), right), min(max(ay, top), bottom))
    if nearest == (ax, ay):
        return np.zeros(shape, dtype=bool)
    return rasterise(GraphicObject("POLYLINE", (nearest, (ax, ay))), shape)
