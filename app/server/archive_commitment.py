"""Storage Commitment Push Model, SCU side, for the external archive (PS3.4 J.3).

We ask the archive to commit to keep a study's instances with an N-ACTION (Action Type ID 1,
PS3.4 J.3.2) under a new Transaction UID, recorded in the index (``archive_study``) before the
request goes out. The archive answers with an N-EVENT-REPORT (PS3.4 J.3.3): on that
association, or - as most archives do - on a new association to our Storage AE in which it
takes the SCP role (SCP/SCU Role Selection, PS3.7 D.3.3.4). Both arrive at
:meth:`CommitmentReports.handle`, installed as the ``EVT_N_EVENT_REPORT`` handler of the
Storage AEs; the report is matched to the study by its Transaction UID in the index, so a
report that comes after a restart (or to another server process on a shared index) is not lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context

from app.core.config import Destination, ServerConfig
from app.server.commitment import (
    ALL_COMMITTED,
    MAX_REFERENCES,
    PROCESSING_FAILURE,
    PUSH_MODEL,
    PUSH_MODEL_INSTANCE,
    REASON_PROCESSING_FAILURE,
    REQUEST_COMMITMENT,
    SOME_FAILED,
    SUCCESS,
    Reference,
    _reference_item,
)
from app.server.handlers.store import clean_comment
from app.server.index.archive_records import ArchiveStoreProtocol
from app.server.scu import associate

LOGGER = logging.getLogger(__name__)

#: N-EVENT-REPORT statuses we answer (PS3.7 10.1.1.1.8, Annex C).
NO_SUCH_SOP_CLASS = 0x0118
NO_SUCH_EVENT_TYPE = 0x0113
INVALID_ARGUMENT = 0x0115


class CommitmentNotRequested(ConnectionError):
    """The archive refused or did not answer the N-ACTION (the job is retried)."""


def request_commitment(
    config: ServerConfig, destination: Destination, transaction_uid: str, references: Sequence[Reference]
) -> None:
    """Send the N-ACTION Request Storage Commitment (PS3.4 J.3.2) to the archive, calling as
    our first Storage AE (where the report is to come); raises :class:`CommitmentNotRequested`."""
    if len(references) > MAX_REFERENCES:
        raise CommitmentNotRequested(f"{len(references)} instances exceed one request ({MAX_REFERENCES})")
    info = Dataset()
    info.TransactionUID = transaction_uid
    info.ReferencedSOPSequence = [_reference_item(r) for r in references]
    context = build_context(PUSH_MODEL, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    calling = config.storage[0].ae_title if config.storage else config.qr.ae_title
    assoc = associate(config, destination, [context], calling_ae_title=calling)
    if not assoc.is_established:
        raise CommitmentNotRequested(
            f"{destination.ae_title} at {destination.host}:{destination.port} did not accept the association"
        )
    try:
        if not any(str(cx.abstract_syntax) == PUSH_MODEL for cx in assoc.accepted_contexts):
            raise CommitmentNotRequested(f"{destination.ae_title} does not offer Storage Commitment Push Model")
        status, _reply = assoc.send_n_action(info, REQUEST_COMMITMENT, PUSH_MODEL, PUSH_MODEL_INSTANCE, msg_id=1)
        code = status.get("Status") if status is not None else None
        if code is None:
            raise CommitmentNotRequested(f"{destination.ae_title} did not answer the N-ACTION")
        if int(code) != SUCCESS:
            raise CommitmentNotRequested(f"{destination.ae_title} answered the N-ACTION with 0x{int(code):04X}")
    finally:
        if assoc.is_established:
            assoc.release()
    LOGGER.info("storage commitment %s asked of %s (%d instances)", transaction_uid, destination.ae_title,
                len(references))


def _refusal(status: int, comment: str) -> tuple[Dataset, None]:
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = clean_comment(comment)
    return ds, None


class CommitmentReports:
    """``EVT_N_EVENT_REPORT`` of the Storage AEs: the archive's commitment reports.

    Parameters
    ----------
    store
        The archive state (the Transaction UIDs awaited).
    wake
        Tells the job runner a job may go on (``JobRunner.wake``).
    """

    def __init__(self, store: ArchiveStoreProtocol, wake: Callable[[], None]) -> None:
        self._store = store
        self._wake = wake

    def handle(self, event: Any) -> tuple[int | Dataset, Dataset | None]:
        """Record one report (PS3.4 J.3.3); never raises. 0x0000 once recorded; 0x0118 for
        another SOP class, 0x0113 for another event type, 0x0115 for an unknown Transaction UID
        or a malformed report, 0x0110 when the index cannot take it."""
        try:
            req = event.request
            if str(req.AffectedSOPClassUID or "") != PUSH_MODEL:
                return _refusal(NO_SUCH_SOP_CLASS, "only Storage Commitment Push Model reports are taken")
            if req.EventTypeID not in (ALL_COMMITTED, SOME_FAILED):
                return _refusal(NO_SUCH_EVENT_TYPE, "Event Type ID must be 1 or 2")
            info = event.event_information
            committed = [str(item.ReferencedSOPInstanceUID) for item in info.get("ReferencedSOPSequence", [])]
            failed = [
                (str(item.ReferencedSOPInstanceUID), int(item.get("FailureReason", REASON_PROCESSING_FAILURE)))
                for item in info.get("FailedSOPSequence", [])
            ]
            transaction_uid = str(info.get("TransactionUID", "")).strip()
        except Exception as exc:
            LOGGER.warning("unreadable storage commitment report: %s", exc)
            return _refusal(INVALID_ARGUMENT, "report unreadable")
        if len(committed) + len(failed) > MAX_REFERENCES:
            return _refusal(INVALID_ARGUMENT, f"more than {MAX_REFERENCES} instances")
        try:
            outcome = self._store.record_report(transaction_uid, committed, failed)
        except Exception:
            LOGGER.exception("storage commitment report %s not recorded", transaction_uid)
            return _refusal(PROCESSING_FAILURE, "the report could not be recorded; send it again")
        if outcome is None:
            LOGGER.warning("storage commitment report for unknown transaction %r ignored", transaction_uid)
            return _refusal(INVALID_ARGUMENT, "no request awaits this Transaction UID")
        LOGGER.info("archive committed %d, failed %d instance(s) of study %s (transaction %s)",
                    outcome.committed, outcome.failed, outcome.study_instance_uid, transaction_uid)
        self._wake()
        return SUCCESS, None
