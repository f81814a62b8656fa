"""Send requests of the admin API: checked, then queued as a durable job (kind :data:`SEND_KIND`,
run by :class:`app.server.send.StudySender`)."""

from __future__ import annotations

from collections.abc import Callable

from app.core.config import ServerConfig
from app.core.errors import DicomInputError, NotFoundError
from app.server.index.job_records import JobStoreProtocol
from app.server.index.records import CatalogueProtocol

#: Job kind of one send.
SEND_KIND = "send"


class SendRequests:
    """Accepts send requests (the admin API): checks them and enqueues the job.

    Parameters
    ----------
    config
        ``destinations`` and ``job_max_attempts``.
    catalogue, jobs
        The index's catalogue and job table.
    wake
        Wakes the job runner.
    """

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, jobs: JobStoreProtocol, wake: Callable[[], None]
    ) -> None:
        self._config = config
        self._catalogue = catalogue
        self._jobs = jobs
        self._wake = wake

    def submit(self, study_uid: str, destination: str, series: list[str] | None = None) -> int:
        """Enqueue a send; the job id. Raises :class:`NotFoundError` (unknown study or
        series) or :class:`DicomInputError` (destination not configured)."""
        titles = [d.ae_title for d in self._config.destinations]
        if destination not in titles:
            raise DicomInputError(
                f"destination {destination!r} is not configured; use one of {', '.join(titles) or '(none)'} "
                "or add it to [[server.destinations]]"
            )
        instances = self._catalogue.stored_instances(study_uid)
        if not instances:
            raise NotFoundError(f"no study {study_uid} on this server; search with GET /dicom-web/studies")
        wanted = tuple(dict.fromkeys(series or ()))
        missing = sorted(set(wanted) - {i.series_instance_uid for i in instances})
        if missing:
            raise NotFoundError(f"study {study_uid} has no series {', '.join(missing)}")
        what = f"{len(wanted)} series of study" if wanted else "study"
        job_id = self._jobs.enqueue(
            SEND_KIND, {"study_instance_uid": study_uid, "destination": destination, "series": list(wanted)},
            description=f"Send {what} {study_uid} to {destination}", max_attempts=self._config.job_max_attempts,
        )
        self._wake()
        return job_id
