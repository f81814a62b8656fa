"""Film sizes (Film Size ID (2010,0050), PS3.3 C.13.8) and their pixel matrix at a printer's resolution.

Sizes are stored portrait (width <= height); Film Orientation (2010,0040) LANDSCAPE swaps them
(PS3.3 C.13.8: the film's long edge horizontal).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.core.errors import ConfigError

MM_PER_INCH = 25.4


class Orientation(StrEnum):
    """Film Orientation (2010,0040), PS3.3 C.13.8."""

    PORTRAIT = "PORTRAIT"
    LANDSCAPE = "LANDSCAPE"


@dataclass(frozen=True)
class FilmSize:
    """A Film Size ID and its portrait width and height in mm."""

    film_size_id: str
    width_mm: float
    height_mm: float

    def size_mm(self, orientation: Orientation) -> tuple[float, float]:
        """(width, height) in mm as the film lies in ``orientation``."""
        if orientation is Orientation.LANDSCAPE:
            return self.height_mm, self.width_mm
        return self.width_mm, self.height_mm

    def pixels_at(self, dpi: float, orientation: Orientation) -> tuple[int, int]:
        """(columns, rows) of the whole film at ``dpi`` dots per inch, in ``orientation``."""
        width, height = self.size_mm(orientation)
        return round(width / MM_PER_INCH * dpi), round(height / MM_PER_INCH * dpi)


def _inches(film_size_id: str, width: float, height: float) -> FilmSize:
    return FilmSize(film_size_id, width * MM_PER_INCH, height * MM_PER_INCH)


#: The Defined Terms of Film Size ID (PS3.3 C.13.8), in the order a user picks them.
FILM_SIZES: dict[str, FilmSize] = {
    f.film_size_id: f
    for f in (
        _inches("8INX10IN", 8, 10),
        _inches("8_5INX11IN", 8.5, 11),
        _inches("10INX12IN", 10, 12),
        _inches("10INX14IN", 10, 14),
        _inches("11INX14IN", 11, 14),
        _inches("11INX17IN", 11, 17),
        _inches("14INX14IN", 14, 14),
        _inches("14INX17IN", 14, 17),
        FilmSize("24CMX24CM", 240.0, 240.0),
        FilmSize("24CMX30CM", 240.0, 300.0),
        FilmSize("A4", 210.0, 297.0),
        FilmSize("A3", 297.0, 420.0),
    )
}


def film_size(film_size_id: str) -> FilmSize:
    """The :class:`FilmSize` called ``film_size_id`` (case-insensitive)."""
    found = FILM_SIZES.get(film_size_id.strip().upper())
    if found is None:
        raise ConfigError(f"Film size {film_size_id!r} is unknown; use one of {', '.join(FILM_SIZES)} (PS3.3 C.13.8).")
    return found


def orientation(value: str) -> Orientation:
    """An :class:`Orientation` from its DICOM term (case-insensitive)."""
    try:
        return Orientation(value.strip().upper())
    except ValueError:
        raise ConfigError(f"Film orientation {value!r} is unknown; use PORTRAIT or LANDSCAPE.") from None
