"""``lightbox FILE|DIR`` (and a .dcm file or DICOMDIR opened from the desktop): the series to show.

A folder or a DICOMDIR is read as a file set (:func:`app.media.dicomdir_reader.open_file_set`:
its DICOMDIR, or a scan of the folder when it has none) and gives one source per series
(:func:`app.services.media.series_sources`); any other file is one image on its own
(:class:`app.services.local_series.LocalSeriesSource`). Nothing is imported into the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydicom.misc import is_dicom

from app.core.errors import DicomInputError
from app.media.dicomdir_reader import open_file_set
from app.services.local_series import LocalSeriesSource
from app.services.media import series_sources


def sources_for(path: Path) -> list[LocalSeriesSource]:
    """The series of ``path`` (a folder, a DICOMDIR or a DICOM file), without importing them.

    Raises
    ------
    DicomInputError
        The path does not exist or holds no DICOM image (the message says which).
    """
    path = Path(path)
    if not path.exists():
        raise DicomInputError(f"{path} does not exist; give a DICOM file, a DICOMDIR or a folder.")
    if path.is_file() and path.name.upper() != "DICOMDIR":
        if not is_dicom(str(path)):
            raise DicomInputError(f"{path} is not a DICOM file (no DICM preamble); open a DICOM file or a folder.")
        single = LocalSeriesSource.from_paths([path])
        single.key = f"file:{path.resolve()}"  # the viewer's matrix key: this file, not its whole series
        return [single]
    sources: list[LocalSeriesSource] = list(series_sources(open_file_set(path)))
    if not sources:
        raise DicomInputError(f"{path} holds no DICOM series; open a folder with DICOM files or a DICOMDIR.")
    return sources


def sources_for_all(paths: Sequence[Path]) -> tuple[list[LocalSeriesSource], list[str]]:
    """The series of every path, and one message per path that could not be opened."""
    sources: list[LocalSeriesSource] = []
    problems: list[str] = []
    for path in paths:
        try:
            sources.extend(sources_for(path))
        except (DicomInputError, OSError) as exc:
            problems.append(str(exc))
    return sources, problems
