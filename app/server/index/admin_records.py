"""Plain values the admin API exchanges with the index (study status, change log,
corrections, deletions), free of SQLAlchemy, and the Protocols of their stores.

The patient and study attributes an administrator may correct are the catalogue columns
of the Patient and General Study modules (PS3.3 C.7.1.1, C.7.2.1) by DICOM keyword.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

#: Patient-level attributes the catalogue holds (and a correction may change).
PATIENT_KEYWORDS: tuple[str, ...] = (
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
)
#: Study-level attributes the catalogue holds (and a correction may change).
STUDY_KEYWORDS: tuple[str, ...] = (
    "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber", "ReferringPhysicianName", "StudyID",
)


class StudyState(StrEnum):
    """Reading status of a study: ``new`` until read, ``approved`` once approved."""

    NEW = "new"
    READ = "read"
    APPROVED = "approved"


@dataclass(frozen=True)
class StudyStatus:
    """A study's reading status, with who approved it and when (naive UTC)."""

    study_instance_uid: str
    status: StudyState
    approved_by: str = ""
    approved_at: dt.datetime | None = None
    read_by: str = ""
    read_at: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "study_instance_uid": self.study_instance_uid,
            "status": self.status.value,
            "approved_by": self.approved_by or None,
            "approved_at": self.approved_at.isoformat() + "Z" if self.approved_at else None,
            "read_by": self.read_by or None,
            "read_at": self.read_at.isoformat() + "Z" if self.read_at else None,
        }


@dataclass(frozen=True)
class Change:
    """One entry of the change log; ``id`` grows monotonically."""

    id: int
    at: dt.datetime
    kind: str
    level: str
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    sop_instance_uid: str = ""
    patient_id: str = ""
    by: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": self.at.isoformat() + "Z", "kind": self.kind, "level": self.level,
            "study_instance_uid": self.study_instance_uid or None,
            "series_instance_uid": self.series_instance_uid or None,
            "sop_instance_uid": self.sop_instance_uid or None, "patient_id": self.patient_id or None,
            "by": self.by or None, "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class ChangeRequest:
    """A change to record (in the transaction that makes it)."""

    kind: str
    level: str
    study_instance_uid: str = ""
    series_instance_uid: str = ""
    sop_instance_uid: str = ""
    patient_id: str = ""
    by: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogueValues:
    """A study's patient and study attributes as the catalogue holds them.

    Attributes
    ----------
    values
        DICOM keyword -> value (every keyword of :data:`PATIENT_KEYWORDS` and
        :data:`STUDY_KEYWORDS`; ``""`` for an empty attribute).
    corrected
        True when a correction, merge or split touched the study or its patient: its stored
        files then carry other values than the catalogue, and outbound data sets must be
        overlaid with these (``app.server.corrections.apply_catalogue_values``).
    """

    study_instance_uid: str
    values: Mapping[str, str]
    corrected: bool = False


@dataclass(frozen=True)
class CorrectionResult:
    """What a correction, merge or split changed."""

    study_instance_uids: tuple[str, ...]
    patient_id: str
    changes: Mapping[str, str]
    change_id: int


@dataclass(frozen=True)
class RemovedInstance:
    """An instance whose rows a deletion removed; its file is for the caller to delete."""

    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    relpath: str


@dataclass(frozen=True)
class DeletionResult:
    """What a deletion removed from the index (committed) and the files left to remove."""

    study_instance_uid: str
    removed: tuple[RemovedInstance, ...]
    study_gone: bool
    values: Mapping[str, str]
    change_id: int


class StudyStatusStoreProtocol(Protocol):
    def approve(self, study_uid: str, by: str) -> StudyStatus: ...

    def mark_read(self, study_uid: str, by: str) -> StudyStatus: ...

    def get(self, study_uid: str) -> StudyStatus | None: ...

    def statuses(self) -> dict[str, str]: ...


class ChangeLogProtocol(Protocol):
    def since(self, change_id: int, limit: int = 1000) -> list[Change]: ...

    def record(self, request: ChangeRequest) -> int: ...


class CorrectionStoreProtocol(Protocol):
    def catalogue_values(self, study_uid: str) -> CatalogueValues | None: ...

    def correct_study(self, study_uid: str, changes: Mapping[str, str], by: str) -> CorrectionResult: ...

    def correct_patient(
        self, patient_id: str, changes: Mapping[str, str], by: str, issuer: str | None = None
    ) -> CorrectionResult: ...

    def merge(self, patient_id: str, into: str, by: str) -> CorrectionResult: ...

    def split(
        self, patient_id: str, studies: list[str], into: str, values: Mapping[str, str], by: str
    ) -> CorrectionResult: ...


class DeletionStoreProtocol(Protocol):
    def delete(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None, *, by: str = ""
    ) -> DeletionResult: ...
