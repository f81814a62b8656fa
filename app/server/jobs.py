"""The job runner: delivers the server's durable outbound work (see :mod:`app.server.index.job_records`).

Services register one handler per job kind. A worker thread claims due jobs one at a time
and runs them: a handler that returns marks the job done; one that raises
:class:`PermanentJobError` fails it for good; any other exception is an attempt that
failed, retried after ``retry_seconds * 2**(attempts - 1)`` (at most an hour) until the
job's ``max_attempts``; one that raises :class:`JobNotReady` waits ``retry_seconds`` without
using an attempt. Jobs left running by a stopped server are queued again at start,
so every job is delivered at least once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.errors import AppError
from app.server.index.job_records import Job, JobState, JobStoreProtocol

LOGGER = logging.getLogger(__name__)

#: Longest wait between two attempts, in seconds.
MAX_RETRY_DELAY = 3600.0
#: How often a runner looks for jobs left running by another process that died (shared index).
ORPHAN_CHECK_SECONDS = 60.0


class PermanentJobError(AppError):
    """Raised by a job handler when retrying cannot help (the job fails at once)."""


class JobNotReady(AppError):
    """Raised by a job handler when the job must wait for another one (for instance an earlier
    relay of the same instance): it is queued again after ``retry_seconds`` without counting
    the attempt."""


@dataclass(frozen=True)
class JobControl:
    """What a running handler may do besides its work: report progress, notice a cancel."""

    job_id: int
    store: JobStoreProtocol

    def progress(self, **values: Any) -> None:
        """Replace the job's progress record (shown by ``GET /api/jobs/{id}``)."""
        self.store.set_progress(self.job_id, values)

    def hold(self, name: str) -> bool:
        """Hold the resource ``name`` (a send destination) for the rest of this run, across every
        server process sharing the index; False when another process holds it (then raise
        :class:`JobNotReady`). Released when the handler returns or raises."""
        return self.store.hold(self.job_id, name)

    def cancelled(self) -> bool:
        """True once the job was cancelled through the admin API; the handler should stop."""
        current = self.store.get(self.job_id)
        return current is None or current.state is JobState.CANCELLED


#: A job handler: does the work of one job; its return value becomes the final progress.
JobHandler = Callable[[Job, JobControl], dict[str, Any] | None]


class JobRunner:
    """Runs the durable jobs of one server process on a few worker threads.

    Several workers, so that one slow delivery (a peer that takes the network timeout to
    answer) does not hold every other job; a job is claimed by one worker only, and jobs
    that must keep an order wait for their predecessors (:class:`JobNotReady`).

    Parameters
    ----------
    store
        The job table.
    retry_seconds
        Delay before the first retry; doubled for each further attempt.
    poll_seconds
        How often the worker looks for due jobs when nobody calls :meth:`wake`.
    workers
        Number of worker threads.
    """

    def __init__(
        self, store: JobStoreProtocol, *, retry_seconds: float = 5.0, poll_seconds: float = 1.0, workers: int = 3
    ) -> None:
        self.store = store
        self.retry_seconds = retry_seconds
        self.poll_seconds = poll_seconds
        self._handlers: dict[str, JobHandler] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = max(1, workers)

    def register(self, kind: str, handler: JobHandler) -> None:
        """Serve jobs of ``kind`` with ``handler`` (before :meth:`start`)."""
        self._handlers[kind] = handler

    def start(self) -> None:
        """Queue again what a previous run left running, then start the worker threads."""
        requeued = self.store.requeue_interrupted()
        if requeued:
            LOGGER.info("%d interrupted job(s) queued again", requeued)
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._loop, args=(n == 0,), name=f"jobs-{n}", daemon=True)
            for n in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Look for due jobs now (call after enqueueing)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the running jobs (if any) finish or ``timeout`` passes."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _loop(self, checks_orphans: bool = False) -> None:
        next_orphan_check = time.monotonic() + ORPHAN_CHECK_SECONDS
        while not self._stopping.is_set():
            try:
                if checks_orphans and time.monotonic() >= next_orphan_check:
                    next_orphan_check = time.monotonic() + ORPHAN_CHECK_SECONDS
                    if orphaned := self.store.requeue_orphaned():
                        LOGGER.warning("%d job(s) of a server process that stopped queued again", orphaned)
                ran = self.run_once()
            except Exception:  # the index failed: keep the thread, try again later
                LOGGER.exception("the job runner could not read the job table")
                ran = False
            if not ran and not self._stopping.is_set():
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def run_once(self) -> bool:
        """Claim and run one due job; False when none is due."""
        if not self._handlers:
            return False
        job = self.store.claim_due(frozenset(self._handlers))
        if job is None:
            return False
        control = JobControl(job.id, self.store)
        try:
            result = self._handlers[job.kind](job, control)
        except JobNotReady as exc:
            LOGGER.info("job %d (%s) waits: %s", job.id, job.kind, exc)
            self.store.postpone(job.id, str(exc), self.retry_seconds)
        except PermanentJobError as exc:
            LOGGER.warning("job %d (%s) failed: %s", job.id, job.kind, exc)
            self.store.retry_or_fail(job.id, str(exc), 0, permanent=True)
        except Exception as exc:
            delay = min(self.retry_seconds * 2 ** max(0, job.attempts - 1), MAX_RETRY_DELAY)
            state = self.store.retry_or_fail(job.id, f"{type(exc).__name__}: {exc}", delay)
            LOGGER.warning("job %d (%s) attempt %d failed (%s): %s", job.id, job.kind, job.attempts,
                           f"retry in {delay:.0f} s" if state is JobState.QUEUED else state, exc)
        else:
            self.store.finish(job.id, result)
        return True
