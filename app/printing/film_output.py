"""Films written to files: PNG (one per film) and PDF (one page per film), at the film's true size.

Both carry the film's resolution (PNG ``pHYs``, PDF page size = pixels / dpi), so a paper
printer or a viewer shows the film at 14x17 inches, 8x10 inches, ... The pixels are the
composed film's (:class:`~app.printing.compose.FilmImage`), 12-bit films scaled to 8 bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from app.core.errors import ConfigError, StorageError
from app.printing.compose import FilmImage

FORMATS = (".pdf", ".png")


def _image(film: FilmImage) -> Image.Image:
    return Image.fromarray(film.as_8bit(), mode="L")


def png_paths(path: Path, count: int) -> list[Path]:
    """The PNG file of each film: ``path`` for one film, else ``stem-1.png``, ``stem-2.png``, ..."""
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, count + 1)]


def write_films(films: Sequence[FilmImage], path: Path) -> list[Path]:
    """Write ``films`` to ``path`` (``.pdf``: one file, a page per film; ``.png``: a file per film).

    Returns
    -------
    list of Path
        The files written.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"Cannot print to {path.name}: give a file name ending in .pdf or .png.")
    if not films:
        raise ConfigError("There is no film to write; add images first.")
    try:
        if suffix == ".pdf":
            pages = [_image(f) for f in films]
            pages[0].save(path, "PDF", resolution=films[0].spec.dpi, save_all=True, append_images=pages[1:])
            return [path]
        written = []
        for film, target in zip(films, png_paths(path, len(films)), strict=True):
            _image(film).save(target, "PNG", dpi=(film.spec.dpi, film.spec.dpi))
            written.append(target)
        return written
    except OSError as exc:
        raise StorageError(f"Could not write {path}: {exc.strerror or exc}; check the folder and free space.") from exc
