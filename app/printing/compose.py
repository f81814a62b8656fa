"""Composition of one film image (Image Display Format ``STANDARD\\1,1``, PS3.3 C.13.8).

The whole film is one image at the printer's resolution: a header band (patient, study,
institution) over a grid of cells, each cell showing one :class:`~app.printing.print_images.PrintImage`
fitted (whole image, aspect kept) or filled (cell covered, aspect kept, centre kept), with a
calibrated scale bar where the image has a pixel spacing. Gaps and borders take Border Density
(2010,0100), empty cells Empty Image Density (2010,0110) (BLACK = 0, WHITE = full scale, a
number = that density in hundredths of OD on a linear scale to Max Density, default 300). The
same composition feeds the preview, the Print SCU and the PDF/PNG output.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from app.printing.film_sizes import FilmSize, Orientation
from app.printing.film_text import ScaleBar, blend_text, draw_scale, scale_bar
from app.printing.layouts import Layout, Rect, cell_rects
from app.printing.print_images import FilmHeader, PrintImage
from app.printing.profiles import PrinterProfile

FIT = "fit"
FILL = "fill"
HEADER_FRACTION = 0.05  # header band height / film height
GAP_FRACTION = 0.008  # gap between cells / shorter film side
_DEFAULT_MAX_DENSITY = 300
_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class FilmSpec:
    """Everything that decides the composed film image.

    ``columns`` x ``rows`` pixels, ``bits`` 8 or 12, the cell ``layout``, per-cell fit/fill
    (``modes``; missing entries use ``mode``), the border and empty densities and whether to draw
    the header and scale bars. ``dpi`` is kept for the PDF's page size.
    """

    columns: int
    rows: int
    layout: Layout
    bits: int = 8
    dpi: float = 300.0
    mode: str = FIT
    modes: tuple[str, ...] = ()
    border_density: str = "BLACK"
    empty_image_density: str = "BLACK"
    max_density: int | None = None
    header: bool = True
    scale: bool = True
    film_size_id: str = "14INX17IN"
    orientation: str = "PORTRAIT"

    @property
    def full_scale(self) -> int:
        return 2**self.bits - 1

    def cell_mode(self, index: int) -> str:
        return self.modes[index] if index < len(self.modes) else self.mode

    def density_value(self, density: str) -> int:
        """Pixel value (MONOCHROME2) of a density term: BLACK 0, WHITE full scale, else linear in OD."""
        if density == "WHITE":
            return self.full_scale
        if density.isdigit():
            top = self.max_density or _DEFAULT_MAX_DENSITY
            return round(self.full_scale * (1.0 - min(int(density), top) / top))
        return 0

    @property
    def header_height(self) -> int:
        return round(self.rows * HEADER_FRACTION) if self.header else 0

    @property
    def gap(self) -> int:
        return max(2, round(min(self.columns, self.rows) * GAP_FRACTION))

    def cells(self) -> list[Rect]:
        """The cell rectangles (row-major) below the header."""
        area = Rect(0, self.header_height, self.columns, self.rows - self.header_height)
        return cell_rects(area, self.layout, self.gap)


def film_spec(
    profile: PrinterProfile,
    size: FilmSize,
    orientation: Orientation,
    layout: Layout,
    **options: object,
) -> FilmSpec:
    """The :class:`FilmSpec` of ``profile`` for ``size`` in ``orientation`` (its pixels and bit depth)."""
    columns, rows = profile.film_pixels(size, orientation)
    box = profile.film_box
    return FilmSpec(
        columns=columns, rows=rows, layout=layout, bits=profile.bits, dpi=profile.dpi,
        border_density=box.border_density, empty_image_density=box.empty_image_density,
        max_density=box.max_density, film_size_id=size.film_size_id, orientation=orientation.value,
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True, eq=False)
class FilmImage:
    """A composed film: ``pixels`` (uint8 for 8 bits, uint16 for 12), where each cell's image landed, its scale."""

    pixels: np.ndarray
    spec: FilmSpec
    cells: list[Rect]
    shown: list[Rect | None] = field(default_factory=list)
    scales: list[ScaleBar | None] = field(default_factory=list)

    @property
    def bits(self) -> int:
        return self.spec.bits

    def as_8bit(self) -> np.ndarray:
        """The film as 8-bit grey (for PNG/PDF and the preview)."""
        if self.bits == 8:
            return self.pixels
        return np.rint(self.pixels.astype(np.float32) * (255.0 / self.spec.full_scale)).astype(np.uint8)


def placement(image: PrintImage, cell: Rect, mode: str) -> tuple[Rect, tuple[float, float, float, float], float]:
    """Where ``image`` lands in ``cell``: the film rectangle, the source box (left, top, right, bottom) and
    the film pixels per image column.

    The image keeps its physical aspect (pixel height ratio); FIT shows it whole and centred,
    FILL covers the cell and cuts the overflow evenly from both sides.
    """
    rows, columns = image.shape
    height = rows * image.pixel_height_ratio  # in image-column widths
    scale = (max if mode == FILL else min)(cell.width / columns, cell.height / height)
    width_px, height_px = columns * scale, height * scale
    if mode == FILL:
        src_w, src_h = min(columns, cell.width / scale), min(rows, cell.height / (scale * image.pixel_height_ratio))
        left, top = (columns - src_w) / 2, (rows - src_h) / 2
        w, h = min(cell.width, round(width_px)), min(cell.height, round(height_px))
        return Rect(cell.left + (cell.width - w) // 2, cell.top + (cell.height - h) // 2, w, h), \
            (left, top, left + src_w, top + src_h), scale
    w, h = max(1, min(cell.width, round(width_px))), max(1, min(cell.height, round(height_px)))
    return Rect(cell.left + (cell.width - w) // 2, cell.top + (cell.height - h) // 2, w, h), \
        (0.0, 0.0, float(columns), float(rows)), scale


def _resampled(image: PrintImage, bits: int, rect: Rect, box: tuple[float, float, float, float]) -> np.ndarray:
    if bits == 8 and image.bits == 8 and image.pixels.ndim == 2:
        src = Image.fromarray(np.ascontiguousarray(image.pixels), mode="L")
        out = np.asarray(src.resize((rect.width, rect.height), Image.Resampling.BILINEAR, box=box))
        return out
    src = Image.fromarray(np.ascontiguousarray(image.grey(bits)), mode="F")
    resized = np.asarray(src.resize((rect.width, rect.height), Image.Resampling.BILINEAR, box=box))
    return (resized + 0.5).astype(np.uint16)  # bilinear stays within the source's 0..2^bits-1: round only


def compose_film(
    images: Sequence[PrintImage | None], spec: FilmSpec, header: FilmHeader | None = None
) -> FilmImage:
    """Compose ``images`` (row-major, one per cell; None leaves a cell empty) into one film image.

    ``header`` defaults to the first image's :attr:`~PrintImage.header`.
    """
    cells = spec.cells()
    if len(images) > len(cells):
        raise ValueError(f"{len(images)} images do not fit the {len(cells)} cells of layout {spec.layout.name}")
    dtype = np.uint8 if spec.bits == 8 else np.uint16
    film = np.full((spec.rows, spec.columns), spec.density_value(spec.border_density), dtype=dtype)
    empty = spec.density_value(spec.empty_image_density)
    shown: list[Rect | None] = []
    placed: list[tuple[PrintImage, Rect, tuple[float, float, float, float]]] = []
    for index, cell in enumerate(cells):
        image = images[index] if index < len(images) else None
        if image is None:
            film[cell.top : cell.bottom, cell.left : cell.right] = empty
            shown.append(None)
            continue
        mode = spec.cell_mode(index)
        rect, box, _ = placement(image, cell, mode)
        if mode == FIT:
            film[cell.top : cell.bottom, cell.left : cell.right] = empty
        shown.append(rect)
        placed.append((image, rect, box))

    def paint(item: tuple[PrintImage, Rect, tuple[float, float, float, float]]) -> None:
        image, rect, box = item  # cells do not overlap: each thread writes its own pixels
        film[rect.top : rect.bottom, rect.left : rect.right] = _resampled(image, spec.bits, rect, box)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:  # Pillow's resize runs without the GIL
        list(pool.map(paint, placed))
    scales: list[ScaleBar | None] = []
    for index, where in enumerate(shown):
        image = images[index] if index < len(images) else None
        bar = None
        if spec.scale and image is not None and where is not None and image.pixel_spacing is not None:
            bar = scale_bar(where, image.pixel_spacing[1] / placement(image, cells[index], spec.cell_mode(index))[2])
            if bar is not None:
                draw_scale(film, bar, spec.full_scale)
        scales.append(bar)
    header = header if header is not None else next((i.header for i in images if i is not None), None)
    if spec.header and header is not None:
        band = Rect(spec.gap, spec.gap // 2, spec.columns - 2 * spec.gap, spec.header_height - spec.gap // 2)
        lines = header.lines
        size = max(9, int(band.height / (1.25 * max(len(lines), 1))))
        blend_text(film, band, lines, size, spec.full_scale)
    return FilmImage(film, spec, cells, shown, scales)


def paginate(images: Sequence[PrintImage], layout: Layout) -> list[list[PrintImage]]:
    """``images`` in films of ``layout.cells`` (the last one may be partly empty)."""
    n = layout.cells
    return [list(images[i : i + n]) for i in range(0, len(images), n)] or [[]]
