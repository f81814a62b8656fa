"""Where the viewer's series come from: the :class:`SeriesSource` protocol and its server version.

The viewer opens a series from any object that has a ``title``, a ``count_hint()`` and a
``load(cancel)`` generator yielding the series' data sets as they arrive (the first one as
fast as possible: the viewer shows it while the rest load). Implementations:

- :class:`ServerSeriesSource` (here): the bundled server, by WADO-RS (PS3.18 10.4.1.1.2,
  multipart/related; application/dicom) through :class:`~app.services.studies.StudyService`;
  parts are parsed and yielded one by one as the response streams in.
- ``app.services.local_series`` (files on disk: the temporary store, a DICOMDIR opened
  without import), owned by the search/media work.

Optional members the viewer uses when a source has them: ``key`` (its matrix key, e.g. the
Series Instance UID), ``is_image`` (False: a PR/KO/SR series, shown as badges on the series
it references, not as an entry) and ``thumbnail()`` (run on a worker for the matrix).

A source is read once per :meth:`load` call; the viewer runs it on a worker thread and checks
``cancel`` between data sets (implementations should too, via
:meth:`~app.services.cancel.CancelToken.raise_if_cancelled`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Protocol, runtime_checkable

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.core.errors import DicomInputError
from app.dicom.value_format import format_person_name
from app.services.cancel import CancelToken
from app.services.image_stack import ImageStack
from app.services.studies import SeriesSummary, StudyService, StudySummary


@runtime_checkable
class SeriesSource(Protocol):
    """A series the viewer can open (``title`` may be a plain attribute or a property)."""

    @property
    def title(self) -> str:
        """Shown in the viewer (patient, series description)."""
        ...

    def count_hint(self) -> int | None:
        """How many instances are expected (for progress), None when unknown."""
        ...

    def load(self, cancel: CancelToken) -> Iterator[Dataset]:
        """The series' data sets as they arrive (any order; the viewer sorts them)."""
        ...


def series_title(patient_name: str, modality: str, series_number: int | None, description: str) -> str:
    """The viewer's title of a series: "Family, Given - CT 3 Chest" (empty parts left out)."""
    name = format_person_name(patient_name) if patient_name else ""
    number = "" if series_number is None else str(series_number)
    series = " ".join(p for p in (modality, number, description) if p)
    return " - ".join(p for p in (name, series) if p)


def parse_part(part: bytes, series_instance_uid: str) -> Dataset:
    """One WADO-RS part (a Part 10 file) as a data set; DicomInputError when it is not DICOM.

    The data set does not keep the part: pydicom holds the buffer it read from
    (``FileDataset.buffer``), which would double the memory of a loaded series.
    """
    try:
        ds = dcmread(BytesIO(part))
    except (InvalidDicomError, EOFError, ValueError) as exc:
        raise DicomInputError(
            f"The server sent an instance of series {series_instance_uid} that is not valid DICOM ({exc}); "
            "check the server's log for that instance."
        ) from exc
    ds.buffer = None  # everything is read (no deferred elements from a buffer)
    return ds


OBJECT_MODALITIES = ("PR", "KO", "SR")
THUMBNAIL = 128


def thumbnail_array(ds: Dataset, size: int = THUMBNAIL) -> np.ndarray:
    """The first frame of ``ds`` rendered by the pipeline (its own VOI), strided down to about ``size``."""
    pixels = ImageStack([ds]).render(0)
    step = max(1, int(np.ceil(max(pixels.shape[:2]) / size)))
    return np.ascontiguousarray(pixels[::step, ::step])


@dataclass(frozen=True)
class ServerSeriesSource:
    """A series on the bundled server, retrieved by WADO-RS and yielded part by part."""

    studies: StudyService
    series: SeriesSummary
    study: StudySummary | None = None

    @property
    def title(self) -> str:
        s = self.series
        return series_title(
            self.study.patient_name if self.study else "", s.modality, s.series_number, s.series_description
        )

    @property
    def key(self) -> str:
        """Series Instance UID: identifies the series in the matrix."""
        return self.series.series_instance_uid

    @property
    def is_image(self) -> bool:
        """False for presentation states, key object selections and reports (:data:`OBJECT_MODALITIES`)."""
        return self.series.modality.strip().upper() not in OBJECT_MODALITIES

    def count_hint(self) -> int | None:
        return self.series.number_of_images or None

    def thumbnail(self) -> np.ndarray | None:
        """The pipeline's rendering of the series' middle image, reduced (:func:`thumbnail_array`)."""
        if not self.is_image:
            return None
        s = self.series
        instances = self.studies.list_instances(s.study_instance_uid, s.series_instance_uid)
        if not instances:
            return None
        middle = instances[len(instances) // 2].sop_instance_uid
        part = self.studies.client.retrieve_instance(s.study_instance_uid, s.series_instance_uid, middle)
        return thumbnail_array(parse_part(part, s.series_instance_uid))

    def load(self, cancel: CancelToken) -> Iterator[Dataset]:
        parts = self.studies.client.retrieve_series(self.series.study_instance_uid, self.series.series_instance_uid)
        try:
            for part in parts:
                cancel.raise_if_cancelled()
                yield parse_part(part, self.series.series_instance_uid)
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()  # ends the HTTP stream when cancelled or abandoned


@dataclass(frozen=True)
class DatasetSource:
    """Data sets already in memory (tests, benchmarks, a series built by a tool)."""

    datasets: tuple[Dataset, ...]
    title: str = ""

    def count_hint(self) -> int | None:
        return len(self.datasets)

    def load(self, cancel: CancelToken) -> Iterator[Dataset]:
        for ds in self.datasets:
            cancel.raise_if_cancelled()
            yield ds
