"""Study content notifications: Basic Study Content Notification and Instance Availability
Notification SCUs, as durable jobs (the reference's 2.2.7.6, 4.6, 10.3.1; PS3.4 Annex R).

:class:`StudyNotifier` listens to the study events (:mod:`app.server.study_events`) and
enqueues one job (kind :data:`NOTIFY_KIND`) per receiver, holding a snapshot of what the
notice says (patient/study values, the instances), so a notice about a deleted study can
still be sent after the rows are gone and nothing is lost across a restart:

- on approval (``[server.notify] on_approve``): a Basic Study Descriptor to the RIS
  (``ae_title`` at ``host``:``port``; Study Comments ``comment_added`` in the extended form)
  and an Instance Availability Notification (``ONLINE``) to each of ``ian_receivers``;
- on deletion (``on_delete``): the descriptor (``comment_deleted``) when the study's last
  instance went, and an IAN (``UNAVAILABLE``) for the deleted instances;
- when a study becomes stable (``stable_seconds``, :mod:`app.server.stable_study`): as on
  approval;
- when the archive policy removed a study's last online copy (``on_offline``,
  :mod:`app.server.archive_policy`): the descriptor (``comment_deleted``, the reference's
  10.3.1 "the last on-line copy ... had been deleted") and an IAN saying ``NEARLINE`` (PS3.3
  C.4.23.1.1: the archive holds them; our Q/R AE fetches them back on a retrieve).

:class:`NotificationSender` runs the jobs: one association and one request each (C-STORE
of the descriptor, PS3.4 D; N-CREATE of the IAN, PS3.4 R.3), calling as the Q/R AE; a
refused association or a failure status is retried with back-off (:mod:`app.server.jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.status import code_to_category

from app.core.config import Destination, ServerConfig
from app.dicom.uids import generate_uid
from app.server.index.job_records import Job
from app.server.index.records import Level, SearchRequest
from app.server.jobs import JobControl, PermanentJobError
from app.server.notify_datasets import (
    BSCN_SOP_CLASS,
    IAN_SOP_CLASS,
    availability_notification,
    study_descriptor,
)
from app.server.scu import associate
from app.server.study_events import StudyApproved, StudyDeleted, StudyEvents, StudyOffline
from app.server.study_jobs import StudyJobs

LOGGER = logging.getLogger(__name__)

#: Job kind of one notification to one receiver.
NOTIFY_KIND = "study-notify"
BSCN, IAN = "bscn", "ian"
APPROVED, DELETED, STABLE, OFFLINE = "approved", "deleted", "stable", "offline"
#: Instance Availability (PS3.3 C.4.23.1.1) an IAN tells per event (any other: ``ONLINE``).
_AVAILABILITY = {DELETED: "UNAVAILABLE", OFFLINE: "NEARLINE"}
#: Keywords of the snapshot taken from the catalogue.
_VALUES = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID", "StudyDate", "StudyTime",
           "AccessionNumber")


class StudyNotifier(StudyJobs):
    """Turns study events into notification jobs (subscribe it with :meth:`subscribe`).

    Constructed like :class:`~app.server.study_jobs.StudyJobs`; reads ``[server.notify]`` and takes
    the snapshot of a notice from the catalogue.
    """

    @property
    def enabled(self) -> bool:
        """True when anyone receives notifications."""
        return bool(self._config.notify.host or self._config.notify.ian_receivers)

    def subscribe(self, events: StudyEvents) -> list[Callable[[], None]]:
        """Listen to approvals, deletions and removals of online copies as ``[server.notify]`` asks;
        the unsubscribers."""
        out = []
        if self._config.notify.on_approve:
            out.append(events.on_approved(self.approved))
        if self._config.notify.on_delete:
            out.append(events.on_deleted(self.deleted))
        if self._config.notify.on_offline:
            out.append(events.on_offline(self.offline))
        return out

    def approved(self, event: StudyApproved) -> None:
        """Notify that a study was approved (its instances are online)."""
        self.study_online(event.study_instance_uid, APPROVED)

    def study_online(self, study_uid: str, reason: str) -> list[int]:
        """Enqueue the notices of a study that is complete and online (approval, stable); job ids."""
        return self._study_notices(study_uid, reason)

    def offline(self, event: StudyOffline) -> None:
        """Notify that a study's last online copy was removed (it is in the archive)."""
        self._study_notices(event.study_instance_uid, OFFLINE)

    def _study_notices(self, study_uid: str, reason: str) -> list[int]:
        """Enqueue the notices of a study whose catalogue rows are there (its values and instances)."""
        if not self.enabled:
            return []
        rows = self._catalogue.search(SearchRequest(Level.STUDY, {"StudyInstanceUID": study_uid}, returned=_VALUES))
        if not rows:
            LOGGER.warning("no notification for study %s: it is not in the index", study_uid)
            return []
        values = {k: _text(rows[0].get(k)) for k in _VALUES}
        stored = {i.sop_instance_uid: i for i in self._catalogue.stored_instances(study_uid)}
        instances = [[i.series_instance_uid, i.sop_class_uid, i.sop_instance_uid] for i in stored.values()]
        return self._enqueue(study_uid, reason, values, instances, study_gone=False)

    def deleted(self, event: StudyDeleted) -> None:
        """Notify a deletion: the descriptor when the study is gone, the IAN for what went."""
        if not self.enabled:
            return
        instances = [list(i) for i in event.instances]
        self._enqueue(event.study_instance_uid, DELETED, dict(event.values), instances, study_gone=event.study_gone)

    def _enqueue(
        self, study_uid: str, reason: str, values: Mapping[str, str], instances: list[list[str]], *, study_gone: bool
    ) -> list[int]:
        notify = self._config.notify
        base = {"event": reason, "study_instance_uid": study_uid, "values": dict(values), "instances": instances}
        ids = []
        if notify.host and (reason != DELETED or study_gone):
            ids.append(self._enqueue_job(
                NOTIFY_KIND,
                {**base, "service": BSCN, "destination": notify.ae_title, "sop_instance_uid": str(generate_uid())},
                f"Study content notification ({reason}) of {study_uid} to {notify.ae_title}",
            ))
        if instances:
            for title in notify.ian_receivers:
                ids.append(self._enqueue_job(
                    NOTIFY_KIND,
                    {**base, "service": IAN, "destination": title, "sop_instance_uid": str(generate_uid())},
                    f"Instance availability ({reason}) of {study_uid} to {title}",
                ))
        if ids:
            self._wake()
        return ids


def _text(value: Any) -> str:
    """A catalogue row value as text (person names may come back in the DICOM JSON form)."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return str(value.get("Alphabetic", ""))
    if isinstance(value, list | tuple):
        return "\\".join(_text(v) for v in value)
    return str(value)


class NotificationSender:
    """The job handler of :data:`NOTIFY_KIND` (register it on the job runner)."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._destinations = {d.ae_title: d for d in config.destinations}

    def __call__(self, job: Job, control: JobControl) -> dict[str, Any]:
        p = job.payload
        service, title = str(p.get("service", "")), str(p.get("destination", ""))
        study_uid, event = str(p.get("study_instance_uid", "")), str(p.get("event", ""))
        values = {str(k): str(v) for k, v in dict(p.get("values") or {}).items()}
        instances = [(str(a), str(b), str(c)) for a, b, c in p.get("instances") or []]
        sop_uid = str(p.get("sop_instance_uid") or generate_uid())
        notify, retrieve = self._config.notify, self._config.qr.ae_title
        if service == BSCN:
            if not notify.host:
                raise PermanentJobError("[server.notify] host is empty: no RIS to notify; set it and notify again")
            destination = Destination(notify.ae_title, notify.host, notify.port)
            comment = notify.comment_deleted if event in (DELETED, OFFLINE) else notify.comment_added
            ds = study_descriptor(study_uid, sop_uid, values, instances, retrieve, extended=notify.extended,
                                  comment=comment)
            status = self._store(destination, ds)
        elif service == IAN:
            found = self._destinations.get(title)
            if found is None:
                raise PermanentJobError(f"IAN receiver {title!r} is not in [[server.destinations]]; add it")
            availability = _AVAILABILITY.get(event, "ONLINE")
            ds = availability_notification(study_uid, values, instances, retrieve, availability)
            status = self._create(found, ds, sop_uid)
        else:
            raise PermanentJobError(f"job {job.id} is not a notification (service {service!r})")
        control.progress(peer_status=f"0x{status:04X}")
        if code_to_category(status) in ("Success", "Warning"):
            return {"peer_status": f"0x{status:04X}", "delivered": True, "sop_instance_uid": sop_uid}
        raise RuntimeError(f"{title} answered the {service.upper()} with status 0x{status:04X}")

    def _store(self, destination: Destination, ds: Dataset) -> int:
        """C-STORE of a Basic Study Descriptor on its own association."""
        contexts = [build_context(BSCN_SOP_CLASS, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]
        assoc = _open(self._config, destination, contexts)
        try:
            syntax = next(cx.transfer_syntax[0] for cx in assoc.accepted_contexts)
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = UID(str(syntax))
            rsp = assoc.send_c_store(ds)
        finally:
            if assoc.is_established:
                assoc.release()
        return _status(rsp, destination)

    def _create(self, destination: Destination, ds: Dataset, sop_uid: str) -> int:
        """N-CREATE of an Instance Availability Notification on its own association."""
        contexts = [build_context(IAN_SOP_CLASS, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]
        assoc = _open(self._config, destination, contexts)
        try:
            rsp, _ = assoc.send_n_create(ds, IAN_SOP_CLASS, sop_uid)
        finally:
            if assoc.is_established:
                assoc.release()
        return _status(rsp, destination)


def _open(config: ServerConfig, destination: Destination, contexts: list[Any]) -> Any:
    assoc = associate(config, destination, contexts)
    if not assoc.is_established:
        raise ConnectionError(f"{destination.ae_title} at {destination.host}:{destination.port} "
                              "did not accept the association")
    if not assoc.accepted_contexts:
        assoc.release()
        raise ConnectionError(f"{destination.ae_title} does not accept {contexts[0].abstract_syntax}")
    return assoc


def _status(rsp: Dataset | None, destination: Destination) -> int:
    if rsp is None or "Status" not in rsp:
        raise ConnectionError(f"{destination.ae_title} gave no answer (association lost)")
    return int(rsp.Status)
