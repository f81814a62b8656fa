"""Admin API of patients: corrections, merges and splits (catalogue only; files stay as received).

- ``PATCH /api/patients/{patient_id}[?issuer=...]``: correct patient attributes of every
  study of the patient (``PatientName``, ``PatientID``, ``IssuerOfPatientID``,
  ``PatientBirthDate``, ``PatientSex``); a ``PatientID`` another patient has: 409 (merge);
- ``POST /api/patients/{patient_id}/merge`` ``{"into": other_id}``: every study moves to
  ``other_id``; the patient disappears;
- ``POST /api/patients/{patient_id}/split`` ``{"studies": [...], "into": id, "values": {...}}``:
  the studies move to patient ``id`` (created from this patient's values and ``values``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from app.server.api.admin_access import context, need, who
from app.server.api.admin_models import ERRORS, CorrectionBody, MergeBody, SplitBody
from app.server.api.admin_studies import correction_json
from app.server.corrections import check_changes
from app.server.index.admin_records import PATIENT_KEYWORDS

#: The body of a correction: DICOM keywords -> new values.
_PATIENT_CHANGES = Body(
    examples=[{"PatientName": "DOE^JANE", "PatientBirthDate": "19700131"}],
    description="DICOM keywords -> new values: " + ", ".join(PATIENT_KEYWORDS),
)

router = APIRouter(prefix="/api/patients", tags=["patients"], responses=ERRORS)


@router.patch("/{patient_id:path}", summary="Correct a patient's attributes", response_model=CorrectionBody)
def correct_patient(
    request: Request,
    patient_id: str,
    changes: Annotated[dict[str, Any], _PATIENT_CHANGES],
    issuer: str | None = None,
) -> dict[str, Any]:
    """Every study of the patient answers with the new values (C-FIND, QIDO-RS) and carries
    them out (WADO-RS, C-MOVE, sends)."""
    ctx = context(request)
    clean = check_changes(changes, PATIENT_KEYWORDS)
    by = who(request)
    result = need(ctx.corrections, "a correction store").correct_patient(patient_id, clean, by, issuer)
    if ctx.study_events is not None and result.study_instance_uids:
        ctx.study_events.corrected(result.study_instance_uids, "patient", clean, by)
    return correction_json(result)


@router.post("/{patient_id:path}/merge", summary="Merge a patient into another", response_model=CorrectionBody)
def merge(request: Request, patient_id: str, body: MergeBody) -> dict[str, Any]:
    """Move every study of ``patient_id`` to patient ``into`` (which keeps its own values)."""
    ctx = context(request)
    by = who(request, body.by)
    result = need(ctx.corrections, "a correction store").merge(patient_id, body.into.strip(), by)
    if ctx.study_events is not None and result.study_instance_uids:
        ctx.study_events.corrected(result.study_instance_uids, "merge", result.changes, by)
    return correction_json(result)


@router.post(
    "/{patient_id:path}/split", summary="Move studies to another or a new patient", response_model=CorrectionBody
)
def split(request: Request, patient_id: str, body: SplitBody) -> dict[str, Any]:
    """Move ``studies`` of ``patient_id`` to patient ``into``: an existing one, or a new one made
    of this patient's values with ``values`` over them."""
    ctx = context(request)
    into = check_changes({"PatientID": body.into}, ("PatientID",))["PatientID"]
    values = check_changes(body.values, PATIENT_KEYWORDS) if body.values else {}
    values.pop("PatientID", None)
    by = who(request, body.by)
    result = need(ctx.corrections, "a correction store").split(patient_id, list(body.studies), into, values, by)
    if ctx.study_events is not None:
        ctx.study_events.corrected(result.study_instance_uids, "split", result.changes, by)
    return correction_json(result)
