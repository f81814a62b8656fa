"""Composition of one film image: aspect, fit/fill, calibrated scale, 8 vs 12 bit, densities, header."""

from __future__ import annotations

import numpy as np
import pytest

from app.printing.compose import FILL, FIT, FilmSpec, compose_film, paginate, placement
from app.printing.film_text import SCALE_FRACTION, SCALE_LENGTHS_MM
from app.printing.layouts import Layout, Rect
from app.printing.print_images import FilmHeader, PrintImage


def _spec(**kw: object) -> FilmSpec:
    base: dict[str, object] = {"columns": 1200, "rows": 1500, "layout": Layout(2, 2), "header": False, "scale": False}
    base.update(kw)
    return FilmSpec(**base)  # type: ignore[arg-type]


def _image(rows: int, columns: int, value: int = 200, **kw: object) -> PrintImage:
    return PrintImage(np.full((rows, columns), value, dtype=np.uint8), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("rows", "columns", "spacing"), [(256, 512, None), (512, 256, None), (300, 300, (0.5, 1.0))])
def test_fit_keeps_the_physical_aspect_inside_the_cell(rows: int, columns: int, spacing: object) -> None:
    image = _image(rows, columns, pixel_spacing=spacing)
    spec = _spec()
    film = compose_film([image], spec)
    cell, shown = film.cells[0], film.shown[0]
    assert shown is not None
    physical = rows * image.pixel_height_ratio / columns
    assert shown.height / shown.width == pytest.approx(physical, abs=2 / min(shown.width, shown.height))
    assert shown.left >= cell.left and shown.right <= cell.right and shown.top >= cell.top
    assert shown.width == cell.width or shown.height == cell.height  # as large as the cell allows
    # the image pixels land exactly in the reported rectangle; the rest of the cell is empty (BLACK)
    block = film.pixels[cell.top : cell.bottom, cell.left : cell.right]
    assert (film.pixels[shown.top : shown.bottom, shown.left : shown.right] == 200).all()
    assert (block == 0).sum() == cell.width * cell.height - shown.width * shown.height


def test_fill_covers_the_cell_and_keeps_the_centre() -> None:
    arr = np.zeros((200, 400), dtype=np.uint8)
    arr[:, 150:250] = 255  # a bright band in the middle of a wide image
    film = compose_film([PrintImage(arr)], _spec(mode=FILL))
    cell, shown = film.cells[0], film.shown[0]
    assert shown == cell
    block = film.pixels[cell.top : cell.bottom, cell.left : cell.right].astype(int)
    # the image is scaled to cover the cell and its centre kept: the band lands where that says
    scale = max(cell.width / 400, cell.height / 200)
    visible = cell.width / scale  # image columns across the cell
    bright = np.flatnonzero(block[cell.height // 2] > 127)
    assert bright[0] == pytest.approx((150 - (400 - visible) / 2) * scale, abs=2)
    assert bright[-1] - bright[0] + 1 == pytest.approx(100 * scale, abs=2)
    assert block[:, 0].max() == 0 and block[:, -1].max() == 0  # the dark sides are cut evenly


def test_fill_with_non_square_pixels_keeps_the_physical_aspect() -> None:
    arr = np.zeros((100, 100), dtype=np.uint8)
    arr[40:60, 40:60] = 255  # a square of 20 x 20 pixels, 40 mm wide and 20 mm tall (rows 1 mm, columns 2 mm)
    film = compose_film([PrintImage(arr, pixel_spacing=(1.0, 2.0))], _spec(mode=FILL, layout=Layout(1, 1)))
    cell = film.cells[0]
    block = film.pixels[cell.top : cell.bottom, cell.left : cell.right] > 127
    rows, cols = np.flatnonzero(block.any(axis=1)), np.flatnonzero(block.any(axis=0))
    width, height = cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    assert width / height == pytest.approx(2.0, rel=0.03)  # drawn as on the patient
    assert (rows[0] + rows[-1]) / 2 == pytest.approx(cell.height / 2, abs=2)  # centred
    assert (cols[0] + cols[-1]) / 2 == pytest.approx(cell.width / 2, abs=2)


def test_per_cell_modes() -> None:
    images = [_image(100, 200), _image(100, 200)]
    film = compose_film(images, _spec(modes=(FIT, FILL)))
    assert film.shown[0] != film.cells[0] and film.shown[1] == film.cells[1]


def test_calibrated_scale_bar_has_its_physical_length() -> None:
    image = _image(512, 512, pixel_spacing=(0.7, 0.7))
    film = compose_film([image], _spec(scale=True))
    bar, shown = film.scales[0], film.shown[0]
    assert bar is not None and shown is not None
    mm_per_film_pixel = 0.7 * 512 / shown.width
    assert bar.length_px * mm_per_film_pixel == pytest.approx(bar.length_mm, abs=mm_per_film_pixel)
    assert bar.length_mm in SCALE_LENGTHS_MM and bar.length_px <= shown.width * SCALE_FRACTION
    # the next longer bar would not fit in the fraction of the image
    longer = [mm for mm in SCALE_LENGTHS_MM if mm > bar.length_mm]
    assert not longer or longer[0] / mm_per_film_pixel > shown.width * SCALE_FRACTION
    row = film.pixels[bar.top - 1, bar.left : bar.left + bar.length_px]
    assert (row == 255).all()  # the line is drawn at full scale


def test_uncalibrated_image_gets_no_scale() -> None:
    film = compose_film([_image(64, 64)], _spec(scale=True))
    assert film.scales[0] is None and film.shown[0] is not None


def test_12_bit_film_keeps_12_bit_levels() -> None:
    ramp = np.tile(np.arange(4096, dtype=np.uint16), (64, 1))
    deep = PrintImage(ramp, bits=12)
    film12 = compose_film([deep], _spec(bits=12, layout=Layout(1, 1), columns=4200, rows=300))
    film8 = compose_film([deep], _spec(bits=8, layout=Layout(1, 1), columns=4200, rows=300))
    assert film12.pixels.dtype == np.uint16 and film12.pixels.max() == 4095
    assert film8.pixels.dtype == np.uint8 and film8.pixels.max() == 255
    shown = film12.shown[0]
    assert shown is not None
    assert len(np.unique(film12.pixels[shown.top : shown.bottom, shown.left : shown.right])) > 1024
    assert len(np.unique(film8.pixels)) <= 256
    # an 8-bit image on a 12-bit film: full scale stays full scale
    white = compose_film([_image(10, 10, 255)], _spec(bits=12, layout=Layout(1, 1)))
    assert white.pixels.max() == 4095 and white.as_8bit().max() == 255


@pytest.mark.parametrize(("density", "bits", "value"), [("BLACK", 8, 0), ("WHITE", 8, 255), ("WHITE", 12, 4095),
                                                        ("150", 8, 128)])
def test_border_and_empty_densities(density: str, bits: int, value: int) -> None:
    spec = _spec(bits=bits, border_density=density, empty_image_density="WHITE" if density == "BLACK" else "BLACK")
    film = compose_film([], spec)
    assert film.pixels[0, 0] == value  # border
    cell = film.cells[0]
    assert film.pixels[cell.top + 1, cell.left + 1] == spec.density_value(spec.empty_image_density)


def test_header_text_is_drawn_in_the_header_band_only() -> None:
    header = FilmHeader("DOE, JANE   P123", "2024-01-02   CT HEAD", "General Hospital")
    with_header = compose_film([_image(50, 50, 0)], _spec(header=True), header)
    band = with_header.pixels[: with_header.spec.header_height]
    assert (band > 128).sum() > 200  # text pixels
    without = compose_film([_image(50, 50, 0)], _spec(header=True))  # no header given and none on the image
    assert (without.pixels[: without.spec.header_height] == 0).all()
    assert with_header.cells[0].top >= with_header.spec.header_height


def test_rgb_images_print_as_luminance() -> None:
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    film = compose_film([PrintImage(rgb)], _spec(layout=Layout(1, 1)))
    shown = film.shown[0]
    assert shown is not None
    assert film.pixels[shown.top + shown.height // 2, shown.left + shown.width // 2] == round(255 * 0.587)


def test_pages() -> None:
    images = [_image(4, 4) for _ in range(9)]
    pages = paginate(images, Layout(2, 2))
    assert [len(p) for p in pages] == [4, 4, 1]
    with pytest.raises(ValueError):
        compose_film(images[:5], _spec())


def test_placement_of_a_tall_image_in_a_wide_cell() -> None:
    rect, box, scale = placement(_image(400, 100), Rect(0, 0, 300, 200), FIT)
    assert (rect.width, rect.height) == (50, 200) and rect.left == 125 and scale == pytest.approx(0.5)
    assert box == (0.0, 0.0, 100.0, 400.0)
