"""Media import (File-set Reader): a disc's tree, its selection imported into the server, or opened as is.

- :func:`open_media` reads a folder, a drive's mount point, a DICOMDIR or an ISO image (extracted
  to a temporary folder first) into a :class:`~app.media.tree.MediaTree`.
- :func:`import_instances` sends the selected files to the server by STOW-RS (PS3.18 10.5) in
  small batches. Each batch is stored by the server as it arrives, so a cancel or a lost server
  keeps everything sent before; the :class:`ImportReport` lists what was imported, what was
  refused or unreadable (with the reason), and what was not tried.
- :func:`series_sources` opens the selection in the viewer without importing it (one
  :class:`~app.services.local_series.LocalSeriesSource` per series).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from io import BytesIO
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from app.core.errors import AppError
from app.media.dicomdir_reader import open_file_set
from app.media.iso_image import extract_iso, is_iso_image
from app.media.tree import MediaInstance, MediaTree, Problem, Selection
from app.services.cancel import CancelledError, CancelToken, Progress
from app.services.local_series import LocalSeriesSource
from app.services.series_source import OBJECT_MODALITIES, series_title, thumbnail_array
from app.services.studies import StudyService

log = logging.getLogger(__name__)

#: Instances per STOW-RS request, and bytes per request at most (whichever comes first).
BATCH_INSTANCES = 16
BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class OpenedMedia:
    """A disc opened for reading; :meth:`close` removes the folder an ISO image was extracted to."""

    source: Path
    tree: MediaTree
    extracted: Path | None = None

    def close(self) -> None:
        if self.extracted is not None:
            shutil.rmtree(self.extracted, ignore_errors=True)
            self.extracted = None

    def __enter__(self) -> OpenedMedia:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_media(path: Path) -> OpenedMedia:
    """Read a folder, a DICOMDIR or an ISO image into a tree (see :func:`~app.media.dicomdir_reader.open_file_set`)."""
    path = Path(path)
    if path.is_file() and is_iso_image(path):
        folder = Path(tempfile.mkdtemp(prefix="lightbox-iso-"))
        try:
            extract_iso(path, folder)
            return OpenedMedia(path, open_file_set(folder), folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return OpenedMedia(path, open_file_set(path))


@dataclass(frozen=True)
class ImportReport:
    """What an import did: imported SOP Instance UIDs, failures with reasons, and what was not tried."""

    imported: tuple[str, ...] = ()
    failed: tuple[Problem, ...] = ()
    not_tried: tuple[str, ...] = ()  # file IDs left when the import stopped
    stopped: str = ""  # why it stopped early ("cancelled", or the server error), "" when it ran to the end
    disc_problems: tuple[Problem, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.failed and not self.not_tried and not self.stopped

    def summary(self) -> str:
        lines = [f"Imported {len(self.imported)} object(s)."]
        if self.failed:
            lines.append(f"Not imported: {len(self.failed)} object(s):")
            lines += [f"  {p.where}: {p.reason}" for p in self.failed]
        if self.stopped:
            lines.append(f"The import stopped ({self.stopped}); {len(self.not_tried)} object(s) were not tried. "
                         "Everything imported before that is kept on the server.")  # fmt: skip
        if self.disc_problems:
            lines.append(f"On the disc: {len(self.disc_problems)} problem(s):")
            lines += [f"  {p.where}: {p.reason}" for p in self.disc_problems]
        return "\n".join(lines)


def _read(instance: MediaInstance) -> tuple[bytes, str]:
    """The file's bytes and its SOP Instance UID (the header is checked to be DICOM)."""
    data = instance.path.read_bytes()
    header = dcmread(BytesIO(data), stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
    uid = str(header.get("SOPInstanceUID", "") or header.file_meta.get("MediaStorageSOPInstanceUID", ""))
    if not uid:
        raise ValueError("it has no SOP Instance UID")
    return data, uid


def _failure_reason(code: int) -> str:
    meanings = {0xA700: "out of resources", 0xA900: "data set does not match the SOP class",
                0xC000: "cannot understand", 0x0122: "SOP class not supported", 0x0111: "duplicate SOP instance",
                0x0124: "not authorised", 0xC001: "unable to process"}  # fmt: skip
    meaning = meanings.get(code) or next((v for k, v in meanings.items() if k & 0xF000 == code & 0xF000), "")
    return f"the server refused it (status 0x{code:04X}{', ' + meaning if meaning else ''})"


def import_instances(
    studies: StudyService,
    instances: Sequence[MediaInstance],
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
    disc_problems: Iterable[Problem] = (),
) -> ImportReport:
    """Send ``instances`` to the server by STOW-RS; never raises for a file or the server, it reports.

    Parameters
    ----------
    cancel
        Checked before each file and each request; a request already sent completes.
    progress
        ``progress(done, total)`` after each request (done = files handled).
    disc_problems
        The tree's own problems, repeated in the report.
    """
    imported: list[str] = []
    handled: set[str] = set()  # file IDs imported or failed
    failed: list[Problem] = []
    total = len(instances)
    batch: list[tuple[MediaInstance, bytes, str]] = []
    size = 0
    stopped = ""

    def send() -> None:
        nonlocal batch, size
        if not batch:
            return
        result = studies.store_files([data for _i, data, _u in batch])
        refused = dict(result.failed_instances)
        unnamed = result.failed > len(refused)
        for instance, _data, uid in batch:
            if uid in refused:
                failed.append(Problem(instance.file_id, _failure_reason(refused[uid])))
            elif unnamed and result.stored == 0:
                failed.append(Problem(instance.file_id, f"the server refused the request (HTTP {result.http_status})"))
            else:
                imported.append(uid)
            handled.add(instance.file_id)
        batch, size = [], 0
        if progress is not None:
            progress(len(handled), total)

    try:
        for instance in instances:
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                data, uid = _read(instance)
            except (OSError, InvalidDicomError, ValueError, EOFError, KeyError, TypeError) as exc:
                failed.append(Problem(instance.file_id, f"the file cannot be read as DICOM ({exc})"))
                handled.add(instance.file_id)
                continue
            if batch and (len(batch) >= BATCH_INSTANCES or size + len(data) > BATCH_BYTES):
                send()
                if cancel is not None:
                    cancel.raise_if_cancelled()
            batch.append((instance, data, uid))
            size += len(data)
        send()
    except CancelledError:
        stopped = "cancelled"
    except AppError as exc:  # the server went away or refused the request as a whole
        stopped = str(exc)
        log.warning("media import stopped: %s", exc)
    not_tried = tuple(i.file_id for i in instances if i.file_id not in handled)
    return ImportReport(tuple(imported), tuple(failed), not_tried, stopped, tuple(disc_problems))


def import_selection(
    studies: StudyService,
    tree: MediaTree,
    selections: Iterable[Selection] | None = None,
    cancel: CancelToken | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the part of ``tree`` under ``selections`` (everything when None)."""
    return import_instances(studies, tree.instances(selections), cancel, progress, tree.problems)


class DiscSeriesSource(LocalSeriesSource):
    """A series read from a disc (no import): a :class:`LocalSeriesSource` that also tells the viewer's
    matrix whether it holds images (``is_image``; PR/KO/SR series become badges) and gives a thumbnail."""

    def __init__(self, title: str, paths: Sequence[Path], key: str, is_image: bool) -> None:
        super().__init__(title, partial(list, paths), expected=len(paths), key=key)
        self.is_image = is_image
        self._middle = paths[len(paths) // 2]

    def thumbnail(self) -> np.ndarray | None:
        """The pipeline's rendering of the series' middle image, reduced (None when it cannot be read)."""
        if not self.is_image:
            return None
        try:
            return thumbnail_array(dcmread(self._middle))
        except Exception as exc:  # any unreadable or undecodable file: the matrix shows no picture
            log.info("no thumbnail for %s: %s", self.key, exc)
            return None


def series_sources(tree: MediaTree, selections: Iterable[Selection] | None = None) -> list[DiscSeriesSource]:
    """One viewer source per selected series, reading the files from the disc (no import); image series first."""
    chosen = None if selections is None else list(selections)
    out = []
    for patient in tree.patients:
        for study in patient.studies:
            for series in study.series:
                if chosen is not None and not any(s.covers(patient, study, series) for s in chosen):
                    continue
                paths = [i.path for i in series.instances]
                if not paths:
                    continue
                try:
                    number: int | None = int(series.series_number)
                except ValueError:
                    number = None
                title = series_title(patient.patient_name, series.modality, number, series.series_description)
                is_image = series.modality.strip().upper() not in OBJECT_MODALITIES and any(
                    i.record_type == "IMAGE" for i in series.instances)  # fmt: skip
                out.append(DiscSeriesSource(title, paths, series.series_instance_uid, is_image))
    return sorted(out, key=lambda source: not source.is_image)
