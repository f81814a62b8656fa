"""The common part of what turns study requests and events into durable jobs (:mod:`app.server.jobs`):
send requests (:mod:`app.server.send_requests`) and study notifications (:mod:`app.server.notify`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.config import ServerConfig
from app.server.index.job_records import JobStoreProtocol
from app.server.index.records import CatalogueProtocol


class StudyJobs:
    """Holds the settings, the catalogue, the job table and the job runner's wake; enqueues jobs.

    Parameters
    ----------
    config
        The server settings (``job_max_attempts`` and what the subclass reads).
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

    def _enqueue_job(self, kind: str, payload: dict[str, Any], description: str) -> int:
        """Enqueue one job of ``kind`` with ``[server] job_max_attempts`` attempts (the runner is not woken)."""
        return self._jobs.enqueue(kind, payload, description=description, max_attempts=self._config.job_max_attempts)
