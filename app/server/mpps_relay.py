"""MPPS relay: each accepted N-CREATE / N-SET is sent on to the MPPS SCPs of
``[server.mpps] relay_to`` as a durable job (kind :data:`RELAY_KIND`, one per destination).

The relay acts as a Modality Performed Procedure Step SCU (PS3.4 F.7.2) with the same
request it received. Order is kept per instance and destination: a job does not run while
an earlier relay job of the same instance to the same destination is still queued or
running (it waits, :class:`app.server.jobs.JobNotReady`), so an N-SET never overtakes the
N-CREATE it follows. A job is delivered when the peer answers success or a warning, and
also when a re-send can only be refused because the first send arrived but its answer was
lost: 0x0111 (duplicate SOP instance) to an N-CREATE, and 0x0110 "may no longer be
updated" to an N-SET that made the step final. Association failures and other failure
statuses are retried (:mod:`app.server.jobs`).
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.status import code_to_category

from app.core.config import Destination, ServerConfig
from app.dicom.mpps import (
    DUPLICATE_SOP_INSTANCE,
    FINAL_STATUSES,
    MPPS_SOP_CLASS_UID,
    PROCESSING_FAILURE,
    status_of,
)
from app.server.index.job_records import Job, JobRequest, JobStoreProtocol
from app.server.jobs import JobControl, JobNotReady, PermanentJobError
from app.server.scu import associate

LOGGER = logging.getLogger(__name__)

#: Job kind of one relayed N-CREATE or N-SET.
RELAY_KIND = "mpps-relay"
N_CREATE = "N-CREATE"
N_SET = "N-SET"


def relay_jobs(
    config: ServerConfig, operation: str, sop_instance_uid: str, dataset: dict[str, Any]
) -> tuple[JobRequest, ...]:
    """The relay jobs of one accepted request: one per ``[server.mpps] relay_to`` destination.

    ``dataset`` is the received Attribute List (N-CREATE) or Modification List (N-SET) in the
    DICOM JSON model.
    """
    return tuple(
        JobRequest(
            kind=RELAY_KIND,
            payload={"operation": operation, "sop_instance_uid": sop_instance_uid, "destination": title,
                     "dataset": dataset},
            description=f"MPPS {operation} {sop_instance_uid} to {title}",
            max_attempts=config.job_max_attempts,
        )
        for title in config.mpps.relay_to
    )


class MppsRelay:
    """The job handler of :data:`RELAY_KIND` (register it on the job runner).

    Parameters
    ----------
    config
        Server settings: ``destinations`` (where each relay title listens), ``qr.ae_title``
        (the calling AE title), ``network_timeout``, ``max_pdu``.
    jobs
        The job table (to find earlier relay jobs of the same instance and destination).
    """

    def __init__(self, config: ServerConfig, jobs: JobStoreProtocol) -> None:
        self._config = config
        self._jobs = jobs
        self._destinations = {d.ae_title: d for d in config.destinations}

    def __call__(self, job: Job, control: JobControl) -> dict[str, Any]:
        payload = job.payload
        operation = str(payload.get("operation", ""))
        uid = str(payload.get("sop_instance_uid", ""))
        title = str(payload.get("destination", ""))
        if operation not in (N_CREATE, N_SET) or not uid:
            raise PermanentJobError(f"job {job.id} is not an MPPS relay request (operation {operation!r})")
        destination = self._destinations.get(title)
        if destination is None:
            raise PermanentJobError(
                f"MPPS relay destination {title!r} is not in [[server.destinations]]; add it and relay again"
            )
        for earlier in self._jobs.pending_before(RELAY_KIND, job.id):
            if earlier.payload.get("sop_instance_uid") == uid and earlier.payload.get("destination") == title:
                raise JobNotReady(f"waits for relay job {earlier.id} of the same step to {title}")
        dataset = Dataset.from_json(payload.get("dataset", {}))
        status, comment = self._send(destination, operation, uid, dataset)
        control.progress(peer_status=f"0x{status:04X}")
        category = code_to_category(status)
        if category in ("Success", "Warning"):
            return {"peer_status": f"0x{status:04X}", "delivered": True}
        if operation == N_CREATE and status == DUPLICATE_SOP_INSTANCE:
            return {"peer_status": f"0x{status:04X}", "delivered": True, "note": "the peer had the step already"}
        if operation == N_SET and status == PROCESSING_FAILURE:
            if status_of(dataset) in FINAL_STATUSES:
                return {"peer_status": f"0x{status:04X}", "delivered": True, "note": "the peer's step is final already"}
            raise PermanentJobError(f"{title} refused the N-SET: its step is final already ({comment or 'no comment'})")
        raise RuntimeError(f"{title} answered {operation} with status 0x{status:04X} ({comment or 'no comment'})")

    def _send(self, destination: Destination, operation: str, uid: str, dataset: Dataset) -> tuple[int, str]:
        """One association, one request; the peer's status and Error Comment."""
        contexts = [build_context(MPPS_SOP_CLASS_UID, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]
        assoc = associate(self._config, destination, contexts)
        if not assoc.is_established:
            raise ConnectionError(f"{destination.ae_title} at {destination.host}:{destination.port} "
                                  "did not accept the association")
        try:
            if operation == N_CREATE:
                status_ds, _ = assoc.send_n_create(dataset, MPPS_SOP_CLASS_UID, uid)
            else:
                status_ds, _ = assoc.send_n_set(dataset, MPPS_SOP_CLASS_UID, uid)
        finally:
            if assoc.is_established:
                assoc.release()
        if status_ds is None or "Status" not in status_ds:
            raise ConnectionError(f"{destination.ae_title} gave no answer to the {operation} (association lost)")
        return int(status_ds.Status), str(status_ds.get("ErrorComment", "") or "")
