"""``lightbox FILE|DIR`` (and a .dcm file or DICOMDIR opened from the desktop): the series to show.

A folder or a DICOMDIR is read as a file set (:func:`app.media.dicomdir_reader.open_file_set`:
its DICOMDIR, or a scan of the folder when it has none) and gives one source per series
(:func:`app.services.media.series_sources`). A single DICOM file opens its whole series: the
other files of its folder (that folder only, not below it) are read header only
(:func:`app.media.folder_scan.header_row`, at most :data:`MAX_FOLDER_FILES` of them) and grouped
by Series Instance UID; the file's own series comes first, with the file first in it (the viewer
shows the first image that arrives and keeps it shown while it sorts the rest), and the
folder's other series follow for the matrix. Paths come only from listing the folder, never
from a value read in a file. Nothing is imported into the server.

These read files: the workstation calls them on a worker (:mod:`app.ui.path_opener`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from pydicom.errors import InvalidDicomError
from pydicom.misc import is_dicom

from app.core.errors import DicomInputError
from app.media.dicomdir_reader import open_file_set
from app.media.folder_scan import header_row
from app.media.paths import is_inside
from app.media.tree import Problem, Row, build_tree
from app.services.local_series import LocalSeriesSource
from app.services.media import DiscSeriesSource, series_sources

log = logging.getLogger(__name__)

#: How many other files of a DICOM file's folder are looked at for its series (the rest are left out).
MAX_FOLDER_FILES = 5000


def folder_rows(chosen: Path, limit: int = MAX_FOLDER_FILES) -> tuple[list[Row], list[Problem]]:
    """The header rows of ``chosen`` (first) and of the other DICOM files in its folder (at most ``limit``).

    Only regular files directly in the folder are read (no subfolders; a link is followed only
    when it stays in the folder), each header only (``stop_before_pixels``).

    Raises
    ------
    InvalidDicomError, OSError, ValueError
        When ``chosen`` itself cannot be read as DICOM.
    """
    folder = chosen.parent.resolve()
    first = header_row(folder, chosen)
    rows, problems = [first], []
    looked = 0
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_file() and e.name.upper() != "DICOMDIR")
    for name in names:
        path = folder / name
        if path.resolve() == first.instance.path:
            continue
        if looked >= limit:
            problems.append(Problem(".", f"only {limit} files of the folder were looked at; the rest are left out"))
            log.info("open %s: only the first %d files of its folder were read", chosen, limit)
            break
        looked += 1
        if path.is_symlink() and not is_inside(folder, path):
            continue
        try:
            rows.append(header_row(folder, path))
        except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError):
            continue  # not DICOM (a text file, a thumbnail...): not part of any series
    return rows, problems


def file_series(path: Path, limit: int = MAX_FOLDER_FILES) -> list[LocalSeriesSource]:
    """The series of the DICOM file ``path`` (first, the file first in it) and the folder's other series."""
    try:
        rows, problems = folder_rows(path, limit)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise DicomInputError(f"{path} cannot be read as DICOM ({exc}); open another file or its folder.") from exc
    tree = build_tree(path.parent.resolve(), rows, problems, source="folder scan")
    chosen = rows[0].instance.path
    own = rows[0].series.get("series_instance_uid", "")
    sources: list[LocalSeriesSource] = []
    for source in series_sources(tree):
        if source.key == own:  # its files with the one opened first: the viewer shows that one
            found = tree.series_of(own)
            others = [i.path for i in found[2].instances if i.path != chosen] if found else []
            sources.insert(0, DiscSeriesSource(source.title, [chosen, *others], own, source.is_image))
        else:
            sources.append(source)
    return sources


def sources_for(path: Path, limit: int = MAX_FOLDER_FILES) -> list[LocalSeriesSource]:
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
        return file_series(path, limit)
    sources: list[LocalSeriesSource] = list(series_sources(open_file_set(path)))
    if not sources:
        raise DicomInputError(f"{path} holds no DICOM series; open a folder with DICOM files or a DICOMDIR.")
    return sources


def sources_for_all(paths: Sequence[Path]) -> tuple[list[LocalSeriesSource], list[str]]:
    """The series of every path (each series once, the first path's first), and one message per path
    that could not be opened."""
    sources: list[LocalSeriesSource] = []
    seen: set[str] = set()
    problems: list[str] = []
    for path in paths:
        try:
            found = sources_for(path)
        except (DicomInputError, OSError) as exc:
            problems.append(str(exc))
            continue
        for source in found:
            if source.key not in seen:
                seen.add(source.key)
                sources.append(source)
    return sources, problems
