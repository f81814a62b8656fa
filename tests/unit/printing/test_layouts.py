"""Cell geometry of every layout and orientation on the composed film (app.printing.layouts, compose)."""

from __future__ import annotations

import itertools

import pytest

from app.core.errors import ConfigError
from app.printing.compose import film_spec
from app.printing.film_sizes import FILM_SIZES, Orientation, film_size
from app.printing.layouts import STANDARD_LAYOUTS, Layout, layout
from app.printing.profiles import PrinterProfile

SIZES = ("8INX10IN", "14INX17IN", "A4", "24CMX30CM")


@pytest.mark.parametrize("name", [*STANDARD_LAYOUTS, "3x2", "7x2"])
@pytest.mark.parametrize("orient", list(Orientation))
@pytest.mark.parametrize("size_id", SIZES)
def test_cells_tile_the_film_below_the_header(name: str, orient: Orientation, size_id: str) -> None:
    spec = film_spec(PrinterProfile("p", dpi=150), film_size(size_id), orient, layout(name))
    cells = spec.cells()
    grid = layout(name)
    assert len(cells) == grid.columns * grid.rows
    assert {(c.width, c.height) for c in cells} == {(cells[0].width, cells[0].height)}  # all the same size
    for c in cells:
        assert c.left >= spec.gap and c.right <= spec.columns - spec.gap
        assert c.top >= spec.header_height + spec.gap and c.bottom <= spec.rows - spec.gap
    for a, b in itertools.combinations(cells, 2):  # no overlap, at least one gap apart
        apart_x = b.left >= a.right + spec.gap or a.left >= b.right + spec.gap
        apart_y = b.top >= a.bottom + spec.gap or a.top >= b.bottom + spec.gap
        assert apart_x or apart_y
    # row-major: left to right, then top to bottom
    for r in range(grid.rows):
        row = cells[r * grid.columns : (r + 1) * grid.columns]
        assert [c.left for c in row] == sorted(c.left for c in row) and len({c.top for c in row}) == 1
    # the cells use the film: less than one cell-row/column of spare pixels plus the gaps
    used_w = grid.columns * cells[0].width + (grid.columns + 1) * spec.gap
    used_h = grid.rows * cells[0].height + (grid.rows + 1) * spec.gap
    assert spec.columns - used_w < grid.columns and spec.rows - spec.header_height - used_h < grid.rows


def test_orientation_swaps_the_film_matrix() -> None:
    size = film_size("14INX17IN")
    assert size.pixels_at(300, Orientation.PORTRAIT) == (4200, 5100)
    assert size.pixels_at(300, Orientation.LANDSCAPE) == (5100, 4200)
    a4 = FILM_SIZES["A4"]
    assert a4.pixels_at(254, Orientation.PORTRAIT) == (2100, 2970)  # 10 px per mm


def test_profile_pixel_matrix_wins_over_dpi() -> None:
    profile = PrinterProfile("p", dpi=300, pixels={"14INX17IN": (4096, 5120)})
    assert profile.film_pixels(film_size("14INX17IN"), Orientation.PORTRAIT) == (4096, 5120)
    assert profile.film_pixels(film_size("14INX17IN"), Orientation.LANDSCAPE) == (5120, 4096)
    assert profile.film_pixels(film_size("8INX10IN"), Orientation.PORTRAIT) == (2400, 3000)


def test_layout_parsing() -> None:
    assert layout("4x5") == Layout(4, 5) and layout(" 2 X 3 ").name == "2x3"
    assert layout("4x5").is_standard and not layout("3x2").is_standard
    for bad in ("4", "0x2", "11x1", "axb"):
        with pytest.raises(ConfigError):
            layout(bad)
