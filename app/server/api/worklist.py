"""Admin API of the Modality Worklist: the items the MWL SCP serves (PS3.4 K.6.1).

- ``GET /api/worklist?limit=100&offset=0``: the items in id order, each
  ``{"id", "status", "created_at", "updated_at", "dataset"}`` with the data set in the DICOM
  JSON model (PS3.18 F.2) and its current Scheduled Procedure Step Status;
- ``POST /api/worklist``: create an item from one DICOM JSON data set
  (``application/dicom+json`` or ``application/json``) or from a DICOM worklist file
  (``application/dicom``: Part 10 or a bare data set such as DCMTK's ``.wl`` files);
  201 with ``{"id", "status"}`` and a ``Location`` header;
- ``GET /api/worklist/{id}``, ``PUT /api/worklist/{id}`` (replace; a body without a Scheduled
  Procedure Step Status keeps the current one), ``DELETE /api/worklist/{id}`` (204).

Bodies are bounded (:data:`app.server.worklist_items.MAX_ITEM_BYTES`, else 413); a body
that is not a valid item gets 400 with what to fix (:func:`app.server.worklist_items.normalise`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydicom.dataset import Dataset
from starlette.concurrency import run_in_threadpool

from app.core.errors import DicomInputError, NotFoundError
from app.server.api.deps import ApiContext
from app.server.api.multipart import parse_media_type
from app.server.api.stow import PayloadTooLarge, UnsupportedMediaType, _bounded
from app.server.index.worklist_records import WorklistStoreProtocol
from app.server.worklist_items import MAX_ITEM_BYTES, WorklistItem, item_json, normalise, read_file_item, read_json_item

router = APIRouter()

#: Largest page of ``GET /api/worklist``.
MAX_PAGE = 10_000

_JSON_TYPES = ("application/dicom+json", "application/json")
_FILE_TYPES = ("application/dicom", "application/octet-stream")
_STATUS = "ScheduledProcedureStepStatus"


def _store(request: Request) -> WorklistStoreProtocol:
    ctx: ApiContext = request.app.state.ctx
    if ctx.worklist is None:
        raise NotFoundError("this server keeps no worklist (no worklist store)")
    return ctx.worklist


def _item_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise DicomInputError(f"{text[:40]!r} is not a worklist item id; ids are whole numbers (GET /api/worklist)")
    return int(text)


async def _read_item(request: Request) -> WorklistItem:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_ITEM_BYTES:
        raise PayloadTooLarge(f"a worklist item ({length} bytes) may be at most {MAX_ITEM_BYTES} bytes")
    media = parse_media_type(request.headers.get("content-type", "")).type
    if media not in _JSON_TYPES + _FILE_TYPES:
        raise UnsupportedMediaType(
            "send a worklist item as application/dicom+json (DICOM JSON) or application/dicom (a DICOM file)"
        )
    try:
        body = b"".join([chunk async for chunk in _bounded(request, MAX_ITEM_BYTES)])
    except PayloadTooLarge:
        raise PayloadTooLarge(f"a worklist item may be at most {MAX_ITEM_BYTES} bytes") from None
    if not body:
        raise DicomInputError("the request body is empty; send one worklist item")

    def parse() -> WorklistItem:
        ds: Dataset = read_json_item(body) if media in _JSON_TYPES else read_file_item(body)
        return normalise(ds)

    return await run_in_threadpool(parse)


def _whole(name: str, text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise DicomInputError(f"{name}={text[:20]!r}: use a whole number from {low} to {high}")
    return int(text)


@router.get("/api/worklist")
def list_items(request: Request, limit: str = "100", offset: str = "0") -> list[dict[str, Any]]:
    """The worklist items, in id order (``limit`` 1-10000, ``offset`` from 0)."""
    page = _store(request).list_items(limit=_whole("limit", limit, 1, MAX_PAGE),
                                      offset=_whole("offset", offset, 0, 10**12))
    return [item_json(record) for record in page]


@router.post("/api/worklist", status_code=201, response_model=dict[str, Any])
async def create_item(request: Request) -> JSONResponse:
    """Create an item from DICOM JSON or a DICOM worklist file."""
    store = _store(request)
    item = await _read_item(request)
    item_id = await run_in_threadpool(store.create, item.keys, item.dataset)
    record = store.get(item_id)
    status = record.status if record is not None else ""
    return JSONResponse({"id": item_id, "status": status}, status_code=201,
                        headers={"Location": f"/api/worklist/{item_id}"})


@router.get("/api/worklist/{item_id}")
def get_item(request: Request, item_id: str) -> dict[str, Any]:
    """One item."""
    record = _store(request).get(_item_id(item_id))
    if record is None:
        raise NotFoundError(f"no worklist item {item_id}; list them with GET /api/worklist")
    return item_json(record)


@router.put("/api/worklist/{item_id}")
async def replace_item(request: Request, item_id: str) -> dict[str, Any]:
    """Replace an item (its status stays unless the new data set gives one)."""
    store = _store(request)
    key = _item_id(item_id)
    current = await run_in_threadpool(store.get, key)
    if current is None:
        raise NotFoundError(f"no worklist item {item_id}; create it with POST /api/worklist")
    item = await _read_item(request)
    keys = dict(item.keys)
    if not keys.get(_STATUS):
        keys[_STATUS] = current.status
    if not await run_in_threadpool(store.update, key, keys, item.dataset):
        raise NotFoundError(f"worklist item {item_id} was deleted meanwhile")
    record = await run_in_threadpool(store.get, key)
    if record is None:
        raise NotFoundError(f"worklist item {item_id} was deleted meanwhile")
    return item_json(record)


@router.delete("/api/worklist/{item_id}", status_code=204)
def delete_item(request: Request, item_id: str) -> Response:
    """Delete an item."""
    if not _store(request).delete(_item_id(item_id)):
        raise NotFoundError(f"no worklist item {item_id}; list them with GET /api/worklist")
    return Response(status_code=204)
