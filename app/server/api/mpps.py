"""Admin API of the MPPS SCP: the performed procedure steps received (PS3.4 F.7).

- ``GET /api/mpps?status=COMPLETED&limit=100``: the steps, most recently changed first
  (SOP Instance UID, status, calling AE title, patient ID, study, accession, times);
- ``GET /api/mpps/{sop_instance_uid}``: one step, its current attributes in the DICOM JSON
  model (PS3.18 F.2).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydicom.uid import UID

from app.core.errors import DicomInputError, NotFoundError
from app.dicom.mpps import STATUSES
from app.server.api.deps import ApiContext
from app.server.index.mpps_records import MppsStoreProtocol

router = APIRouter()


def _store(request: Request) -> MppsStoreProtocol:
    ctx: ApiContext = request.app.state.ctx
    if ctx.mpps is None:
        raise NotFoundError("this server keeps no performed procedure steps (no MPPS store)")
    return ctx.mpps


@router.get("/api/mpps")
def list_steps(
    request: Request, status: str | None = None, limit: int = Query(100, ge=1, le=10_000)
) -> list[dict[str, Any]]:
    """The stored steps, optionally only those with one Performed Procedure Step Status."""
    if status is not None and status not in STATUSES:
        raise DicomInputError(f"status={status!r}: use one of {', '.join(STATUSES)}")
    return [record.summary() for record in _store(request).list(status=status, limit=limit)]


@router.get("/api/mpps/{sop_instance_uid}", response_model=dict[str, Any])
def get_step(request: Request, sop_instance_uid: str) -> JSONResponse:
    """One step as a DICOM JSON data set."""
    if not UID(sop_instance_uid).is_valid:
        raise DicomInputError(f"{sop_instance_uid[:80]!r} is not a valid UID (digits and dots, at most 64 characters)")
    record = _store(request).get(sop_instance_uid)
    if record is None:
        raise NotFoundError(f"no performed procedure step {sop_instance_uid}; list them with GET /api/mpps")
    return JSONResponse(record.dataset, media_type="application/dicom+json")
