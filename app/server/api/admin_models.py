"""Response and request bodies of the admin API, as pydantic models (they make the OpenAPI
document at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every error: a message that says what was wrong and what to do."""

    detail: str = Field(description="what was wrong and what to do about it")


class StudyStatusBody(BaseModel):
    """A study's reading status."""

    study_instance_uid: str
    status: str = Field(description="new, read or approved")
    approved_by: str | None = None
    approved_at: str | None = Field(None, description="ISO 8601, UTC")
    read_by: str | None = None
    read_at: str | None = Field(None, description="ISO 8601, UTC")


class ByBody(BaseModel):
    """Who does it; defaults to the X-Lightbox-User header, then the client's address."""

    by: str | None = Field(None, max_length=64)


class ChangeBody(BaseModel):
    """One entry of the change log."""

    id: int = Field(description="grows monotonically; ask GET /api/changes?since=<last id seen>")
    at: str = Field(description="ISO 8601, UTC")
    kind: str = Field(description="read, approved, corrected, merged, split or deleted")
    level: str = Field(description="study, series, instance or patient")
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None
    patient_id: str | None = None
    by: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class CorrectionBody(BaseModel):
    """What a correction, merge or split changed."""

    study_instance_uids: list[str] = Field(description="studies whose outbound data sets now carry other values")
    patient_id: str = Field(description="the Patient ID the studies belong to now")
    changes: dict[str, str]
    change_id: int


class MergeBody(BaseModel):
    """``into``: the Patient ID that receives every study of the patient named in the path."""

    into: str = Field(min_length=1, max_length=64)
    by: str | None = Field(None, max_length=64)


class SplitBody(BaseModel):
    """Studies to move to patient ``into`` (created from the old patient and ``values`` when new)."""

    studies: list[str] = Field(min_length=1)
    into: str = Field(min_length=1, max_length=64)
    values: dict[str, Any] = Field(default_factory=dict, description="patient-level DICOM keywords -> values")
    by: str | None = Field(None, max_length=64)


class DeletionBody(BaseModel):
    """What a deletion removed."""

    study_instance_uid: str
    level: str = Field(description="study, series or instance")
    instances: int = Field(description="instance rows removed from the index")
    files_removed: int = Field(description="stored files removed (a file already missing is not counted)")
    study_gone: bool = Field(description="the study has no instance left")
    change_id: int


class DestinationBody(BaseModel):
    """A configured destination ([[server.destinations]]): C-MOVE and send targets."""

    ae_title: str
    host: str
    port: int


class JobBody(BaseModel):
    """A durable job with its progress."""

    id: int
    kind: str
    state: str = Field(description="queued, running, done, failed or cancelled")
    description: str
    payload: dict[str, Any]
    progress: dict[str, Any] = Field(description="what the job has done so far (counts, current item, ...)")
    attempts: int
    max_attempts: int
    next_attempt_at: str | None = None
    last_error: str
    created_at: str | None = None
    updated_at: str | None = None


#: The error answers every admin route may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (404, "unknown study, series, instance, patient or job"),
        (409, "conflicts with the current state"),
        (422, "bad input"),
        (503, "the index is busy or failing; retry"),
    )
}
