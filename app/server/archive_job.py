"""Archiving a study: the durable job ``POST /api/studies/{uid}/archive`` enqueues.

Phases (kept in the job's progress, so a job interrupted by a restart goes on where it was):

1. ``send``: C-STORE of the study to the archive by the send machinery
   (:class:`app.server.send.StudySender`: one association at a time per destination, resumed
   at the next instance after a restart);
2. ``commit``: with ``[server.archive] commitment``, a new Transaction UID is recorded for the
   study (state ``committing``) and the N-ACTION sent
   (:func:`app.server.archive_commitment.request_commitment`); without it the study is ``sent``
   (and never removed);
3. ``wait``: the job waits (re-queued every ``job_retry_seconds`` without using an attempt)
   until the N-EVENT-REPORT, recorded by :class:`app.server.archive_commitment.CommitmentReports`,
   made the study ``committed`` (done) or ``failed`` (the job fails); after
   ``commitment_timeout_seconds`` without a report the request is sent again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from app.core.config import ServerConfig
from app.dicom.uids import generate_uid
from app.server.archive_commitment import request_commitment
from app.server.commitment import Reference
from app.server.index.archive_records import COMMITTED, COMMITTING, FAILED, SENDING, SENT, ArchiveStoreProtocol
from app.server.index.job_records import Job
from app.server.index.records import CatalogueProtocol
from app.server.jobs import JobControl, JobNotReady, PermanentJobError
from app.server.send import StudySender

LOGGER = logging.getLogger(__name__)

#: Kind of the archive jobs.
ARCHIVE_KIND = "archive-study"


@dataclass(frozen=True)
class _PhaseControl(JobControl):
    """The send's progress saved with the archive job's phase."""

    extra: tuple[tuple[str, Any], ...] = ()

    def progress(self, **values: Any) -> None:
        self.store.set_progress(self.job_id, {**values, **dict(self.extra)})


class StudyArchiver:
    """The job handler of :data:`ARCHIVE_KIND` (payload ``study_instance_uid``, ``destination``)."""

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, store: ArchiveStoreProtocol, sender: StudySender
    ) -> None:
        self._config = config
        self._catalogue = catalogue
        self._store = store
        self._sender = sender

    def __call__(self, job: Job, control: JobControl) -> dict[str, Any]:
        study_uid = str(job.payload.get("study_instance_uid", ""))
        if self._store.get(study_uid) is None:
            raise PermanentJobError(f"study {study_uid} is no longer in the index")
        progress = dict(job.progress or {})
        phase = progress.get("phase", "send")
        if phase == "send":
            self._store.set_state(study_uid, SENDING)
            try:
                sent = self._sender(job, _PhaseControl(control.job_id, control.store, (("phase", "send"),)))
            except PermanentJobError as exc:
                self._store.set_state(study_uid, FAILED, error=str(exc))
                raise
            progress = {"phase": "commit", "sent": (sent or {}).get("completed", 0),
                        "warning": (sent or {}).get("warning", 0)}
            control.progress(**progress)
            phase = "commit"
        settings = self._config.archive
        if not settings.commitment:
            self._store.set_state(study_uid, SENT)
            return {**progress, "phase": "done", "state": SENT}
        if phase == "commit":
            progress = self._request(job, control, study_uid, progress)
        return self._wait(job, control, study_uid, progress)

    def _request(self, job: Job, control: JobControl, study_uid: str, progress: dict[str, Any]) -> dict[str, Any]:
        settings = self._config.archive
        title = settings.effective_commitment_ae_title
        destination = next((d for d in self._config.destinations if d.ae_title == title), None)
        if destination is None:
            raise PermanentJobError(f"the archive's commitment AE {title!r} is not in [[server.destinations]]")
        stored = {i.sop_instance_uid: i for i in self._catalogue.stored_instances(study_uid)}
        references = [Reference(i.sop_class_uid, uid) for uid, i in stored.items()]
        transaction_uid = str(generate_uid())
        self._store.set_state(study_uid, COMMITTING, transaction_uid=transaction_uid)
        request_commitment(self._config, destination, transaction_uid, references)
        progress = {**progress, "phase": "wait", "transaction_uid": transaction_uid, "requested": len(references),
                    "asked_at": time.time()}
        control.progress(**progress)
        return progress

    def _wait(self, job: Job, control: JobControl, study_uid: str, progress: dict[str, Any]) -> dict[str, Any]:
        state = self._store.get(study_uid)
        if state is None:
            raise PermanentJobError(f"study {study_uid} was deleted while being archived")
        if state.state == COMMITTED:
            return {**progress, "phase": "done", "state": COMMITTED, "committed": state.committed_instances}
        if state.state == FAILED:
            raise PermanentJobError(f"the archive did not commit {state.failed_instances} instance(s) of {study_uid} "
                                    "(see GET /api/studies/{uid}/archive); archive the study again")
        waited = time.time() - float(progress.get("asked_at", 0))
        if waited > self._config.archive.commitment_timeout_seconds:
            control.progress(**{**progress, "phase": "commit"})
            raise TimeoutError(f"no storage commitment report within {waited:.0f} s; asking again")
        raise JobNotReady(f"waiting for the storage commitment report {progress.get('transaction_uid')}")
