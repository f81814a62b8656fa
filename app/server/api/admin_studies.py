"""Admin API of studies: reading status, approval, corrections, deletion.

- ``GET /api/studies/status``: ``{study uid: "new" | "read" | "approved"}``;
- ``GET /api/studies/{uid}/status``: one study's status with who/when;
- ``POST /api/studies/{uid}/read``, ``POST /api/studies/{uid}/approve`` (body ``{"by": ...}``
  optional; else the ``X-Lightbox-User`` header, else the client's address): status change
  recorded in the change log; approval fires ``study_events.approved`` (the Basic Study
  Content Notification, PS3.4 Annex D, retired);
- ``PATCH /api/studies/{uid}``: correct patient/study attributes (DICOM keywords);
- ``DELETE /api/studies/{uid}[/series/{uid}[/instances/{uid}]]``: rows removed in one
  transaction, then the files (a crash in between leaves only orphan files, which nothing
  serves or counts); fires ``study_events.deleted``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from app.core.errors import AppError, NotFoundError
from app.server.api.admin_access import context, need, who
from app.server.api.admin_models import (
    ERRORS,
    ByBody,
    CorrectionBody,
    DeletionBody,
    StudyStatusBody,
)
from app.server.corrections import check_changes
from app.server.index.admin_records import PATIENT_KEYWORDS, STUDY_KEYWORDS, CorrectionResult

LOGGER = logging.getLogger(__name__)

#: The body of a correction: DICOM keywords -> new values.
_STUDY_CHANGES = Body(
    examples=[{"StudyDescription": "CT HEAD", "AccessionNumber": "A123"}],
    description="DICOM keywords -> new values: " + ", ".join(STUDY_KEYWORDS + PATIENT_KEYWORDS),
)

router = APIRouter(prefix="/api/studies", tags=["studies"], responses=ERRORS)


def correction_json(result: CorrectionResult) -> dict[str, Any]:
    """A correction's answer body."""
    return {"study_instance_uids": list(result.study_instance_uids), "patient_id": result.patient_id,
            "changes": dict(result.changes), "change_id": result.change_id}


@router.get("/status", summary="Reading status of every study", response_model=dict[str, str])
def statuses(request: Request) -> dict[str, str]:
    """``{study uid: "new" | "read" | "approved"}`` for every study on the server."""
    return need(context(request).study_status, "a study status store").statuses()


@router.get("/{study_uid}/status", summary="Reading status of one study", response_model=StudyStatusBody)
def status(request: Request, study_uid: str) -> dict[str, Any]:
    """The study's status with who approved or read it, and when."""
    found = need(context(request).study_status, "a study status store").get(study_uid)
    if found is None:
        raise NotFoundError(f"no study {study_uid} on this server; search with GET /dicom-web/studies")
    return found.as_json()


@router.post("/{study_uid}/read", summary="Mark a study read", response_model=StudyStatusBody)
def mark_read(request: Request, study_uid: str, body: ByBody | None = None) -> dict[str, Any]:
    """Status ``read`` (an approved study stays approved)."""
    store = need(context(request).study_status, "a study status store")
    return store.mark_read(study_uid, who(request, body.by if body else None)).as_json()


@router.post("/{study_uid}/approve", summary="Approve a study", response_model=StudyStatusBody)
def approve(request: Request, study_uid: str, body: ByBody | None = None) -> dict[str, Any]:
    """Status ``approved`` with who and when; recorded in the change log; the RIS is notified.
    409 when the study is approved already."""
    ctx = context(request)
    by = who(request, body.by if body else None)
    result = need(ctx.study_status, "a study status store").approve(study_uid, by)
    if ctx.study_events is not None:
        ctx.study_events.approved(study_uid, by, result.approved_at)
    return result.as_json()


@router.patch("/{study_uid}", summary="Correct a study's patient/study attributes", response_model=CorrectionBody)
def correct_study(
    request: Request,
    study_uid: str,
    changes: Annotated[dict[str, Any], _STUDY_CHANGES],
) -> dict[str, Any]:
    """Study attributes change for this study; patient attributes too when its patient has no
    other study; a new ``PatientID`` moves the study to that patient (a split). The stored
    files stay as received; C-FIND, QIDO-RS, WADO-RS, C-MOVE and sends carry the new values."""
    ctx = context(request)
    clean = check_changes(changes, STUDY_KEYWORDS + PATIENT_KEYWORDS)
    by = who(request)
    result = need(ctx.corrections, "a correction store").correct_study(study_uid, clean, by)
    if ctx.study_events is not None:
        ctx.study_events.corrected(result.study_instance_uids, "study", clean, by)
    return correction_json(result)


def _delete(request: Request, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None) -> Any:
    ctx = context(request)
    by = who(request)
    result = need(ctx.deletions, "a deletion store").delete(study_uid, series_uid, sop_uid, by=by)
    removed = 0
    for item in result.removed:  # the rows are gone (committed): now the files
        try:
            removed += bool(ctx.storage.delete(item.relpath))
        except AppError as exc:  # left as an orphan file: never served, harmless
            LOGGER.error("could not remove the file of deleted instance %s: %s", item.sop_instance_uid, exc)
    level = "instance" if sop_uid else "series" if series_uid else "study"
    LOGGER.info("deleted %s %s: %d instances, %d files", level, sop_uid or series_uid or study_uid,
                len(result.removed), removed)
    if ctx.study_events is not None:
        ctx.study_events.deleted(
            study_uid, level, (sop_uid or series_uid or study_uid,), study_gone=result.study_gone,
            values=result.values,
            instances=tuple((i.series_instance_uid, i.sop_class_uid, i.sop_instance_uid) for i in result.removed),
        )
    return {"study_instance_uid": study_uid, "level": level, "instances": len(result.removed),
            "files_removed": removed, "study_gone": result.study_gone, "change_id": result.change_id}


@router.delete("/{study_uid}", summary="Delete a study", response_model=DeletionBody)
def delete_study(request: Request, study_uid: str) -> Any:
    """Remove the study's rows (one transaction), then its files."""
    return _delete(request, study_uid)


@router.delete("/{study_uid}/series/{series_uid}", summary="Delete a series", response_model=DeletionBody)
def delete_series(request: Request, study_uid: str, series_uid: str) -> Any:
    """Remove the series' rows (one transaction), then its files."""
    return _delete(request, study_uid, series_uid)


@router.delete(
    "/{study_uid}/series/{series_uid}/instances/{sop_uid}", summary="Delete an instance", response_model=DeletionBody
)
def delete_instance(request: Request, study_uid: str, series_uid: str, sop_uid: str) -> Any:
    """Remove the instance's rows (every stored copy; one transaction), then its files."""
    return _delete(request, study_uid, series_uid, sop_uid)
