"""Storage Commitment Push Model SCP on the Storage AEs: N-ACTION in, N-EVENT-REPORT out (PS3.4 J.3).

The N-ACTION (PS3.4 J.3.2) is checked (:func:`app.server.commitment.parse_request`) and,
when accepted, written to the index as a durable job of kind :data:`JOB_KIND` *before*
the success status is answered: a report owed survives a restart. The job runner then
checks each instance against the index and its file and sends the N-EVENT-REPORT
(PS3.4 J.3.3):

- on the requesting association, when ``[server.commitment] same_association`` is on, no
  ``report_to`` is set, and that association is still open (this process only);
- otherwise on a new association from the Storage AE that received the request to the
  requester (its AE title looked up in ``[[server.destinations]]``), or always to
  ``report_to`` (the IHE option). The association proposes the Storage Commitment Push
  Model with SCP/SCU Role Selection (PS3.7 D.3.3.4) giving us the SCP role, as the SCP
  that sends the report on an association it initiates must (PS3.4 J.3.3).

An unreachable requester is retried with back-off; an unknown requester fails the job at
once with an error saying what to configure.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode

from app.core.config import Destination, ServerConfig
from app.server.commitment import (
    MAX_ACTION_INFORMATION_BYTES,
    MISSING_ATTRIBUTE,
    NO_SUCH_ACTION,
    NO_SUCH_OBJECT_INSTANCE,
    NO_SUCH_SOP_CLASS,
    PROCESSING_FAILURE,
    PUSH_MODEL,
    PUSH_MODEL_INSTANCE,
    REQUEST_COMMITMENT,
    RESOURCE_LIMITATION,
    SUCCESS,
    CommitmentRequest,
    RequestRefused,
    event_information,
    parse_request,
    verify,
)
from app.server.commitment_delivery import send_on_new, send_on_open
from app.server.handlers.store import clean_comment
from app.server.index.job_records import Job, JobStoreProtocol
from app.server.index.records import CatalogueProtocol
from app.server.jobs import JobControl, PermanentJobError

LOGGER = logging.getLogger(__name__)

#: Kind of the durable report jobs.
JOB_KIND = "commitment-report"

def _refusal(status: int, comment: str) -> tuple[Dataset, None]:
    """An N-ACTION failure response: Status and Error Comment (PS3.7 C.4.3.1)."""
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = clean_comment(comment)
    return ds, None


class CommitmentService:
    """The Storage Commitment Push Model SCP of the Storage AEs.

    Parameters
    ----------
    config
        Server settings: ``commitment`` (same_association, report_to), ``destinations``,
        ``qr.ae_title`` (the Retrieve AE Title of the reports), ``storage`` (our AE titles),
        ``job_max_attempts``, ``network_timeout``, ``max_pdu``.
    catalogue
        The index.
    jobs
        The durable job table.
    path_of
        Absolute path of a stored file (``Storage.path_of``).
    wake
        Tells the job runner a job is due (``JobRunner.wake``).
    """

    def __init__(
        self,
        config: ServerConfig,
        catalogue: CatalogueProtocol,
        jobs: JobStoreProtocol,
        path_of: Callable[[str], Path],
        wake: Callable[[], None],
    ) -> None:
        self._config = config
        self._catalogue = catalogue
        self._jobs = jobs
        self._path_of = path_of
        self._wake = wake
        self._destinations: Mapping[str, Destination] = {d.ae_title: d for d in config.destinations}
        #: Job id -> the association its request came on (while it lives; never persisted).
        self._open: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._open_lock = threading.Lock()

    # -- N-ACTION ----------------------------------------------------------------------------------

    def handle_n_action(self, event: Any) -> tuple[int | Dataset, Dataset | None]:
        """``EVT_N_ACTION``: accept a Request Storage Commitment (PS3.4 J.3.2); never raises.

        Returns the status: 0x0000 once the report job is stored; 0x0118 for another SOP
        class, 0x0112 for another SOP instance than the well-known one, 0x0123 for another
        action type, 0x0120 / 0x0121 / 0x0106 for missing or malformed attributes, 0x0213
        for a request too large, 0x0110 when it cannot be decoded or stored.
        """
        try:
            return self._accept(event)
        except RequestRefused as refused:
            LOGGER.info("storage commitment request refused (0x%04X): %s", refused.status, refused.comment)
            return _refusal(refused.status, refused.comment)
        except Exception:
            LOGGER.exception("storage commitment request failed")
            return _refusal(PROCESSING_FAILURE, "the request could not be stored; try again")

    def _accept(self, event: Any) -> tuple[int | Dataset, Dataset | None]:
        req = event.request
        if str(req.RequestedSOPClassUID or "") != PUSH_MODEL:
            raise RequestRefused(NO_SUCH_SOP_CLASS, "Requested SOP Class is not Storage Commitment Push Model")
        if str(req.RequestedSOPInstanceUID or "").strip() != PUSH_MODEL_INSTANCE:
            raise RequestRefused(NO_SUCH_OBJECT_INSTANCE, f"Requested SOP Instance UID must be {PUSH_MODEL_INSTANCE}")
        if req.ActionTypeID != REQUEST_COMMITMENT:
            raise RequestRefused(NO_SUCH_ACTION, f"Action Type ID must be {REQUEST_COMMITMENT}")
        raw = req.ActionInformation
        if raw is None or raw.getbuffer().nbytes == 0:
            raise RequestRefused(MISSING_ATTRIBUTE, "Action Information missing")
        if raw.getbuffer().nbytes > MAX_ACTION_INFORMATION_BYTES:
            raise RequestRefused(RESOURCE_LIMITATION, "Action Information too large; split the request")
        syntax = event.context.transfer_syntax
        try:
            raw.seek(0)
            info = decode(raw, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
            request = parse_request(info)
        except RequestRefused:
            raise
        except Exception as exc:
            raise RequestRefused(PROCESSING_FAILURE, f"Action Information unreadable: {type(exc).__name__}") from exc
        assoc = event.assoc
        requester = str(assoc.requestor.ae_title).strip()
        called = str(assoc.acceptor.ae_title).strip()
        payload = {**request.payload(), "requester": requester, "storage_ae": called}
        with self._open_lock:  # the runner may claim the job at once: it looks after this block
            job_id = self._jobs.enqueue(
                JOB_KIND, payload, max_attempts=self._config.job_max_attempts,
                description=f"storage commitment report to {requester} ({len(request.references)} instances)",
            )
            if self._config.commitment.same_association and not self._config.commitment.report_to:
                self._open[job_id] = assoc
        LOGGER.info(
            "storage commitment %s from %s accepted: %d instances (job %d)",
            request.transaction_uid, requester, len(request.references), job_id,
        )
        self._wake()
        return SUCCESS, None

    # -- the report job ----------------------------------------------------------------------------

    def report(self, job: Job, control: JobControl) -> dict[str, Any]:
        """Job handler: check the instances and deliver the N-EVENT-REPORT (PS3.4 J.3.3)."""
        try:
            request = CommitmentRequest.from_payload(job.payload)
        except (ValueError, TypeError) as exc:
            raise PermanentJobError(f"malformed commitment report job: {exc}") from exc
        requester = str(job.payload.get("requester", ""))
        stored = self._catalogue.instances_by_uid([r.sop_instance_uid for r in request.references])
        verdicts = verify(request.references, stored, self._path_of)
        event_type, info = event_information(request.transaction_uid, verdicts, self._config.qr.ae_title)
        failed = [v for v in verdicts if not v.committed]
        for verdict in failed:
            LOGGER.warning(
                "storage commitment %s: %s not committed (0x%04X): %s", request.transaction_uid,
                verdict.reference.sop_instance_uid, verdict.failure_reason, verdict.why,
            )
        outcome: dict[str, Any] = {
            "transaction_uid": request.transaction_uid,
            "committed": len(verdicts) - len(failed),
            "failed": len(failed),
        }
        control.progress(**outcome)
        with self._open_lock:
            assoc = self._open.pop(job.id, None)
        if assoc is not None and send_on_open(assoc, event_type, info, self._config.network_timeout):
            return {**outcome, "delivered": "on the requesting association"}
        destination = self._report_destination(requester, request.transaction_uid)
        send_on_new(self._config, destination, self._calling_title(job.payload), event_type, info)
        return {**outcome, "delivered": f"on a new association to {destination.ae_title}"}

    def _report_destination(self, requester: str, transaction_uid: str) -> Destination:
        target = self._config.commitment.report_to.strip() or requester
        destination = self._destinations.get(target)
        if destination is None:
            message = (
                f"storage commitment report {transaction_uid}: the requesting AE {requester!r} is not in "
                "[[server.destinations]]; add it (ae_title, host, port) or set [server.commitment] report_to"
            )
            LOGGER.error("%s", message)
            raise PermanentJobError(message)
        return destination

    def _calling_title(self, payload: Mapping[str, Any]) -> str:
        ours = [s.ae_title for s in self._config.storage]
        title = str(payload.get("storage_ae", ""))
        return title if title in ours else (ours[0] if ours else self._config.qr.ae_title)
