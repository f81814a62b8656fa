"""Studies, series and images on the server, for the information window and the viewer.

Thin use-cases over :mod:`app.client.dicomweb`: QIDO-RS results become frozen dataclasses;
a series' instances come back by WADO-RS as pydicom data sets, in display order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.client.dicomjson import DicomJson
from app.client.dicomweb import DicomWebClient, ServerStatus, StoreResult
from app.core.errors import DicomInputError
from app.services.cancel import CancelToken, Progress

log = logging.getLogger(__name__)

STUDY_FIELDS = (
    "PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime", "StudyDescription",
    "AccessionNumber", "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
)  # fmt: skip
SERIES_FIELDS = ("Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances")


@dataclass(frozen=True)
class StudySummary:
    """One row of the information window (QIDO-RS study level, PS3.18 10.6.1.2.1)."""

    study_instance_uid: str
    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    accession_number: str = ""
    modalities: str = ""
    number_of_series: int = 0
    number_of_images: int = 0

    @classmethod
    def from_json(cls, item: DicomJson) -> StudySummary:
        return cls(
            study_instance_uid=item.text("StudyInstanceUID"),
            patient_name=item.text("PatientName"),
            patient_id=item.text("PatientID"),
            patient_birth_date=item.text("PatientBirthDate"),
            study_date=item.text("StudyDate"),
            study_time=item.text("StudyTime"),
            study_description=item.text("StudyDescription"),
            accession_number=item.text("AccessionNumber"),
            modalities=item.text("ModalitiesInStudy"),
            number_of_series=item.integer("NumberOfStudyRelatedSeries"),
            number_of_images=item.integer("NumberOfStudyRelatedInstances"),
        )


@dataclass(frozen=True)
class SeriesSummary:
    """One series of a study (QIDO-RS series level)."""

    study_instance_uid: str
    series_instance_uid: str
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    number_of_images: int = 0

    @classmethod
    def from_json(cls, study: str, item: DicomJson) -> SeriesSummary:
        number = item.first("SeriesNumber")
        try:
            series_number: int | None = int(number) if number not in (None, "") else None
        except (TypeError, ValueError):
            series_number = None
        return cls(
            study_instance_uid=study,
            series_instance_uid=item.text("SeriesInstanceUID"),
            modality=item.text("Modality"),
            series_number=series_number,
            series_description=item.text("SeriesDescription"),
            number_of_images=item.integer("NumberOfSeriesRelatedInstances"),
        )


@dataclass(frozen=True)
class InstanceSummary:
    """One instance of a series (QIDO-RS instance level)."""

    sop_instance_uid: str
    instance_number: int | None = None
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1


def _float_list(value: Any) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return ()


def display_order_key(ds: Dataset) -> tuple[Any, ...]:
    """Sort key of a series' images: Instance Number, then position along the slice normal.

    Image Position (Patient) is projected on the normal of Image Orientation (Patient)
    (PS3.3 C.7.6.2.1.1) so slices sort by location; SOP Instance UID breaks ties.
    """
    number = ds.get("InstanceNumber")
    try:
        instance_number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        instance_number = None
    position = _float_list(ds.get("ImagePositionPatient") or ())
    orientation = _float_list(ds.get("ImageOrientationPatient") or ())
    location = 0.0
    if len(position) == 3 and len(orientation) == 6:
        r, c = orientation[:3], orientation[3:]
        normal = (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])
        location = sum(p * n for p, n in zip(position, normal, strict=True))
    elif len(position) == 3:
        location = position[2]
    return (instance_number is None, instance_number or 0, location, str(ds.get("SOPInstanceUID", "")))


def sort_for_display(datasets: Iterable[Dataset]) -> list[Dataset]:
    """The images of a series in display order (:func:`display_order_key`)."""
    return sorted(datasets, key=display_order_key)


class StudyService:
    """The studies held by one server, as the information window and the viewer need them."""

    def __init__(self, client: DicomWebClient) -> None:
        self.client = client

    @classmethod
    def connect(cls, url: str, timeout: float = 30.0) -> StudyService:
        return cls(DicomWebClient(url, timeout=timeout))

    @property
    def url(self) -> str:
        return self.client.base_url

    def close(self) -> None:
        self.client.close()

    def status(self) -> ServerStatus:
        """The server's status; its ``changes`` counter moves whenever something is stored."""
        return self.client.status()

    def list_studies(self, limit: int | None = None, **filters: Any) -> list[StudySummary]:
        """Studies matching QIDO-RS ``filters`` (DICOM keywords), newest study date first."""
        items = self.client.search_studies(limit=limit, includefield=",".join(STUDY_FIELDS), **filters)
        studies = [StudySummary.from_json(item) for item in items]
        return sorted(studies, key=lambda s: (s.study_date, s.study_time), reverse=True)

    def list_series(self, study_instance_uid: str) -> list[SeriesSummary]:
        """The series of a study, by Series Number."""
        items = self.client.search_series(study_instance_uid, includefield=",".join(SERIES_FIELDS))
        series = [SeriesSummary.from_json(study_instance_uid, item) for item in items]
        return sorted(series, key=lambda s: (s.series_number is None, s.series_number or 0, s.series_instance_uid))

    def list_instances(self, study_instance_uid: str, series_instance_uid: str) -> list[InstanceSummary]:
        """The instances of a series, by Instance Number."""
        items = self.client.search_instances(study_instance_uid, series_instance_uid)
        out = [
            InstanceSummary(
                sop_instance_uid=item.text("SOPInstanceUID"),
                instance_number=item.integer("InstanceNumber") if item.first("InstanceNumber") is not None else None,
                rows=item.integer("Rows"),
                columns=item.integer("Columns"),
                number_of_frames=item.integer("NumberOfFrames", 1) or 1,
            )
            for item in items
        ]
        return sorted(out, key=lambda i: (i.instance_number is None, i.instance_number or 0, i.sop_instance_uid))

    def load_series(
        self,
        study_instance_uid: str,
        series_instance_uid: str,
        cancel: CancelToken | None = None,
        progress: Progress | None = None,
        expected: int = 0,
    ) -> list[Dataset]:
        """Retrieve a series by WADO-RS and return its data sets in display order.

        Parameters
        ----------
        cancel
            Checked after each instance; raises :class:`~app.services.cancel.CancelledError`.
        progress
            Called as ``progress(received, expected)`` after each instance.
        expected
            Number of instances expected (for progress), 0 when unknown.
        """
        datasets: list[Dataset] = []
        for part in self.client.retrieve_series(study_instance_uid, series_instance_uid):
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                datasets.append(dcmread(BytesIO(part)))
            except (InvalidDicomError, EOFError, ValueError) as exc:
                raise DicomInputError(
                    f"The server sent an instance of series {series_instance_uid} that is not valid DICOM ({exc})."
                ) from exc
            if progress is not None:
                progress(len(datasets), max(expected, len(datasets)))
        return sort_for_display(datasets)

    def store_files(self, paths: Iterable[Path | str | bytes]) -> StoreResult:
        """Send DICOM files to the server by STOW-RS (import)."""
        return self.client.store_instances(list(paths))
