"""Where the information window's studies come from: the server, the temporary store, media.

A :class:`StudySource` lists studies (filtered by the quick filters), their series, and the viewer
sources of a study. Three kinds:

- :class:`ServerStudySource`: the server, by QIDO-RS (filtered there, PS3.18 10.6); the only one
  whose studies can be sent, approved, deleted, exported and printed (the admin API).
- :class:`TemporaryStoreSource`: the images the temporary Storage SCP received this run (a Fetch;
  reference 2.2.6.1). Only each file's header is read, once (its path is the cache key); the tree is
  rebuilt when the store's image count moves (:meth:`TemporaryStoreSource.changes`).
- :class:`MediaStudySource`: a disc, folder or ISO image opened without import (its DICOMDIR's records,
  or its files' headers; PS3.10 8, PS3.3 F.5), listed as ``Media: <file-set ID or folder>`` until closed.

The two local kinds hold a :class:`~app.media.tree.MediaTree` and share one implementation
(:class:`TreeStudySource`): the quick filters are applied here (:meth:`StudyFilter.matches`, the
server's matching rules), a study opens through :func:`app.services.media.series_sources` (thumbnails,
PR/KO/SR as badges) and "Import to server" stores its files by STOW-RS through
:func:`app.services.media.import_instances` (the media import's batches and report).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from app.core.errors import NotFoundError
from app.media.dicomdir_reader import find_dicomdir
from app.media.folder_scan import header_row
from app.media.tree import MediaStudy, MediaTree, Row, Selection, build_tree
from app.net.temporary_area import TemporaryArea
from app.net.temporary_store import TemporaryStorageSCP
from app.services.cancel import CancelToken, Progress
from app.services.media import ImportReport, OpenedMedia, import_instances, series_sources
from app.services.series_source import SeriesSource, ServerSeriesSource
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.services.study_filters import StudyFilter

log = logging.getLogger(__name__)

SERVER = "Server"
TEMPORARY_STORE = "Temporary store"


@runtime_checkable
class StudySource(Protocol):
    """A list of studies the information window can show, and what can be done with them.

    Attributes
    ----------
    name
        Shown in the source selector: ``Server``, ``Temporary store``, ``Media: <label>``.
    on_server
        True for the server: send, approve, delete, status, export and print apply (admin API).
    can_import
        True when "Import to server" applies (the studies are not on the server).
    """

    name: str
    on_server: bool
    can_import: bool

    def list_studies(self, study_filter: StudyFilter) -> list[StudySummary]:
        """The studies passing ``study_filter``, newest study date first (blocking: run on a worker)."""
        ...

    def list_series(self, study: StudySummary) -> list[SeriesSummary]:
        """The series of ``study``, by Series Number."""
        ...

    def series_sources(self, study: StudySummary) -> list[SeriesSource]:
        """What the viewer loads for ``study``, one source per series (``key`` = Series Instance UID)."""
        ...

    def changes(self) -> int:
        """A number that moves when the list may have changed (cheap; polled by the window)."""
        ...

    def close(self) -> None:
        """Release what the source holds (an extracted ISO image)."""
        ...


def _newest_first(studies: list[StudySummary]) -> list[StudySummary]:
    return sorted(studies, key=lambda s: (s.study_date, s.study_time, s.study_instance_uid), reverse=True)


class ServerStudySource:
    """The server's studies, listed and filtered by QIDO-RS."""

    on_server = True
    can_import = False

    def __init__(self, studies: StudyService, name: str = SERVER) -> None:
        self.studies = studies
        self.name = name

    def list_studies(self, study_filter: StudyFilter) -> list[StudySummary]:
        return self.studies.list_studies(None, **study_filter.qido_params())

    def list_series(self, study: StudySummary) -> list[SeriesSummary]:
        return self.studies.list_series(study.study_instance_uid)

    def series_sources(self, study: StudySummary) -> list[SeriesSource]:
        return [ServerSeriesSource(self.studies, s, study) for s in self.list_series(study)]

    def changes(self) -> int:
        return 0  # the window follows the server's own change counter (ServerWatch)

    def close(self) -> None:
        """Nothing to release (the window owns the HTTP client)."""


def study_summary(patient_name: str, patient_id: str, birth_date: str, study: MediaStudy) -> StudySummary:
    """A study of a :class:`MediaTree` as a row of the study list (counts of its series and instances)."""
    return StudySummary(
        study_instance_uid=study.study_instance_uid, patient_name=patient_name, patient_id=patient_id,
        patient_birth_date=birth_date, study_date=study.study_date, study_time=study.study_time,
        study_description=study.study_description, accession_number=study.accession_number,
        modalities=study.modalities, number_of_series=len(study.series), number_of_images=study.instance_count,
    )  # fmt: skip


def _series_number(text: str) -> int | None:
    try:
        return int(float(text)) if text.strip() else None
    except ValueError:
        return None


class TreeStudySource:
    """Studies of a :class:`MediaTree` (files on this computer), filtered here; base of the local sources."""

    on_server = False
    can_import = True

    def __init__(self, name: str) -> None:
        self.name = name

    def tree(self) -> MediaTree:
        """The tree as it is now (subclasses)."""
        raise NotImplementedError

    def _find(self, tree: MediaTree, study: StudySummary) -> Selection | None:
        for patient in tree.patients:
            if patient.patient_id == study.patient_id and any(
                s.study_instance_uid == study.study_instance_uid for s in patient.studies
            ):
                return Selection(patient.patient_id, study.study_instance_uid)
        return None

    def _selection(self, tree: MediaTree, study: StudySummary) -> Selection:
        found = self._find(tree, study)
        if found is None:
            raise NotFoundError(f"The study is no longer in {self.name}; refresh the list (F5).")
        return found

    def list_studies(self, study_filter: StudyFilter) -> list[StudySummary]:
        rows = [
            study_summary(p.patient_name, p.patient_id, p.patient_birth_date, s)
            for p in self.tree().patients
            for s in p.studies
        ]
        return _newest_first([s for s in rows if study_filter.matches(s)])

    def list_series(self, study: StudySummary) -> list[SeriesSummary]:
        tree = self.tree()
        selection = self._selection(tree, study)
        out = [
            SeriesSummary(
                study.study_instance_uid, se.series_instance_uid, se.modality, _series_number(se.series_number),
                se.series_description, len(se.instances),
            )
            for p in tree.patients
            for st in p.studies
            for se in st.series
            if selection.covers(p, st, se)
        ]
        return sorted(out, key=lambda s: (s.series_number is None, s.series_number or 0, s.series_instance_uid))

    def series_sources(self, study: StudySummary) -> list[SeriesSource]:
        tree = self.tree()
        return list(series_sources(tree, [self._selection(tree, study)]))

    def import_study(
        self, studies: StudyService, study: StudySummary, cancel: CancelToken | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Store the study's files on the server by STOW-RS (the media import's batches and report)."""
        tree = self.tree()
        return import_instances(studies, tree.instances([self._selection(tree, study)]), cancel, progress)

    def changes(self) -> int:
        return 0

    def close(self) -> None:
        """Nothing to release by default."""


class TemporaryStoreSource(TreeStudySource):
    """The temporary Storage SCP's images of this run; ``area`` returns its current area (None when stopped)."""

    def __init__(self, area: Callable[[], TemporaryArea | None], name: str = TEMPORARY_STORE) -> None:
        super().__init__(name)
        self._area = area
        self.store: TemporaryStorageSCP | None = None
        self._rows: dict[Path, Row | None] = {}  # by file: read once (None: not readable)
        self._tree: tuple[int, MediaTree] | None = None  # (image count, tree of those images)
        self._lock = threading.Lock()  # list and import may run on two workers

    @classmethod
    def of(cls, store: TemporaryStorageSCP) -> TemporaryStoreSource:
        """The source of a running :class:`~app.net.temporary_store.TemporaryStorageSCP` (kept as ``store``)."""
        source = cls(lambda: store.area)
        source.store = store
        return source

    def changes(self) -> int:
        area = self._area()
        return len(area.images()) if area is not None else -1

    def tree(self) -> MediaTree:
        area = self._area()
        images = area.images() if area is not None else []
        with self._lock:
            if self._tree is not None and self._tree[0] == len(images) and area is not None:
                return self._tree[1]
            if area is None:
                self._rows.clear()
                return MediaTree(Path(), ())
            rows = []
            for image in images:
                if image.path not in self._rows:
                    try:
                        self._rows[image.path] = header_row(area.folder, image.path)
                    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
                        log.warning("a temporary image cannot be read (%s); left out of the list", exc)
                        self._rows[image.path] = None
                row = self._rows[image.path]
                if row is not None:
                    rows.append(row)
            tree = build_tree(area.folder, rows, source="temporary store")
            self._tree = (len(images), tree)
            return tree


def media_label(opened: OpenedMedia) -> str:
    """The DICOMDIR's File-set ID (PS3.3 F.3.2.1) when it has one, else the disc's folder or file name."""
    dicomdir = find_dicomdir(opened.tree.root) if opened.tree.root.is_dir() else None
    if dicomdir is not None:
        try:
            file_set_id = str(dcmread(dicomdir, stop_before_pixels=True, specific_tags=["FileSetID"]).get(
                "FileSetID", "") or "").strip()  # fmt: skip
        except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError):
            file_set_id = ""
        if file_set_id:
            return file_set_id
    source = media_path(opened)
    return source.name or str(source)


def media_path(opened: OpenedMedia) -> Path:
    """What was opened: the folder (for a DICOMDIR, its folder) or the ISO image file."""
    source = Path(opened.source)
    return source.parent if source.name.upper() == "DICOMDIR" else source


class MediaStudySource(TreeStudySource):
    """A disc or folder opened without import; it owns the opened media (:meth:`close` removes an
    extracted ISO image)."""

    def __init__(self, opened: OpenedMedia, label: str = "") -> None:
        super().__init__(f"Media: {label or media_label(opened)}")
        self.opened = opened

    @classmethod
    def take(cls, opened: OpenedMedia, label: str = "") -> MediaStudySource:
        """A source that takes over ``opened``: its extracted folder is this source's to remove (closing
        ``opened`` afterwards no longer removes it)."""
        own = OpenedMedia(opened.source, opened.tree, opened.extracted)
        opened.extracted = None
        return cls(own, label)

    @property
    def path(self) -> Path:
        return media_path(self.opened)

    def tree(self) -> MediaTree:
        return self.opened.tree

    def close(self) -> None:
        self.opened.close()


def same_media(sources: Sequence[StudySource], opened: OpenedMedia) -> StudySource | None:
    """The media source already listed for the disc ``opened`` comes from (same path), if any."""
    wanted = media_path(opened).resolve()
    for source in sources:
        if isinstance(source, MediaStudySource) and source.path.resolve() == wanted:
            return source
    return None
