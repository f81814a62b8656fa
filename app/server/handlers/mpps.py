"""MPPS SCP handlers (PS3.4 F.7.2): pynetdicom's ``EVT_N_CREATE`` and ``EVT_N_SET``.

Thin adapters over :class:`app.server.mpps.MppsService`; they never raise. A refusal
becomes its DIMSE status with an Error Comment, the Error ID where PS3.4 Table F.7.2-2
defines one, and (N-SET) the Attribute Identifier List; an unexpected failure is 0x0110
processing failure; the index being unavailable is 0x0213 resource limitation.
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom.dataset import Dataset

from app.core.errors import IndexFailure
from app.dicom.mpps import PROCESSING_FAILURE, MppsRefused
from app.server.handlers.store import clean_comment
from app.server.mpps import MppsService

LOGGER = logging.getLogger(__name__)

SUCCESS = 0x0000
RESOURCE_LIMITATION = 0x0213


def _failure(status: int, comment: str, error_id: int | None = None, tags: tuple[int, ...] = (),
             with_tags: bool = False) -> Dataset:
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = clean_comment(comment)  # ASCII: the command set has no character set
    if error_id is not None:
        ds.ErrorID = error_id
    if with_tags and tags:
        ds.AttributeIdentifierList = list(tags)
    return ds


def _guarded(operation: str, call: Any, with_tags: bool) -> tuple[Any, Dataset | None]:
    try:
        return call()
    except MppsRefused as exc:
        LOGGER.info("MPPS %s refused (0x%04X): %s", operation, exc.status, exc.comment)
        return _failure(exc.status, exc.comment, exc.error_id, exc.tags, with_tags), None
    except IndexFailure as exc:
        LOGGER.error("MPPS %s failed: %s", operation, exc)
        return _failure(RESOURCE_LIMITATION, "the index is unavailable; retry later"), None
    except Exception as exc:
        LOGGER.exception("MPPS %s failed", operation)
        return _failure(PROCESSING_FAILURE, f"{operation} failed: {type(exc).__name__}"), None


def handle_n_create(event: Any, service: MppsService) -> tuple[Any, Dataset | None]:
    """Answer an N-CREATE of a Modality Performed Procedure Step (PS3.4 F.7.2.1.3).

    On success the response carries the step's SOP Instance UID (the one the SCU gave, or
    one made here, PS3.7 10.1.5.1.4).
    """

    def create() -> tuple[int, Dataset | None]:
        requested = event.request.AffectedSOPInstanceUID
        attributes = event.attribute_list
        record = service.create(attributes, str(requested) if requested else None, _calling(event))
        if requested:
            return SUCCESS, None
        reply = Dataset()
        reply.AffectedSOPInstanceUID = record.sop_instance_uid
        return SUCCESS, reply

    return _guarded("N-CREATE", create, with_tags=False)


def handle_n_set(event: Any, service: MppsService) -> tuple[Any, Dataset | None]:
    """Answer an N-SET of a Modality Performed Procedure Step (PS3.4 F.7.2.2.3)."""

    def set_() -> tuple[int, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID or "").strip()
        service.set(uid, event.modification_list)
        return SUCCESS, None

    return _guarded("N-SET", set_, with_tags=True)


def _calling(event: Any) -> str:
    try:
        return str(event.assoc.requestor.ae_title).strip()
    except Exception:
        return ""
