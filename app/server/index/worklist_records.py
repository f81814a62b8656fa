"""Plain values of the Modality Worklist store, free of SQLAlchemy (PS3.4 K.6.1).

A worklist item is one Scheduled Procedure Step with its requested procedure, imaging
service request, visit and patient attributes (PS3.4 Table K.6-1), kept whole in the DICOM
JSON model (PS3.18 F.2) with decoded (Unicode) text. The matching keys of the reference's
appendix F (Table F.1) are copied to columns (:data:`WORKLIST_KEYS`) so C-FIND matches
them in SQL; :mod:`app.server.mwl_match` matches any other key on the stored data set.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from app.server.index.records import Kind

#: Scheduled Procedure Step Status values (PS3.3 C.4.10, Defined Terms of (0040,0020)).
SPS_STATUSES: tuple[str, ...] = ("SCHEDULED", "ARRIVED", "READY", "STARTED", "IN PROGRESS", "COMPLETED",
                                 "DISCONTINUED")
#: Status of an item created without one.
DEFAULT_STATUS = "SCHEDULED"
#: Statuses of procedure steps that are over (left out of C-FIND answers with ``drop_completed``).
FINAL_STATUSES: tuple[str, ...] = ("COMPLETED", "DISCONTINUED")


@dataclass(frozen=True)
class WorklistKey:
    """A matching key held in a column of ``worklist_item``.

    Parameters
    ----------
    keyword
        The DICOM keyword.
    column
        The column holding the value (multiple values joined by ``\\``).
    kind
        How it matches (PS3.4 C.2.2.2); PN keys are case-sensitive unless ``folded``.
    in_sps
        Whether it is an attribute of the Scheduled Procedure Step Sequence item.
    folded
        PN matched case-insensitively through the column ``<column>_lc``.
    multi_valued
        The attribute may have several values; a value matches when any of them does.
    """

    keyword: str
    column: str
    kind: Kind
    in_sps: bool = False
    folded: bool = False
    multi_valued: bool = False
    width: int = 64


_K = WorklistKey

#: The keys of the reference's Table F.1 (plus Patient's Sex and SPS Status), by keyword.
WORKLIST_KEYS: Mapping[str, WorklistKey] = {
    k.keyword: k
    for k in (
        _K("PatientName", "patient_name", Kind.PN, folded=True, width=324),
        _K("PatientID", "patient_id", Kind.TEXT),
        _K("PatientBirthDate", "birth_date", Kind.DATE, width=8),
        _K("PatientSex", "sex", Kind.TEXT, width=16),
        _K("AccessionNumber", "accession_number", Kind.TEXT),
        # Case-sensitive, as the reference matches it (appendix F).
        _K("ReferringPhysicianName", "referring_physician_name", Kind.PN, width=324),
        _K("RequestedProcedureID", "requested_procedure_id", Kind.TEXT, width=16),
        _K("StudyInstanceUID", "study_instance_uid", Kind.UID),
        _K("ScheduledProcedureStepID", "sps_id", Kind.TEXT, in_sps=True, width=16),
        _K("ScheduledProcedureStepStartDate", "sps_start_date", Kind.DATE, in_sps=True, width=8),
        _K("ScheduledProcedureStepStartTime", "sps_start_time", Kind.TIME, in_sps=True, width=16),
        _K("Modality", "modality", Kind.TEXT, in_sps=True, width=16),
        _K("ScheduledStationAETitle", "station_ae_title", Kind.TEXT, in_sps=True, multi_valued=True, width=160),
        _K("ScheduledStationName", "station_name", Kind.TEXT, in_sps=True, width=16),
        _K("ScheduledPerformingPhysicianName", "performing_physician_name", Kind.PN, in_sps=True, width=324),
        _K("ScheduledProcedureStepStatus", "status", Kind.TEXT, in_sps=True, width=16),
    )
}


@dataclass(frozen=True)
class WorklistRecord:
    """One stored worklist item: its id, current status and data set (DICOM JSON model).

    ``dataset_text`` is the JSON as stored; :attr:`dataset` parses it on first use (a C-FIND
    that finds the item's data set cached by its id and ``updated_at`` never does).
    """

    id: int
    status: str
    dataset_text: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @cached_property
    def dataset(self) -> dict[str, Any]:
        """The item in the DICOM JSON model (PS3.18 F.2)."""
        parsed: dict[str, Any] = json.loads(self.dataset_text)
        return parsed


@dataclass(frozen=True)
class WorklistSearch:
    """A search of the worklist store.

    Parameters
    ----------
    filters
        Keyword of :data:`WORKLIST_KEYS` -> value as given in the identifier (PS3.4 C.2.2.2).
    exclude_statuses
        Items in these statuses are left out (``drop_completed``).
    limit, offset
        Paging, in the order of Scheduled Procedure Step start date and time.
    """

    filters: Mapping[str, str] = field(default_factory=dict)
    exclude_statuses: tuple[str, ...] = ()
    limit: int | None = None
    offset: int = 0


class WorklistStoreProtocol(Protocol):
    """What the MWL SCP, the MPPS SCP and the admin API use of the worklist store."""

    def create(self, keys: Mapping[str, str], dataset: dict[str, Any]) -> int: ...

    def update(self, item_id: int, keys: Mapping[str, str], dataset: dict[str, Any]) -> bool: ...

    def delete(self, item_id: int) -> bool: ...

    def get(self, item_id: int) -> WorklistRecord | None: ...

    def list_items(self, *, limit: int = 100, offset: int = 0) -> list[WorklistRecord]: ...

    def search(self, request: WorklistSearch) -> list[WorklistRecord]: ...

    def set_status(self, item_id: int, status: str) -> bool: ...

    def set_status_for_step(self, *, study_instance_uid: str, sps_id: str, status: str) -> int: ...
