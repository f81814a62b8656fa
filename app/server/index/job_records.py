"""Durable jobs as plain values, free of SQLAlchemy (the seam between the index and the runner).

A job is outbound work the server owes someone (a storage commitment report, an MPPS
relay, a send): it is written to the index in the same breath as the request that causes
it, so it survives a restart, and :mod:`app.server.jobs` runs it until it is delivered,
retrying with back-off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class JobState(StrEnum):
    """Where a job is in its life: queued -> running -> done | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States a job never leaves.
FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


@dataclass(frozen=True)
class Job:
    """One durable job as stored in the index."""

    id: int
    kind: str
    state: JobState
    description: str
    payload: dict[str, Any]
    progress: dict[str, Any]
    attempts: int
    max_attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        """The job as the admin API shows it (payload included; it holds no pixel data)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "state": str(self.state),
            "description": self.description,
            "payload": self.payload,
            "progress": self.progress,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class JobRequest:
    """A job to enqueue, possibly in the same transaction as the change that causes it."""

    kind: str
    payload: dict[str, Any]
    description: str = ""
    max_attempts: int = 20


class JobStoreProtocol(Protocol):
    """What the runner and the services need of the job table (:class:`app.server.index.jobs.JobStore`)."""

    def enqueue(
        self, kind: str, payload: dict[str, Any], *, description: str = "", max_attempts: int = 20,
        not_before: dt.datetime | None = None,
    ) -> int: ...

    def claim_due(self, kinds: frozenset[str], now: dt.datetime | None = None) -> Job | None: ...

    def finish(self, job_id: int, progress: dict[str, Any] | None = None) -> None: ...

    def retry_or_fail(self, job_id: int, error: str, delay_seconds: float, *, permanent: bool = False) -> JobState: ...

    def set_progress(self, job_id: int, progress: dict[str, Any]) -> None: ...

    def cancel(self, job_id: int) -> bool: ...

    def get(self, job_id: int) -> Job | None: ...

    def pending_before(self, kind: str, job_id: int) -> list[Job]: ...

    def postpone(self, job_id: int, reason: str, delay_seconds: float) -> None: ...

    def hold(self, job_id: int, name: str) -> bool: ...

    def list(self, *, state: JobState | None = None, kind: str | None = None, limit: int = 100) -> list[Job]: ...

    def requeue_interrupted(self) -> int: ...

    def requeue_orphaned(self) -> int: ...
