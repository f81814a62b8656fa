"""Plain values exchanged with the index, free of SQLAlchemy.

The ingest (``app.server.context``) and the HTTP API (``app.server.api``) use the index
only through :class:`CatalogueProtocol` and these values, so neither depends on the
database library (the layer rule of DESIGN.md section 2). The query attributes follow
the Study Root model's keys (PS3.4 C.6.2.1) and QIDO-RS's (PS3.18 10.6.1.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from app.core.errors import DicomInputError


class QueryError(DicomInputError):
    """A query key or value is malformed (answered as 400 by QIDO-RS)."""


class Level(StrEnum):
    """Query/retrieve level (PS3.4 C.6.1.1.1, C.6.2.1.1).

    QIDO-RS and the Study Root model use STUDY, SERIES and IMAGE; PATIENT is the top level
    of the Patient Root and Patient/Study Only models (C-FIND only).
    """

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"


class Kind(StrEnum):
    """How a key matches (PS3.4 C.2.2.2)."""

    TEXT = "text"  # single value or wildcard, case-sensitive
    PN = "pn"  # single value or wildcard, case-insensitive
    DATE = "date"  # single value or range
    TIME = "time"  # single value or range
    UID = "uid"  # single value or list of UIDs
    CODE = "code"  # single value, wildcard or list (Modality, ModalitiesInStudy)
    INT = "int"  # single value
    RETURN = "return"  # return key only (counts)


@dataclass(frozen=True)
class Attribute:
    """An indexed attribute: its keyword, the level it belongs to and how it matches."""

    keyword: str
    level: Level
    kind: Kind


_A = Attribute
L, K = Level, Kind

#: Every attribute the index can match on or return, by keyword.
ATTRIBUTES: Mapping[str, Attribute] = {
    a.keyword: a
    for a in (
        _A("PatientName", L.STUDY, K.PN),
        _A("PatientID", L.STUDY, K.TEXT),
        _A("IssuerOfPatientID", L.STUDY, K.TEXT),
        _A("PatientBirthDate", L.STUDY, K.DATE),
        _A("PatientSex", L.STUDY, K.TEXT),
        _A("StudyInstanceUID", L.STUDY, K.UID),
        _A("StudyDate", L.STUDY, K.DATE),
        _A("StudyTime", L.STUDY, K.TIME),
        _A("StudyDescription", L.STUDY, K.TEXT),
        _A("AccessionNumber", L.STUDY, K.TEXT),
        _A("ReferringPhysicianName", L.STUDY, K.PN),
        _A("StudyID", L.STUDY, K.TEXT),
        _A("ModalitiesInStudy", L.STUDY, K.CODE),
        _A("NumberOfStudyRelatedSeries", L.STUDY, K.RETURN),
        _A("NumberOfStudyRelatedInstances", L.STUDY, K.RETURN),
        _A("SeriesInstanceUID", L.SERIES, K.UID),
        _A("Modality", L.SERIES, K.CODE),
        _A("SeriesNumber", L.SERIES, K.INT),
        _A("SeriesDescription", L.SERIES, K.TEXT),
        _A("SeriesDate", L.SERIES, K.DATE),
        _A("SeriesTime", L.SERIES, K.TIME),
        _A("BodyPartExamined", L.SERIES, K.TEXT),
        _A("NumberOfSeriesRelatedInstances", L.SERIES, K.RETURN),
        _A("SOPInstanceUID", L.IMAGE, K.UID),
        _A("SOPClassUID", L.IMAGE, K.UID),
        _A("InstanceNumber", L.IMAGE, K.INT),
        _A("Rows", L.IMAGE, K.INT),
        _A("Columns", L.IMAGE, K.INT),
        _A("NumberOfFrames", L.IMAGE, K.INT),
        _A("AvailableTransferSyntaxUID", L.IMAGE, K.UID),
    )
}

#: Attributes returned by default at each level (PS3.18 Table 10.6.3-3/-4/-5).
DEFAULT_RETURN: Mapping[Level, tuple[str, ...]] = {
    Level.STUDY: (
        "StudyDate", "StudyTime", "AccessionNumber", "ModalitiesInStudy", "ReferringPhysicianName",
        "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID",
        "StudyDescription", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
    ),
    Level.SERIES: (
        "Modality", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "SeriesDate", "SeriesTime",
        "BodyPartExamined", "NumberOfSeriesRelatedInstances",
    ),
    Level.IMAGE: ("SOPClassUID", "SOPInstanceUID", "InstanceNumber", "Rows", "Columns", "NumberOfFrames"),
}

#: Patient-level keys (PS3.4 C.6.1.1.2): matched and returned by a PATIENT level search.
PATIENT_KEYS: tuple[str, ...] = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex")

#: Computed patient-level return keys (PS3.4 C.3.2 Table C.3-2 / C.6.1.1.2).
PATIENT_COUNTS: tuple[str, ...] = (
    "NumberOfPatientRelatedStudies",
    "NumberOfPatientRelatedSeries",
    "NumberOfPatientRelatedInstances",
)

_ORDER = (Level.STUDY, Level.SERIES, Level.IMAGE)


def levels_up_to(level: Level) -> tuple[Level, ...]:
    """The levels from STUDY down to ``level`` inclusive."""
    return _ORDER[: _ORDER.index(level) + 1]


@dataclass(frozen=True)
class SearchRequest:
    """One QIDO-RS / C-FIND search.

    Parameters
    ----------
    level
        What the results are (studies, series or instances).
    filters
        Matching keys: keyword -> value as given (``""`` = universal matching).
    returned
        Keywords to return in addition to the level's defaults (``includefield``).
    include_all
        ``includefield=all``: return every indexed attribute of the levels involved.
    limit, offset
        Paging (PS3.18 8.3.4.4).
    combine_date_time
        Match a Study Date range and a Study Time range together as one date-time range
        (PS3.4 C.2.2.2.5.2, as C-FIND does) rather than each on its own.
    time_range_means_today
        A Study Time range without a Study Date matches today's studies only (the
        reference's C-FIND rule, its 4.4.3.2); without it, a time range matches on any day
        (PS3.4 C.2.2.2.5.2, as QIDO-RS does).
    """

    level: Level
    filters: Mapping[str, str] = field(default_factory=dict)
    returned: tuple[str, ...] = ()
    include_all: bool = False
    limit: int | None = None
    offset: int = 0
    combine_date_time: bool = False
    time_range_means_today: bool = False


@dataclass(frozen=True)
class InstanceRecord:
    """What the ingest indexes for one stored SOP instance."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    relpath: str
    size: int
    patient_id: str
    issuer: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    accession_number: str = ""
    referring_physician_name: str = ""
    study_id: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    series_date: str = ""
    series_time: str = ""
    body_part: str = ""
    instance_number: int | None = None
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int | None = None
    source_ae: str = ""
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))
    #: ``"<algorithm>:<hex>"`` of the stored file, computed while it was written
    #: (:mod:`app.server.checksum`); None for rows indexed before checksums existed.
    checksum: str | None = None


@dataclass(frozen=True)
class StoredInstance:
    """Where one indexed instance is stored (for retrieval, PS3.18 10.4)."""

    id: int
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    relpath: str
    size: int
    #: The checksum recorded at ingest (only filled in by :meth:`CatalogueProtocol.instances_by_uid`).
    checksum: str | None = None


@dataclass(frozen=True)
class AddResult:
    """Outcome of :meth:`CatalogueProtocol.add_instance`.

    ``added`` is False when a duplicate was rejected; ``replaced`` lists the stored
    copies the new instance replaced (their files are for the caller to remove).
    """

    added: bool
    instance_id: int = 0
    replaced: tuple[StoredInstance, ...] = ()


class CatalogueProtocol(Protocol):
    """The index as the ingest and the HTTP API see it (implemented by ``Catalogue``)."""

    def add_instance(
        self, record: InstanceRecord, *, duplicates: str = "keep", before_commit: Callable[[], None] | None = None
    ) -> AddResult: ...

    def has_instance(self, sop_instance_uid: str) -> bool: ...

    def next_request_number(self) -> int: ...

    def change_counter(self) -> int: ...

    def count_instances(self) -> int: ...

    def stored_instances(
        self, study_instance_uid: str, series_instance_uid: str | None = None, sop_instance_uid: str | None = None
    ) -> list[StoredInstance]: ...

    def search(self, request: SearchRequest) -> list[dict[str, Any]]: ...

    def instances_by_uid(self, sop_instance_uids: Sequence[str]) -> dict[str, list[StoredInstance]]: ...

    def close(self) -> None: ...
