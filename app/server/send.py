"""Send a study (or some of its series) to a destination: the Storage SCU of the admin API.

``POST /api/studies/{uid}/send`` enqueues one durable job (:mod:`app.server.send_requests`); this
module's :class:`StudySender` runs it (the reference's 5.1, PS3.4 B.2):

- one association at a time per destination (a second send to the same destination waits),
  in this process (a lock per destination) and across the processes sharing a PostgreSQL
  index (:meth:`app.server.jobs.JobControl.hold`: a send to a destination another process is
  sending to is postponed, ``[server] job_retry_seconds``, without using an attempt);
- the study's presentation states, SR documents and key object selections go with the
  images, after them, even when only some series were asked for;
- per SOP class and stored syntax at most three transfer syntaxes are proposed
  (:mod:`app.server.send_encoding`); a file goes out as stored when nothing has to change
  (through the Storage SCU fast path, :mod:`app.server.store_fastpath`);
- a study whose patient or study values were corrected goes out with the catalogue's
  values (:func:`app.server.corrections.apply_catalogue_values`);
- optionally our private block (:mod:`app.server.private_tags`) and, for a destination
  without Grayscale Softcopy Presentation State, the states' graphics as an overlay
  (:mod:`app.server.overlay_burn`).

Progress (``total``, ``completed``, ``warning``, ``failed``, ``next``; ``instance_ids``, the order
fixed by the first attempt) is saved as the job goes; an interrupted job (server killed,
association lost) starts again at ``next``, so an instance may arrive twice but none is
missed (one deleted meanwhile counts as failed). Refused instances fail the job at the end
(``failed_uids`` lists them); an association that cannot be opened is retried with back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from app.core.config import Destination, ServerConfig
from app.server.corrections import apply_catalogue_values
from app.server.index.admin_records import CatalogueValues
from app.server.index.job_records import Job
from app.server.index.records import CatalogueProtocol, StoredInstance
from app.server.jobs import JobControl, JobNotReady, PermanentJobError
from app.server.overlay_burn import burn_states, referenced_images
from app.server.private_tags import PrivateValues, add_private_attributes
from app.server.scu import associate, store_outcome
from app.server.send_encoding import (
    GSPS,
    MAX_CONTEXTS,
    EncodingFailed,
    accepted_syntax,
    encode_for,
    is_non_image,
    proposed_contexts,
    read_dataset,
)
from app.server.store_fastpath import NotSendable, StoreSender, take

LOGGER = logging.getLogger(__name__)

#: Progress is saved (and a cancel looked for) after this many instances or seconds.
SAVE_EVERY, SAVE_SECONDS = 200, 1.0
#: Most refused SOP Instance UIDs listed in the progress.
MAX_LISTED = 100


def send_order(instances: list[StoredInstance], series: tuple[str, ...]) -> list[StoredInstance]:
    """The instances of a send, each SOP Instance UID once (its last stored copy): the
    asked-for series' images (all when none are named), then every presentation state, SR
    and key object selection of the study."""
    by_uid = {i.sop_instance_uid: i for i in instances}
    unique = sorted(by_uid.values(), key=lambda i: i.id)
    images = [
        i for i in unique if not is_non_image(i.sop_class_uid) and (not series or i.series_instance_uid in series)
    ]
    return images + [i for i in unique if is_non_image(i.sop_class_uid)]


class StudySender:
    """The job handler of :data:`SEND_KIND` (register it on the job runner).

    Parameters
    ----------
    config
        ``destinations``, ``send`` settings, the SCU settings of :mod:`app.server.scu`.
    catalogue
        The index.
    path_of
        Absolute path of a stored file from its relpath.
    values_of
        The catalogue's patient/study values of a study (the correction store), or None
        when this server has no corrections.
    """

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, path_of: Callable[[str], Path],
        values_of: Callable[[str], CatalogueValues | None] | None = None,
    ) -> None:
        self._config = config
        self._catalogue = catalogue
        self._path_of = path_of
        self._values_of = values_of
        self._destinations = {d.ae_title: d for d in config.destinations}
        self._busy: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, job: Job, control: JobControl) -> dict[str, Any]:
        payload = job.payload
        study_uid = str(payload.get("study_instance_uid", ""))
        title = str(payload.get("destination", ""))
        destination = self._destinations.get(title)
        if destination is None:
            raise PermanentJobError(f"send destination {title!r} is not in [[server.destinations]]; add it, send again")
        with self._guard:
            lock = self._busy.setdefault(title, threading.Lock())
        if not lock.acquire(blocking=False):
            raise JobNotReady(f"another send to {title} is running (one association at a time)")
        try:
            if not control.hold(f"send-destination:{title}"):
                raise JobNotReady(f"another server process is sending to {title} (one association at a time)")
            return _Run(self, job, control, study_uid, destination).run()
        finally:
            lock.release()


class _Run:
    """One attempt of one send job."""

    def __init__(self, owner: StudySender, job: Job, control: JobControl, study_uid: str, dest: Destination) -> None:
        self.o, self.job, self.control, self.study_uid, self.dest = owner, job, control, study_uid, dest
        self.settings = owner._config.send
        series = tuple(str(s) for s in job.payload.get("series") or ())
        current = send_order(owner._catalogue.stored_instances(study_uid), series)
        previous = job.progress or {}
        frozen = previous.get("instance_ids")  # the order of the first attempt, kept across attempts
        if isinstance(frozen, list) and frozen:
            by_id = {i.id: i for i in current}
            self.items: list[StoredInstance | None] = [by_id.get(int(n)) for n in frozen]
        else:
            self.items = list(current)
        self.p: dict[str, Any] = {
            "destination": dest.ae_title, "total": len(self.items),
            "completed": int(previous.get("completed", 0)), "warning": int(previous.get("warning", 0)),
            "failed": int(previous.get("failed", 0)), "next": int(previous.get("next", 0)),
            "failed_uids": list(previous.get("failed_uids", [])),
            "drawn_as_overlay": int(previous.get("drawn_as_overlay", 0)),
            "instance_ids": [i.id if i is not None else 0 for i in self.items],
        }
        values = owner._values_of(study_uid) if owner._values_of else None
        self.values = values if values is not None and values.corrected else None
        self.exam = (values.values.get("AccessionNumber") or values.values.get("StudyID", "")) if values else ""
        series_uids = dict.fromkeys(i.series_instance_uid for i in self.items if i is not None)
        self.series_order = {uid: n for n, uid in enumerate(series_uids, 1)}
        self.states: dict[str, list[Dataset]] = {}

    def run(self) -> dict[str, Any]:
        if not self.items:
            raise PermanentJobError(f"study {self.study_uid} has nothing to send (deleted since the request?)")
        compressed = self.settings.compressed_transfer_syntax
        while self.p["next"] < len(self.items):
            pending = [i for i in self.items[self.p["next"]:] if i is not None]
            if not pending:  # only instances deleted since the first attempt are left
                while self.p["next"] < len(self.items):
                    self._count(None, None)
                break
            pairs = list(dict.fromkeys((i.sop_class_uid, i.transfer_syntax_uid) for i in pending))[:MAX_CONTEXTS]
            contexts = proposed_contexts(pairs, compressed)
            assoc = associate(self.o._config, self.dest, contexts)
            if not assoc.is_established:
                raise ConnectionError(f"{self.dest.ae_title} at {self.dest.host}:{self.dest.port} "
                                      "did not accept the association")
            try:
                self._send_all(assoc, compressed, set(pairs))
            finally:
                if assoc.is_established:
                    assoc.release()
        self.control.progress(**self.p)
        if self.p["failed"]:
            raise PermanentJobError(
                f"{self.dest.ae_title} refused {self.p['failed']} of {self.p['total']} instances "
                f"(see failed_uids); the others were sent"
            )
        return self.p

    def _send_all(self, assoc: Any, compressed: str, offered: set[tuple[str, str]]) -> None:
        gsps_taken = any(str(cx.abstract_syntax) == GSPS for cx in assoc.accepted_contexts)
        if self.settings.burn_in_overlays and not gsps_taken and not self.states:
            self._load_states()
        sender = take(assoc)
        saved_at, since_save = time.monotonic(), 0
        try:
            while self.p["next"] < len(self.items):
                item = self.items[self.p["next"]]
                if item is None:  # deleted since the first attempt
                    self._count(None, None)
                    continue
                found = accepted_syntax(assoc, item.sop_class_uid, item.transfer_syntax_uid, compressed)
                if found is None:
                    if (item.sop_class_uid, item.transfer_syntax_uid) not in offered:
                        return  # beyond the contexts this association could propose: open another
                    status: int | None = None
                    if self.states and item.sop_class_uid == GSPS:
                        self.p["next"] += 1  # drawn into the images' overlays instead
                        self.p["drawn_as_overlay"] = int(self.p.get("drawn_as_overlay", 0)) + 1
                        continue
                else:
                    status = self._send_one(assoc, sender, item, *found)
                    if status is None and not assoc.is_established:
                        raise ConnectionError(f"{self.dest.ae_title} ended the association during the send")
                self._count(item, status)
                since_save += 1
                if since_save >= SAVE_EVERY or time.monotonic() - saved_at > SAVE_SECONDS:
                    self.control.progress(**self.p)
                    saved_at, since_save = time.monotonic(), 0
                    if self.control.cancelled():
                        raise PermanentJobError("cancelled")
        finally:
            if sender is not None:
                sender.close()
            self.control.progress(**self.p)

    def _count(self, item: StoredInstance | None, status: int | None) -> None:
        self.p["next"] += 1
        outcome = store_outcome(status)
        self.p[outcome] += 1
        if outcome == "failed":
            uid = item.sop_instance_uid if item is not None else "(deleted since the send began)"
            LOGGER.warning("%s: instance %s not stored (status %s)", self.dest.ae_title, uid,
                           "none" if status is None else f"0x{status:04X}")
            if len(self.p["failed_uids"]) < MAX_LISTED:
                self.p["failed_uids"].append(uid)

    def _send_one(
        self, assoc: Any, sender: StoreSender | None, item: StoredInstance, cx_id: int, syntax: str
    ) -> int | None:
        msg_id = self.p["next"] % 65535 + 1
        path = self.o._path_of(item.relpath)
        burn = self.states.get(item.sop_instance_uid)
        plain = self.values is None and not self.settings.private_attributes and not burn
        try:
            if plain and syntax == item.transfer_syntax_uid and sender is not None:
                try:
                    return sender.send(path, cx_id, item.sop_class_uid, item.sop_instance_uid, msg_id)
                except NotSendable as exc:
                    LOGGER.info("sent through pynetdicom: %s", exc)
            ds = self._prepare(read_dataset(path), item, burn)
            if sender is not None:
                if not sender.usable:
                    return None
                data = encode_for(ds, syntax)
                return sender.send_data(memoryview(data), cx_id, item.sop_class_uid, item.sop_instance_uid, msg_id)
            encode_for(ds, syntax)  # converted; pynetdicom encodes it for the context again
            ds.file_meta.TransferSyntaxUID = UID(syntax)
            rsp = assoc.send_c_store(ds, msg_id=msg_id)
            return int(rsp.Status) if "Status" in rsp else None
        except EncodingFailed as exc:
            LOGGER.warning("instance %s not sent: %s", item.sop_instance_uid, exc)
            return None
        except (OSError, ValueError) as exc:
            LOGGER.warning("instance %s not sent: %s", item.sop_instance_uid, exc)
            return None

    def _prepare(self, ds: Dataset, item: StoredInstance, burn: list[Dataset] | None) -> Dataset:
        if self.values is not None:
            apply_catalogue_values(ds, self.values)
        if self.settings.private_attributes and not is_non_image(item.sop_class_uid):
            add_private_attributes(ds, PrivateValues(
                request_number=self.job.id, examination_number=self.exam, series_id=str(ds.get("SeriesNumber", "")),
                series_order=self.series_order.get(item.series_instance_uid, 0),
                file_name=Path(item.relpath).name, image_data_id=item.id,
            ))
        if burn:
            burn_states(ds, burn)
        return ds

    def _load_states(self) -> None:
        """Read the send's GSPS instances: which image gets whose graphics."""
        for item in self.items:
            if item is None or item.sop_class_uid != GSPS:
                continue
            try:
                state = read_dataset(self.o._path_of(item.relpath))
            except Exception as exc:
                LOGGER.warning("presentation state %s unreadable: %s", item.sop_instance_uid, exc)
                continue
            for uid in referenced_images(state):
                self.states.setdefault(uid, []).append(state)

