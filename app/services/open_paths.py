"""``lightbox FILE|DIR`` (and a .dcm file or DICOMDIR opened from the desktop): the series to show.

A folder or a DICOMDIR is read as a file set (:func:`app.media.dicomdir_reader.open_file_set`:
its DICOMDIR, or a scan of the folder when it has none) and gives one source per series
(:func:`app.services.media.series_sources`). A single DICOM file opens its whole series
(:class:`FileSeriesSource`): the file itself first (the viewer shows the first image that arrives
and keeps it shown while it sorts the rest), then, read while the viewer loads, the other files
of its folder (that folder only, not below it) whose header (:func:`app.media.folder_scan.header_row`,
``stop_before_pixels``; at most :data:`MAX_FOLDER_FILES` files looked at) gives the same Series
Instance UID; the folder's other series follow for the matrix (:func:`more_series`). Paths come
only from listing the folder, never from a value read in a file. Nothing is imported into the server.

These read files: the workstation calls them on workers (:mod:`app.ui.path_opener`).
"""

from __future__ import annotations

import logging
import os
import threading
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
from app.services.series_source import OBJECT_MODALITIES, series_title

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


class FolderScan:
    """The header rows of a DICOM file's folder (:func:`folder_rows`), read once by whichever thread asks first."""

    def __init__(self, chosen: Path, limit: int = MAX_FOLDER_FILES) -> None:
        self.chosen = chosen
        self.limit = limit
        self._lock = threading.Lock()
        self._rows: list[Row] | None = None
        self._problems: list[Problem] = []

    @property
    def done(self) -> bool:
        return self._rows is not None

    def rows(self) -> list[Row]:
        """The rows (``chosen``'s first); an unreadable folder gives ``chosen``'s row alone."""
        with self._lock:
            if self._rows is None:
                try:
                    self._rows, self._problems = folder_rows(self.chosen, self.limit)
                except OSError as exc:
                    log.warning("open %s: its folder cannot be listed (%s)", self.chosen, exc)
                    self._rows = [header_row(self.chosen.parent.resolve(), self.chosen)]
            return self._rows

    def series_sources(self) -> list[LocalSeriesSource]:
        """One source per series of the folder (:func:`app.services.media.series_sources`)."""
        rows = self.rows()
        tree = build_tree(self.chosen.parent.resolve(), rows, self._problems, source="folder scan")
        return list(series_sources(tree))

    def series_paths(self, series_instance_uid: str) -> list[Path]:
        """The files of one series, in Instance Number order."""
        return [r.instance.path for r in self.rows() if r.series.get("series_instance_uid") == series_instance_uid]


class FileSeriesSource(DiscSeriesSource):
    """The series of a DICOM file opened on its own: that file first (the viewer shows it at once and
    keeps it shown), then the other files of its series in its folder, found by a :class:`FolderScan`
    run while loading (on the viewer's worker)."""

    def __init__(self, chosen: Path, row: Row, scan: FolderScan) -> None:
        series = row.series
        try:
            number: int | None = int(series.get("series_number", ""))
        except ValueError:
            number = None
        modality = series.get("modality", "")
        name, description = row.patient.get("patient_name", ""), series.get("series_description", "")
        title = series_title(name, modality, number, description)
        key = series.get("series_instance_uid", "") or f"file:{chosen}"
        super().__init__(title, [chosen], key, modality.strip().upper() not in OBJECT_MODALITIES)
        self.chosen = row.instance.path
        self.scan = scan
        self._files = self._files_so_far
        self._finished = lambda: scan.done
        self._expected = None
        self._asked = False

    def _files_so_far(self) -> list[Path]:
        """The file alone at the first call (shown before the folder is read), then the whole series."""
        if not self._asked:
            self._asked = True
            return [self.chosen]
        return [self.chosen, *(p for p in self.scan.series_paths(self.key) if p != self.chosen)]

    def other_series(self) -> list[LocalSeriesSource]:
        """The other series of the folder (for the matrix; reads the folder when not done yet)."""
        return [s for s in self.scan.series_sources() if s.key != self.key]


def file_series(path: Path, limit: int = MAX_FOLDER_FILES) -> FileSeriesSource:
    """The series of the DICOM file ``path``, the file first (its folder is read while it loads)."""
    folder = path.parent.resolve()
    try:
        row = header_row(folder, path)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise DicomInputError(f"{path} cannot be read as DICOM ({exc}); open another file or its folder.") from exc
    return FileSeriesSource(row.instance.path, row, FolderScan(path, limit))


def more_series(sources: Sequence[LocalSeriesSource]) -> list[LocalSeriesSource]:
    """The other series in the folders of the files among ``sources`` (run on a worker, after opening)."""
    out: list[LocalSeriesSource] = []
    known = {s.key for s in sources}
    for source in sources:
        if isinstance(source, FileSeriesSource):
            for other in source.other_series():
                if other.key not in known:
                    known.add(other.key)
                    out.append(other)
    return out


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
        return [file_series(path, limit)]
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
