"""Send requests of the admin API: checked, then queued as a durable job (kind :data:`SEND_KIND`,
run by :class:`app.server.send.StudySender`)."""

from __future__ import annotations

from app.core.errors import DicomInputError, NotFoundError
from app.server.study_jobs import StudyJobs

#: Job kind of one send.
SEND_KIND = "send"


class SendRequests(StudyJobs):
    """Accepts send requests (the admin API): checks them and enqueues the job.

    Constructed like :class:`~app.server.study_jobs.StudyJobs`; reads ``[[server.destinations]]``.
    """

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
        job_id = self._enqueue_job(
            SEND_KIND, {"study_instance_uid": study_uid, "destination": destination, "series": list(wanted)},
            f"Send {what} {study_uid} to {destination}",
        )
        self._wake()
        return job_id
