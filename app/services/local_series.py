"""A :class:`~app.services.series_source.SeriesSource` over DICOM files on disk.

Used for the temporary Storage SCP's images (a Fetch: the viewer opens the series as soon as
its first image is there and keeps loading while the C-MOVE goes on) and for files opened
without import (a DICOMDIR on media). Files are read with pydicom, each once, in the order
the file list gives them; a file that cannot be read is skipped with a warning.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.net.temporary_area import TemporaryArea
from app.services.cancel import CancelToken
from app.services.series_source import series_title

log = logging.getLogger(__name__)


def _always() -> bool:
    return True


class LocalSeriesSource:
    """Files of one series on disk, possibly still arriving.

    Parameters
    ----------
    title
        Shown in the viewer.
    files
        Returns the series' files known so far (called again while more may come).
    finished
        True once no more files will come (the C-MOVE ended); the default says at once.
    expected
        How many images are expected, when known.
    wait
        ``wait(seen, timeout)`` blocks until more than ``seen`` files may be there; by default
        a short sleep.
    key
        The viewer's matrix key (a Series Instance UID), when known.
    """

    def __init__(
        self, title: str, files: Callable[[], Sequence[Path]], *, finished: Callable[[], bool] = _always,
        expected: int | None = None, wait: Callable[[int, float], object] | None = None, key: str = "",
    ) -> None:
        self.title = title
        self.key = key
        self._files = files
        self._finished = finished
        self._expected = expected
        self._wait = wait or (lambda _seen, timeout: time.sleep(min(timeout, 0.05)))

    @classmethod
    def from_paths(cls, paths: Sequence[Path], title: str = "") -> LocalSeriesSource:
        """A fixed list of files (a series of a DICOMDIR); the title from the first file when not given."""
        fixed = list(paths)
        return cls(title or _title_of(fixed[0]) if fixed else title, lambda: fixed, expected=len(fixed))

    @classmethod
    def from_temporary_area(
        cls, area: TemporaryArea, study: str, series: str, *, finished: Callable[[], bool] = _always,
        expected: int | None = None,
    ) -> LocalSeriesSource:
        """One series of the temporary store; every received copy is an image of its own."""
        first = area.series_images(study, series)
        title = _title_of(first[0].path) if first else ""

        def files() -> list[Path]:
            return [image.path for image in area.series_images(study, series)]

        def wait(_seen: int, timeout: float) -> object:
            return area.wait_for_more(len(area.images()), timeout)

        return cls(title, files, finished=finished, expected=expected, wait=wait, key=series)

    def count_hint(self) -> int | None:
        return self._expected

    def load(self, cancel: CancelToken) -> Iterator[Dataset]:
        """Yield each file's data set once, until ``finished()`` and nothing new came."""
        seen: set[Path] = set()
        while True:
            done = self._finished()  # read before listing, so files of the last moment are not missed
            new = [p for p in self._files() if p not in seen]
            for path in new:
                cancel.raise_if_cancelled()
                seen.add(path)
                try:
                    yield dcmread(path)
                except (InvalidDicomError, OSError, ValueError) as exc:
                    log.warning("skipped an unreadable file of the series: %s", exc)
            if done and not new:
                return
            cancel.raise_if_cancelled()
            if not new:
                self._wait(len(seen), 0.2)


def _title_of(path: Path) -> str:
    try:
        ds = dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError):
        return path.name
    number = ds.get("SeriesNumber")
    try:
        series_number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        series_number = None
    return series_title(str(ds.get("PatientName", "")), str(ds.get("Modality", "")), series_number,
                        str(ds.get("SeriesDescription", "")))
