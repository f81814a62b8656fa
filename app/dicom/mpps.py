"""Modality Performed Procedure Step rules (PS3.4 F.7.2, Table F.7.2-1; PS3.3 C.7.3.1, F.1).

Pure pydicom: which attributes an N-CREATE must carry, which an N-SET may carry, what a
step must hold once it is COMPLETED or DISCONTINUED, and the state rules. A broken rule is
raised as :class:`MppsRefused` carrying the DIMSE status the SCP answers (PS3.7 C.5):

- N-CREATE without a Type 1 or Type 2 attribute: ``0x0120`` missing attribute;
  a Type 1 attribute present but empty: ``0x0121`` missing attribute value;
- N-CREATE whose Performed Procedure Step Status is not IN PROGRESS: ``0x0106`` invalid
  attribute value (PS3.4 F.7.2.1.3);
- N-SET on a step that is no longer IN PROGRESS: ``0x0110`` processing failure, Error
  Comment "Performed Procedure Step Object may no longer be updated", Error ID ``0xA710``
  (PS3.4 F.7.2.2.3, Table F.7.2-2);
- N-SET of an attribute whose N-SET usage is "Not allowed", or of a status other than IN
  PROGRESS, COMPLETED or DISCONTINUED: ``0x0106`` invalid attribute value with the
  Attribute Identifier List (``0x0116`` attribute value out of range is a Warning, PS3.7
  C.4.3: the SCP applied the request after coercing values, which is not a refusal);
- N-CREATE with an Affected SOP Instance UID that is not a valid UID: ``0x0117`` invalid
  object instance; with one already in use: ``0x0111`` duplicate SOP instance;
- N-SET reaching COMPLETED or DISCONTINUED without the final-state attributes (end date
  and time, a Performed Series Sequence item with its Series Instance UID and Protocol
  Name, Table F.7.2-1 "Final State" column): ``0x0121`` missing attribute value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset

from app.core.errors import AppError

#: Modality Performed Procedure Step SOP Class (PS3.4 F.7.1).
MPPS_SOP_CLASS_UID = "1.2.840.10008.3.1.2.3.3"

IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
DISCONTINUED = "DISCONTINUED"
#: Values of Performed Procedure Step Status (0040,0252) (PS3.3 C.7.3.1.1, PS3.4 F.1.2).
STATUSES = (IN_PROGRESS, COMPLETED, DISCONTINUED)
#: States a step never leaves (PS3.4 Table F.1-4).
FINAL_STATUSES = frozenset({COMPLETED, DISCONTINUED})

# DIMSE statuses (PS3.7 C.5).
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_OBJECT_INSTANCE = 0x0112
INVALID_OBJECT_INSTANCE = 0x0117
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
#: Error ID of "Performed Procedure Step Object may no longer be updated" (PS3.4 Table F.7.2-2).
NO_LONGER_UPDATABLE_ERROR_ID = 0xA710
NO_LONGER_UPDATABLE = "Performed Procedure Step Object may no longer be updated"


def _tags(*keywords: str) -> tuple[int, ...]:
    tags = tuple(tag_for_keyword(k) for k in keywords)
    missing = [k for k, t in zip(keywords, tags, strict=True) if t is None]
    if missing:
        raise KeyError(f"unknown DICOM keywords: {missing}")
    return tuple(t for t in tags if t is not None)


#: N-CREATE Type 1 (required, with a value) at the top level (Table F.7.2-1).
NCREATE_TYPE1 = (
    "ScheduledStepAttributesSequence", "PerformedProcedureStepID", "PerformedStationAETitle",
    "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", "PerformedProcedureStepStatus",
    "Modality",
)
#: N-CREATE Type 2 (required, may be empty) at the top level (Table F.7.2-1).
NCREATE_TYPE2 = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "ReferencedPatientSequence",
    "PerformedStationName", "PerformedLocation", "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime",
    "PerformedProcedureStepDescription", "PerformedProcedureTypeDescription", "ProcedureCodeSequence", "StudyID",
    "PerformedProtocolCodeSequence", "PerformedSeriesSequence",
)
#: In each Scheduled Step Attributes Sequence item: Type 1 and Type 2 (Table F.7.2-1).
SCHEDULED_STEP_TYPE1 = ("StudyInstanceUID",)
SCHEDULED_STEP_TYPE2 = (
    "ReferencedStudySequence", "AccessionNumber", "RequestedProcedureID", "RequestedProcedureDescription",
    "ScheduledProcedureStepID", "ScheduledProcedureStepDescription", "ScheduledProtocolCodeSequence",
)
#: The attributes whose N-SET usage is not "Not allowed" (Table F.7.2-1): the end of the
#: step, its description and codes, the series it made, radiation dose, billing and material.
NSET_ALLOWED = frozenset(_tags(
    "SpecificCharacterSet", "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime",
    "PerformedProcedureStepStatus", "PerformedProcedureStepDescription", "CommentsOnThePerformedProcedureStep",
    "PerformedProcedureTypeDescription", "ProcedureCodeSequence",
    "PerformedProcedureStepDiscontinuationReasonCodeSequence", "PerformedProtocolCodeSequence",
    "PerformedSeriesSequence", "ReasonForPerformedProcedureCodeSequence",
    # Radiation Dose (PS3.3 C.4.16)
    "AnatomicStructureSpaceOrRegionSequence", "TotalTimeOfFluoroscopy", "TotalNumberOfExposures",
    "DistanceSourceToDetector", "DistanceSourceToEntrance", "EntranceDose", "EntranceDoseInmGy", "ExposedArea",
    "ImageAndFluoroscopyAreaDoseProduct", "CommentsOnRadiationDose", "ExposureDoseSequence", "OrganDose",
    "OrganExposed",
    # Billing and Material Management Code (PS3.3 C.4.17)
    "BillingProcedureStepSequence", "FilmConsumptionSequence", "BillingSuppliesAndDevicesSequence",
))
#: Final state (COMPLETED or DISCONTINUED): Type 1 at the top level (Table F.7.2-1).
FINAL_TYPE1 = ("PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime", "PerformedSeriesSequence")
#: Final state: in each Performed Series Sequence item, Type 1 and Type 2.
FINAL_SERIES_TYPE1 = ("SeriesInstanceUID", "ProtocolName")
FINAL_SERIES_TYPE2 = (
    "RetrieveAETitle", "PerformingPhysicianName", "OperatorsName", "SeriesDescription", "ReferencedImageSequence",
    "ReferencedNonImageCompositeSOPInstanceSequence",
)


class MppsRefused(AppError):
    """A request broke a rule of PS3.4 F.7.2: answer ``status`` with ``comment`` (at most 64
    characters, an LO), the offending ``tags`` and the Error ID when one is defined."""

    def __init__(self, status: int, comment: str, tags: Iterable[int] = (), error_id: int | None = None) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment[:64]
        self.tags = tuple(tags)
        self.error_id = error_id


@dataclass(frozen=True)
class ScheduledStep:
    """What a step references of the worklist: one Scheduled Step Attributes Sequence item."""

    scheduled_procedure_step_id: str
    accession_number: str
    study_instance_uid: str


def _has_value(ds: Dataset, keyword: str) -> bool:
    if keyword not in ds:
        return False
    value = ds[keyword].value
    if value is None:
        return False
    if isinstance(value, str | bytes | list | tuple) or hasattr(value, "__len__"):
        return len(value) > 0
    return str(value) != ""


def _names(keywords: Iterable[str]) -> str:
    return ", ".join(keywords)


def _require(ds: Dataset, type1: Iterable[str], type2: Iterable[str], where: str, absent_status: int) -> None:
    type1, type2 = tuple(type1), tuple(type2)
    absent = [k for k in (*type1, *type2) if k not in ds]
    if absent:
        raise MppsRefused(absent_status, f"missing{where}: {_names(absent)}", _tags(*absent))
    empty = [k for k in type1 if not _has_value(ds, k)]
    if empty:
        raise MppsRefused(MISSING_ATTRIBUTE_VALUE, f"empty{where}: {_names(empty)}", _tags(*empty))


def _status_of(ds: Dataset) -> str:
    return str(ds.get("PerformedProcedureStepStatus", "") or "").strip()


def check_create(ds: Dataset) -> None:
    """Check an N-CREATE Attribute List (PS3.4 F.7.2.1, Table F.7.2-1); raise :class:`MppsRefused`."""
    _require(ds, NCREATE_TYPE1, NCREATE_TYPE2, "", MISSING_ATTRIBUTE)
    for item in ds.ScheduledStepAttributesSequence:
        _require(item, SCHEDULED_STEP_TYPE1, SCHEDULED_STEP_TYPE2, " in a scheduled step", MISSING_ATTRIBUTE)
    status = _status_of(ds)
    if status != IN_PROGRESS:
        raise MppsRefused(INVALID_ATTRIBUTE_VALUE, f"PPS Status must be IN PROGRESS at N-CREATE, not {status[:16]!r}",
                          _tags("PerformedProcedureStepStatus"))


def check_set(current_status: str, modification: Dataset) -> None:
    """Check an N-SET Modification List against the step's current status (PS3.4 F.7.2.2)."""
    if current_status != IN_PROGRESS:
        raise MppsRefused(PROCESSING_FAILURE, NO_LONGER_UPDATABLE, error_id=NO_LONGER_UPDATABLE_ERROR_ID)
    refused = [elem.tag for elem in modification if elem.tag not in NSET_ALLOWED]
    if refused:
        names = [keyword_for_tag(t) or f"({t >> 16:04X},{t & 0xFFFF:04X})" for t in refused]
        raise MppsRefused(INVALID_ATTRIBUTE_VALUE, f"may not be set by N-SET: {_names(names)}", refused)
    if "PerformedProcedureStepStatus" in modification:
        status = _status_of(modification)
        if not status:
            raise MppsRefused(MISSING_ATTRIBUTE_VALUE, "empty Performed Procedure Step Status",
                              _tags("PerformedProcedureStepStatus"))
        if status not in STATUSES:
            raise MppsRefused(INVALID_ATTRIBUTE_VALUE, f"PPS Status {status[:16]!r} is not one of {'/'.join(STATUSES)}",
                              _tags("PerformedProcedureStepStatus"))


def check_final(merged: Dataset) -> None:
    """A step becoming COMPLETED or DISCONTINUED holds its final-state attributes (Table F.7.2-1)."""
    if _status_of(merged) not in FINAL_STATUSES:
        return
    empty = [k for k in FINAL_TYPE1 if not _has_value(merged, k)]
    if empty:
        raise MppsRefused(MISSING_ATTRIBUTE_VALUE, f"final state needs {_names(empty)}", _tags(*empty))
    for item in merged.PerformedSeriesSequence:
        absent = [k for k in FINAL_SERIES_TYPE2 if k not in item]
        empty = [k for k in FINAL_SERIES_TYPE1 if not _has_value(item, k)]
        if absent or empty:
            raise MppsRefused(MISSING_ATTRIBUTE_VALUE, f"performed series needs {_names(empty + absent)}",
                              _tags("PerformedSeriesSequence"))


def merge(stored: Dataset, modification: Dataset) -> Dataset:
    """The step after an N-SET: each attribute of the Modification List replaces the stored one
    (a sequence as a whole, PS3.7 10.1.3); Specific Character Set is kept when the stored
    values were decoded already (the JSON model is Unicode)."""
    merged = Dataset()
    merged.update(stored)
    for elem in modification:
        if elem.keyword == "SpecificCharacterSet":
            continue
        merged[elem.tag] = elem
    return merged


def status_of(ds: Dataset) -> str:
    """The Performed Procedure Step Status of a data set ('' when absent)."""
    return _status_of(ds)


def scheduled_steps(ds: Dataset) -> tuple[ScheduledStep, ...]:
    """The worklist items a step references (its Scheduled Step Attributes Sequence)."""
    steps = []
    for item in ds.get("ScheduledStepAttributesSequence", []) or []:
        steps.append(ScheduledStep(
            scheduled_procedure_step_id=str(item.get("ScheduledProcedureStepID", "") or "").strip(),
            accession_number=str(item.get("AccessionNumber", "") or "").strip(),
            study_instance_uid=str(item.get("StudyInstanceUID", "") or "").strip(),
        ))
    return tuple(steps)
