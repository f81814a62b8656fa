"""Delivery of a storage commitment N-EVENT-REPORT (PS3.4 J.3.3, PS3.7 10.1.1).

Two ways, chosen by :mod:`app.server.handlers.commitment`:

- :func:`send_on_open`: on the association the N-ACTION came on, while it is open. No role
  negotiation is needed there: the requester is the SCU of the SOP class and receives the
  notification as such. pynetdicom serves an acceptor association on one thread (its
  "reactor"); the reactor is held at its checkpoint between messages (after the N-ACTION
  response went out), so that the N-EVENT-REPORT response is read here. A requester that
  releases or aborts meanwhile makes this give up at once.
- :func:`send_on_new`: on a new association from our Storage AE, proposing the Storage
  Commitment Push Model with SCP/SCU Role Selection (PS3.7 D.3.3.4) in which we take the
  SCP role and not the SCU role (PS3.4 J.3.3: the SCP that initiates the association for the
  report is its requestor in the SCP role), as DCMTK-based and dcm4che peers expect.
"""

from __future__ import annotations

import logging
import time
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context, build_role
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dsutils import encode
from pynetdicom.pdu_primitives import A_RELEASE

from app.core.config import Destination, ServerConfig
from app.core.errors import AppError
from app.server.commitment import PUSH_MODEL, PUSH_MODEL_INSTANCE, SUCCESS
from app.server.scu import associate, keep_responses

LOGGER = logging.getLogger(__name__)

#: How long to wait for the requesting association's reactor to stop between messages.
_PAUSE_SECONDS = 5.0


class ReportNotDelivered(AppError):
    """The N-EVENT-REPORT could not be delivered this time (the job is retried)."""


def _delivered(status: int) -> bool:
    """Whether an N-EVENT-REPORT response status means the report arrived (success or warning)."""
    return status == SUCCESS or 0xB000 <= status <= 0xBFFF


def send_on_open(assoc: Any, event_type: int, info: Dataset, timeout: float) -> bool:
    """Send the report on the requesting association (PS3.4 J.3.3); False when it is
    closed, closing, or does not answer (the caller then opens a new association).

    pynetdicom serves an acceptor association on one thread; its reactor is paused
    between messages, so that the response is read here and not by the reactor. While the
    report is out, a response the reactor takes in spite of the pause (pynetdicom issue
    #875) goes back to the queue (:func:`app.server.scu.keep_responses`); afterwards the
    association serves requests as before.
    """
    if not assoc.is_established:
        return False
    original = assoc._serve_request
    keep_responses(assoc)
    if not _pause(assoc):
        assoc._serve_request = original
        return False
    status: int | None = None
    try:
        if _release_requested(assoc):
            return False
        context = next((cx for cx in assoc.accepted_contexts if str(cx.abstract_syntax) == PUSH_MODEL), None)
        if context is None:
            return False
        syntax = context.transfer_syntax[0]
        encoded = encode(info, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
        req = N_EVENT_REPORT()
        req.MessageID = 1
        req.AffectedSOPClassUID = PUSH_MODEL
        req.AffectedSOPInstanceUID = PUSH_MODEL_INSTANCE
        req.EventTypeID = event_type
        req.EventInformation = BytesIO(encoded or b"")
        assoc.dimse.send_msg(req, context.context_id)
        status = _await_response(assoc, timeout)
    finally:
        assoc._serve_request = original
        assoc._reactor_checkpoint.set()
    if status is None:
        LOGGER.info("no N-EVENT-REPORT response on the requesting association; opening a new one")
        return False
    if not _delivered(status):
        LOGGER.warning("the requester answered the N-EVENT-REPORT with 0x%04X; reporting again", status)
        return False
    return True


def _pause(assoc: Any) -> bool:
    """Hold the association's reactor at its checkpoint (after the N-ACTION response)."""
    assoc._reactor_checkpoint.clear()
    deadline = time.monotonic() + _PAUSE_SECONDS
    while not assoc._is_paused:
        if not assoc.is_established or not assoc.is_alive() or time.monotonic() > deadline:
            assoc._reactor_checkpoint.set()
            return False
        time.sleep(0.0005)
    return True


def _release_requested(assoc: Any) -> bool:
    """Whether the peer asked to release (or aborted) while the reactor is paused."""
    primitive = assoc.dul.peek_next_pdu()
    return isinstance(primitive, A_RELEASE) or assoc.acse.is_aborted() or not assoc.is_established


def _await_response(assoc: Any, timeout: float) -> int | None:
    """The Status of the N-EVENT-REPORT-RSP, or None (timeout, release, abort, another message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _context_id, msg = assoc.dimse.peek_msg()
        if msg is not None:
            if isinstance(msg, N_EVENT_REPORT) and msg.MessageIDBeingRespondedTo == 1:
                assoc.dimse.get_msg(block=False)
                return int(msg.Status) if msg.Status is not None else None
            return None  # a new request from the peer: leave it to the reactor
        if _release_requested(assoc):
            return None
        time.sleep(0.002)
    return None


def send_on_new(
    config: ServerConfig, destination: Destination, calling_title: str, event_type: int, info: Dataset
) -> None:
    """Open an association to ``destination`` in the SCP role and send the report;
    raises :class:`ReportNotDelivered` when that fails (the job is retried)."""
    context = build_context(PUSH_MODEL, [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
    role = build_role(PUSH_MODEL, scu_role=False, scp_role=True)
    try:
        assoc = associate(config, destination, [context], calling_ae_title=calling_title, ext_neg=[role])
    except Exception as exc:
        raise ReportNotDelivered(f"cannot reach {destination.ae_title}: {exc}") from exc
    if not assoc.is_established:
        raise ReportNotDelivered(
            f"{destination.ae_title} at {destination.host}:{destination.port} refused or did not answer the "
            "association"
        )
    try:
        if not any(str(cx.abstract_syntax) == PUSH_MODEL for cx in assoc.accepted_contexts):
            raise ReportNotDelivered(f"{destination.ae_title} did not accept the Storage Commitment Push Model")
        status, _reply = assoc.send_n_event_report(info, event_type, PUSH_MODEL, PUSH_MODEL_INSTANCE, msg_id=1)
        code = status.get("Status") if status is not None else None
        if code is None:
            raise ReportNotDelivered(f"{destination.ae_title} did not answer the N-EVENT-REPORT")
        if not _delivered(int(code)):
            raise ReportNotDelivered(f"{destination.ae_title} answered the N-EVENT-REPORT with 0x{int(code):04X}")
    finally:
        if assoc.is_established:
            assoc.release()
    LOGGER.info("storage commitment report (event type %d) delivered to %s", event_type, destination.ae_title)
