"""Film layouts and the geometry of their cells on the composed film image.

A layout is written ``CxR``: C columns by R rows, the order of Image Display Format
``STANDARD\\C,R`` (PS3.3 C.13.8), so ``4x5`` on a portrait 14x17 inch film is four images
across and five down. The film is composed into one image and sent as ``STANDARD\\1,1``;
the layout only places the cells inside that image, left to right, then top to bottom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import ConfigError

MAX_CELLS_PER_SIDE = 10

#: The layouts offered by name; any other ``CxR`` up to :data:`MAX_CELLS_PER_SIDE` is a custom layout.
STANDARD_LAYOUTS = ("1x1", "1x2", "2x2", "2x3", "3x3", "3x4", "4x4", "4x5", "5x6")


@dataclass(frozen=True)
class Layout:
    """``columns`` x ``rows`` cells."""

    columns: int
    rows: int

    @property
    def cells(self) -> int:
        return self.columns * self.rows

    @property
    def name(self) -> str:
        return f"{self.columns}x{self.rows}"

    @property
    def is_standard(self) -> bool:
        return self.name in STANDARD_LAYOUTS


def layout(text: str) -> Layout:
    """Parse ``"CxR"`` (e.g. ``"4x5"``)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX,]\s*(\d+)\s*", text)
    if match is None:
        raise ConfigError(f"Layout {text!r} is not columns x rows; write it like 2x2 or 4x5.")
    columns, rows = int(match.group(1)), int(match.group(2))
    if not (1 <= columns <= MAX_CELLS_PER_SIDE and 1 <= rows <= MAX_CELLS_PER_SIDE):
        raise ConfigError(f"Layout {text!r}: use 1 to {MAX_CELLS_PER_SIDE} columns and rows.")
    return Layout(columns, rows)


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle of the film image: left, top, width, height."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


def cell_rects(area: Rect, grid: Layout, gap: int) -> list[Rect]:
    """The cells of ``grid`` inside ``area``, ``gap`` pixels apart and from the area's edges.

    All cells have the same size (the remainder pixels go to the outer gaps, split evenly), in
    row-major order (left to right, then top to bottom).
    """
    width = (area.width - gap * (grid.columns + 1)) // grid.columns
    height = (area.height - gap * (grid.rows + 1)) // grid.rows
    if width < 1 or height < 1:
        raise ConfigError(f"Layout {grid.name} does not fit a {area.width}x{area.height} film area; use fewer cells.")
    spare_x = area.width - width * grid.columns - gap * (grid.columns + 1)
    spare_y = area.height - height * grid.rows - gap * (grid.rows + 1)
    left0, top0 = area.left + gap + spare_x // 2, area.top + gap + spare_y // 2
    return [
        Rect(left0 + c * (width + gap), top0 + r * (height + gap), width, height)
        for r in range(grid.rows)
        for c in range(grid.columns)
    ]
