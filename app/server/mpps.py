"""The MPPS SCP's use cases (PS3.4 F.7.2): create and update performed procedure steps.

:class:`MppsService` checks a request against the rules of :mod:`app.dicom.mpps`, stores the
step (with the worklist link and the relay jobs, in one transaction of
:class:`app.server.index.mpps.MppsStore`) and wakes the job runner. Refusals are raised as
:class:`app.dicom.mpps.MppsRefused` carrying their DIMSE status; the pynetdicom handlers of
:mod:`app.server.handlers.mpps` turn them into responses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from app.core.config import ServerConfig
from app.dicom import mpps as rules
from app.dicom.mpps import MppsRefused
from app.dicom.uids import generate_uid
from app.server.index.mpps_records import (
    DuplicateStep,
    MppsChange,
    MppsRecord,
    MppsStoreProtocol,
    NewStep,
    NoSuchStep,
)
from app.server.mpps_relay import N_CREATE, N_SET, relay_jobs

LOGGER = logging.getLogger(__name__)


def to_json(ds: Dataset) -> dict[str, Any]:
    """A data set in the DICOM JSON model (PS3.18 F.2), binary values inline."""
    return ds.to_json_dict(bulk_data_threshold=2**31)


def _text(ds: Dataset, keyword: str) -> str:
    return str(ds.get(keyword, "") or "").strip()


class MppsService:
    """Creates and updates steps for the MPPS SCP.

    Parameters
    ----------
    config
        Server settings (``mpps.relay_to``, ``job_max_attempts``).
    store
        The MPPS table.
    wake
        Called after a change that queued relay jobs (``JobRunner.wake``).
    """

    def __init__(self, config: ServerConfig, store: MppsStoreProtocol, wake: Callable[[], None]) -> None:
        self._config = config
        self._store = store
        self._wake = wake

    def create(self, attributes: Dataset, sop_instance_uid: str | None, calling_ae_title: str) -> MppsRecord:
        """N-CREATE (PS3.4 F.7.2.1.3): check, store, link the worklist, queue the relay.

        ``sop_instance_uid`` is the request's Affected SOP Instance UID; without one the SCP
        makes one (PS3.7 10.1.5.1.4). Raises :class:`MppsRefused`.
        """
        rules.check_create(attributes)
        uid = sop_instance_uid.strip() if sop_instance_uid else str(generate_uid())
        if not UID(uid).is_valid:
            raise MppsRefused(rules.INVALID_OBJECT_INSTANCE, "the Affected SOP Instance UID is not a valid UID")
        stored = Dataset()
        stored.update(attributes)
        stored.SOPClassUID = rules.MPPS_SOP_CLASS_UID
        stored.SOPInstanceUID = uid
        steps = rules.scheduled_steps(attributes)
        first = steps[0] if steps else rules.ScheduledStep("", "", "")
        received = to_json(attributes)
        change = MppsChange(
            dataset=to_json(stored), status=rules.IN_PROGRESS, steps=steps,
            jobs=relay_jobs(self._config, N_CREATE, uid, received),
        )
        try:
            record = self._store.create(NewStep(
                sop_instance_uid=uid, calling_ae_title=calling_ae_title, patient_id=_text(attributes, "PatientID"),
                study_instance_uid=first.study_instance_uid, accession_number=first.accession_number, change=change,
            ))
        except DuplicateStep as exc:
            raise MppsRefused(rules.DUPLICATE_SOP_INSTANCE, "a step with this SOP Instance UID exists already") from exc
        LOGGER.info("MPPS %s created by %s (IN PROGRESS)", uid, calling_ae_title)
        if change.jobs:
            self._wake()
        return record

    def set(self, sop_instance_uid: str, modification: Dataset) -> MppsRecord:
        """N-SET (PS3.4 F.7.2.2.3): check against the stored step, merge, store, link the
        worklist, queue the relay. Raises :class:`MppsRefused`."""
        received = to_json(modification)

        def change(current: MppsRecord) -> MppsChange:
            rules.check_set(current.status, modification)
            merged = rules.merge(Dataset.from_json(current.dataset), modification)
            rules.check_final(merged)
            status = rules.status_of(merged)
            return MppsChange(
                dataset=to_json(merged), status=status, steps=rules.scheduled_steps(merged),
                jobs=relay_jobs(self._config, N_SET, sop_instance_uid, received),
            )

        try:
            record = self._store.update(sop_instance_uid, change)
        except NoSuchStep as exc:
            raise MppsRefused(rules.NO_SUCH_OBJECT_INSTANCE, "no performed procedure step has this UID") from exc
        LOGGER.info("MPPS %s set (%s)", sop_instance_uid, record.status)
        if self._config.mpps.relay_to:
            self._wake()
        return record
