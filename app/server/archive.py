"""The external archive tier of ``lightbox server``, put together (the reference's 2.2.7, 5.3).

- archive a study: a durable job (:mod:`app.server.archive_job`): C-STORE to the archive, then
  Storage Commitment; the report comes in on our Storage AE (:mod:`app.server.archive_commitment`);
- the removal policy (:mod:`app.server.archive_policy`), periodic and on request;
- fetch-back of a study that is archived but not online (:mod:`app.server.archive_fetch`).

Configured by ``[server.archive]`` (:class:`app.core.archive_config.ArchiveSettings`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.config import ServerConfig
from app.core.errors import ConflictError, NotFoundError
from app.server.archive_commitment import CommitmentReports
from app.server.archive_fetch import FETCHED_BACK, ArchiveFetcher
from app.server.archive_job import ARCHIVE_KIND, StudyArchiver
from app.server.archive_policy import ArchivePurge, PurgeReport
from app.server.index.archive_records import ArchiveStoreProtocol
from app.server.index.job_records import JobStoreProtocol
from app.server.index.records import CatalogueProtocol
from app.server.send import StudySender
from app.server.storage import Storage
from app.server.study_events import StudyEvents

__all__ = ["ARCHIVE_KIND", "ArchiveTier"]


class ArchiveTier:
    """The archive tier's parts on one server process.

    Parameters
    ----------
    config
        The server settings (``archive``, ``destinations``, ``storage``, ``job_max_attempts``).
    catalogue, store, jobs
        The index's catalogue, archive state and job table.
    storage
        The storage area.
    wake
        Wakes the job runner.
    sender
        The send machinery (``StudySender``) the archive job stores with.
    study_online
        ``StudyNotifier.study_online`` (notification of a fetch-back), or None.
    events
        The study events; the removal policy fires ``offline`` on them, or None.
    """

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, store: ArchiveStoreProtocol,
        jobs: JobStoreProtocol, storage: Storage, wake: Callable[[], None], sender: StudySender,
        study_online: Callable[[str, str], Any] | None = None, events: StudyEvents | None = None,
    ) -> None:
        self._config = config
        self._catalogue = catalogue
        self._store = store
        self._jobs = jobs
        self._wake = wake
        notify = None
        if study_online is not None and config.archive.notify_on_fetch_back:
            def notify(uid: str) -> None:
                study_online(uid, FETCHED_BACK)
        self.fetcher = ArchiveFetcher(config, catalogue, store, storage.path_of, notify)
        self.reports = CommitmentReports(store, wake)
        self.purge = ArchivePurge(config.archive, store, catalogue, storage.root, storage.delete,
                                  on_removed=events.offline if events is not None else None)
        self.archiver = StudyArchiver(config, catalogue, store, sender)

    @property
    def enabled(self) -> bool:
        return self._config.archive.enabled

    def submit(self, study_uid: str) -> int:
        """Queue the archiving of a study; the job id. :class:`NotFoundError` for an unknown
        study, :class:`ConflictError` without an archive or for a study not online."""
        if not self.enabled:
            raise ConflictError("no archive is configured; set [server.archive] destination")
        if not self._catalogue.stored_instances(study_uid):
            raise NotFoundError(f"no study {study_uid} on this server; search with GET /dicom-web/studies")
        if self._store.offline([study_uid]):
            raise ConflictError(f"study {study_uid} is in the archive and not online; nothing to archive")
        title = self._config.archive.destination
        job_id = self._jobs.enqueue(
            ARCHIVE_KIND, {"study_instance_uid": study_uid, "destination": title},
            description=f"Archive study {study_uid} to {title}", max_attempts=self._config.job_max_attempts,
        )
        self._store.begin(study_uid, job_id)
        self._wake()
        return job_id

    def state(self, study_uid: str) -> dict[str, Any]:
        """The archive state of a study as JSON (``GET /api/studies/{uid}/archive``)."""
        state = self._store.get(study_uid)
        if state is None:
            if not self._catalogue.stored_instances(study_uid):
                raise NotFoundError(f"no study {study_uid} on this server")
            return {"study_instance_uid": study_uid, "state": "not archived", "online": True}

        def iso(value: Any) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "study_instance_uid": study_uid, "state": state.state, "online": state.online, "job_id": state.job_id,
            "transaction_uid": state.transaction_uid, "requested_at": iso(state.requested_at),
            "committed_at": iso(state.committed_at), "committed_instances": state.committed_instances,
            "failed_instances": state.failed_instances, "online_until": iso(state.online_until),
            "removed_at": iso(state.removed_at), "last_error": state.last_error,
        }

    def run_policy(self, dry_run: bool | None = None) -> PurgeReport:
        """Apply the removal policy now (``POST /api/archive/purge``)."""
        if not self.enabled:
            raise ConflictError("no archive is configured; set [server.archive] destination")
        return self.purge.run(dry_run)
