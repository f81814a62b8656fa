"""Plain values of the MPPS store, free of SQLAlchemy (PS3.4 F.7).

A Modality Performed Procedure Step is kept whole in the DICOM JSON model (PS3.18 F.2,
decoded Unicode text); its status and the keys the admin API filters on are copied to
columns. A change of a step carries the worklist items it references (moved to the step's
status in the same transaction, PS3.4 F.7.2.1.3 note) and the relay jobs it causes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.core.errors import AppError
from app.dicom.mpps import ScheduledStep
from app.server.index.job_records import JobRequest


class DuplicateStep(AppError):
    """A step with this SOP Instance UID exists already (N-CREATE answers 0x0111)."""


class NoSuchStep(AppError):
    """No step has this SOP Instance UID (N-SET answers 0x0112)."""


@dataclass(frozen=True)
class MppsRecord:
    """One stored Modality Performed Procedure Step."""

    sop_instance_uid: str
    status: str
    calling_ae_title: str
    patient_id: str
    study_instance_uid: str
    accession_number: str
    dataset: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime

    def summary(self) -> dict[str, Any]:
        """The step as ``GET /api/mpps`` lists it (no patient name)."""
        return {
            "sop_instance_uid": self.sop_instance_uid,
            "status": self.status,
            "calling_ae_title": self.calling_ae_title,
            "patient_id": self.patient_id,
            "study_instance_uid": self.study_instance_uid,
            "accession_number": self.accession_number,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class MppsChange:
    """The new state of a step: its data set (DICOM JSON), status, the worklist items it
    references and the jobs to enqueue with it."""

    dataset: dict[str, Any]
    status: str
    steps: tuple[ScheduledStep, ...] = ()
    jobs: tuple[JobRequest, ...] = ()


@dataclass(frozen=True)
class NewStep:
    """A step received by N-CREATE."""

    sop_instance_uid: str
    calling_ae_title: str
    patient_id: str
    study_instance_uid: str
    accession_number: str
    change: MppsChange


#: Computes the new state of a step from the stored one (inside the write transaction); may
#: raise to refuse the change.
StepUpdate = Callable[[MppsRecord], MppsChange]


class MppsStoreProtocol(Protocol):
    """What the MPPS SCP and the admin API need of the store (:class:`app.server.index.mpps.MppsStore`)."""

    def create(self, step: NewStep) -> MppsRecord: ...

    def update(self, sop_instance_uid: str, change: StepUpdate) -> MppsRecord: ...

    def get(self, sop_instance_uid: str) -> MppsRecord | None: ...

    def list(self, *, status: str | None = None, limit: int = 100) -> list[MppsRecord]: ...
