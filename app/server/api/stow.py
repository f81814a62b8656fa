"""STOW-RS: store instances (PS3.18 10.5).

The request body is read as a stream, part by part (each spooled to memory up to 16 MiB,
then to a temporary file), its size bounded; each ``application/dicom`` part is stored
untouched by :meth:`app.server.context.Ingest.store_part10`. The response is a DICOM JSON
data set with the Referenced SOP Sequence and Failed SOP Sequence (PS3.18 10.5.3):
200 when all were stored, 202 when some failed or were stored with warnings, 409 when
none was stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.core.errors import DicomInputError
from app.server.api.deps import ApiContext
from app.server.api.dicomjson import dataset
from app.server.api.multipart import parse_media_type, read_parts
from app.server.context import CANNOT_UNDERSTAND, StoreOutcome

LOGGER = logging.getLogger(__name__)

router = APIRouter()


class PayloadTooLarge(Exception):
    """The request body exceeds the configured bound (HTTP 413)."""


class UnsupportedMediaType(Exception):
    """The request is not ``multipart/related; type="application/dicom"`` (HTTP 415)."""


async def _bounded(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
        yield chunk


async def store(request: Request, study: str | None) -> JSONResponse:
    """Store the parts of one STOW-RS request."""
    ctx: ApiContext = request.app.state.ctx
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > ctx.max_request_bytes:
        raise PayloadTooLarge(f"the request body ({length} bytes) exceeds {ctx.max_request_bytes} bytes")
    media = parse_media_type(request.headers.get("content-type", ""))
    if media.type != "multipart/related" or media.params.get("type", "application/dicom").lower() != (
        "application/dicom"
    ):
        raise UnsupportedMediaType('send multipart/related; type="application/dicom" (PS3.18 10.5.1.2)')
    boundary = media.params.get("boundary")
    if not boundary:
        raise DicomInputError("the multipart Content-Type has no boundary parameter")
    outcomes: list[StoreOutcome] = []
    source = f"STOW-RS {request.client.host if request.client else ''}".strip()
    async for part in read_parts(_bounded(request, ctx.max_request_bytes), boundary):
        try:
            if part.content_type.type != "application/dicom":
                outcomes.append(StoreOutcome(CANNOT_UNDERSTAND, f"part type {part.content_type.type} not accepted"))
                continue
            outcome = await run_in_threadpool(ctx.ingest.store_part10, part.body, source=source,
                                              expected_study_uid=study)
            outcomes.append(outcome)
        finally:
            part.body.close()
    if not outcomes:
        raise DicomInputError("the request contains no part")
    return _response(request, outcomes, study)


def _response(request: Request, outcomes: list[StoreOutcome], study: str | None) -> JSONResponse:
    base = str(request.base_url).rstrip("/") + "/dicom-web"
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    warned = False
    studies = set()
    for o in outcomes:
        item: dict[str, Any] = {"ReferencedSOPClassUID": o.sop_class_uid or None,
                                "ReferencedSOPInstanceUID": o.sop_instance_uid or None}
        if o.stored:
            studies.add(o.study_instance_uid)
            item["RetrieveURL"] = (
                f"{base}/studies/{o.study_instance_uid}/series/{o.series_instance_uid}"
                f"/instances/{o.sop_instance_uid}"
            )
            if o.status != 0:
                item["WarningReason"] = o.status
                warned = True
            referenced.append(item)
        else:
            item["FailureReason"] = o.status
            failed.append(item)
            LOGGER.info("STOW-RS part refused: 0x%04X %s", o.status, o.comment)
    body: dict[str, Any] = {}
    if study or len(studies) == 1:
        body["RetrieveURL"] = f"{base}/studies/{study or next(iter(studies))}"
    if referenced:
        body["ReferencedSOPSequence"] = referenced
    if failed:
        body["FailedSOPSequence"] = failed
    status = 409 if not referenced else 202 if failed or warned else 200
    return JSONResponse(dataset(body), status_code=status, media_type="application/dicom+json")


@router.post("/studies")
async def store_instances(request: Request) -> JSONResponse:
    """Store instances of any study (``POST /studies``)."""
    return await store(request, None)


@router.post("/studies/{study}")
async def store_study_instances(request: Request, study: str) -> JSONResponse:
    """Store instances of one study (``POST /studies/{study}``); others are refused (0xA900)."""
    return await store(request, study)
