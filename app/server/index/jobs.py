"""The job table: durable outbound work, claimed one at a time (see :mod:`job_records`).

Several server processes may share the table (a PostgreSQL index): a job is claimed with
``SELECT ... FOR UPDATE SKIP LOCKED``, so two claimers never get the same row, and the
claiming process holds a session-level advisory lock on the job while it runs (on a connection
of its own, kept until the job is finished, retried or postponed). A process that starts
queues again only the running jobs whose lock nobody holds: those of a process that died
(PostgreSQL releases the locks of a closed connection), never those another live process runs.

A running job may also hold a named resource (:meth:`JobStore.hold`, a send destination: one
association at a time per destination) across every process on the shared index: a second
session-level advisory lock on the same connection, so it is released with the job's running
lock, or by PostgreSQL when the process dies (nothing to expire after a crash).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import IndexFailure
from app.server.index import engine as engine_mod
from app.server.index.job_records import FINAL_STATES, Job, JobRequest, JobState
from app.server.index.schema import job

LOGGER = logging.getLogger(__name__)

#: Longest error text kept with a job.
_MAX_ERROR = 2000

#: First key of the advisory locks on running jobs (the second is the job id).
_RUNNING_LOCK = 0x4C424A42  # "LBJB"
#: First key of the advisory locks on what running jobs hold (the second is from the resource's name).
_HOLD_LOCK = 0x4C424853  # "LBHS"


def _name_key(name: str) -> int:
    """A signed 32-bit advisory lock key from a resource name (two names sharing a key only
    serialise each other more than needed)."""
    digest = hashlib.blake2b(name.encode("utf-8", "replace"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=m["id"], kind=m["kind"], state=JobState(m["state"]), description=m["description"],
        payload=json.loads(m["payload"]), progress=json.loads(m["progress"] or "{}"), attempts=m["attempts"],
        max_attempts=m["max_attempts"], next_attempt_at=m["next_attempt_at"], last_error=m["last_error"],
        created_at=m["created_at"], updated_at=m["updated_at"],
    )


def insert_job(conn: Connection, request: JobRequest, not_before: dt.datetime | None = None) -> int:
    """Queue ``request`` within the caller's write transaction (so that a change and the work
    it causes commit together); returns the job id."""
    now = _now()
    result = conn.execute(job.insert().values(
        kind=request.kind, state=JobState.QUEUED.value, description=request.description[:200],
        payload=json.dumps(request.payload), progress="{}", attempts=0, max_attempts=max(1, request.max_attempts),
        next_attempt_at=not_before or now, last_error="", created_at=now, updated_at=now,
    ))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class JobStore:
    """Durable jobs in the index. Thread-safe; times are naive UTC.

    Parameters
    ----------
    engine
        The index engine (schema up to date).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._shared = engine.dialect.name == "postgresql"
        self._holders: dict[int, Connection] = {}  # job id -> connection holding its running lock
        self._holders_guard = threading.Lock()

    def _writing(self) -> contextlib.AbstractContextManager[Connection]:
        return engine_mod.writing(self.engine, "the job table")

    def _release(self, job_id: int) -> None:
        """Drop the running lock of a job this process claimed, and what it held (PostgreSQL)."""
        with self._holders_guard:
            holder = self._holders.pop(job_id, None)
        if holder is None:
            return
        try:
            holder.execute(select(func.pg_advisory_unlock_all()))  # the connection holds this job's locks only
            holder.commit()
        except SQLAlchemyError:
            LOGGER.warning("could not release the lock of job %d; closing its connection", job_id, exc_info=True)
            holder.invalidate()
        finally:
            holder.close()

    def release_all(self) -> None:
        """Drop every running lock of this process (the index closes; the jobs are requeued
        by the next start, as if the process had died)."""
        with self._holders_guard:
            held = list(self._holders)
        for job_id in held:
            self._release(job_id)

    def hold(self, job_id: int, name: str) -> bool:
        """Hold the resource ``name`` (a send destination) until the running job ``job_id`` of
        this process is finished, retried or postponed; False when a job of another process
        holds it now.

        On a shared (PostgreSQL) index this is a session-level advisory try-lock on the
        connection that holds the job's running lock: never waits, released with the job or
        when the process dies. On SQLite, whose index belongs to one process, always True (the
        caller's in-process lock keeps this process's jobs apart). A job this store did not
        claim holds nothing: True.
        """
        if not self._shared:
            return True
        with self._holders_guard:
            holder = self._holders.get(job_id)
        if holder is None:
            return True
        try:
            taken = bool(holder.execute(select(func.pg_try_advisory_lock(_HOLD_LOCK, _name_key(name)))).scalar_one())
            holder.commit()
        except SQLAlchemyError as exc:
            raise IndexFailure(f"the job table could not lock {name!r}: {exc}") from exc
        return taken

    def enqueue(
        self, kind: str, payload: dict[str, Any], *, description: str = "", max_attempts: int = 20,
        not_before: dt.datetime | None = None,
    ) -> int:
        """Add a queued job; returns its id. ``payload`` must be JSON-serialisable."""
        with self._writing() as conn:
            return insert_job(conn, JobRequest(kind, payload, description, max_attempts), not_before)

    def claim_due(self, kinds: frozenset[str], now: dt.datetime | None = None) -> Job | None:
        """Mark the oldest due queued job of one of ``kinds`` running (one attempt more) and return it.

        The row is selected ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer at a
        time anyway), so concurrent claimers, in this process or another, take different jobs.
        """
        now = now or _now()
        if self._shared:
            return self._claim_shared(kinds, now)
        with self._writing() as conn:
            return self._claim(conn, kinds, now)

    def _claim(self, conn: Connection, kinds: frozenset[str], now: dt.datetime) -> Job | None:
        row = conn.execute(
            select(job.c.id).where(job.c.state == JobState.QUEUED.value, job.c.next_attempt_at <= now,
                                   job.c.kind.in_(sorted(kinds)))
            .order_by(job.c.next_attempt_at, job.c.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None
        conn.execute(update(job).where(job.c.id == row.id).values(
            state=JobState.RUNNING.value, attempts=job.c.attempts + 1, updated_at=now))
        if self._shared:  # session-level: outlives this transaction, held while the job runs
            conn.execute(select(func.pg_advisory_lock(_RUNNING_LOCK, row.id)))
        return _job(conn.execute(select(job).where(job.c.id == row.id)).one())

    def _claim_shared(self, kinds: frozenset[str], now: dt.datetime) -> Job | None:
        holder = self.engine.connect()
        try:
            with holder.begin():
                claimed = self._claim(holder, kinds, now)
        except SQLAlchemyError as exc:
            holder.close()
            raise IndexFailure(f"the job table could not be updated: {exc}") from exc
        if claimed is None:
            holder.close()
            return None
        with self._holders_guard:
            self._holders[claimed.id] = holder
        return claimed

    def finish(self, job_id: int, progress: dict[str, Any] | None = None) -> None:
        """The job is done (unless it was cancelled meanwhile)."""
        values: dict[str, Any] = {"state": JobState.DONE.value, "updated_at": _now(), "last_error": ""}
        if progress is not None:
            values["progress"] = json.dumps(progress)
        try:
            with self._writing() as conn:
                conn.execute(
                    update(job).where(job.c.id == job_id, job.c.state == JobState.RUNNING.value).values(**values))
        finally:
            self._release(job_id)

    def retry_or_fail(self, job_id: int, error: str, delay_seconds: float, *, permanent: bool = False) -> JobState:
        """Record a failed attempt: queue again after ``delay_seconds``, or fail for good when
        ``permanent`` or out of attempts. Returns the new state."""
        try:
            return self._retry_or_fail(job_id, error, delay_seconds, permanent)
        finally:
            self._release(job_id)

    def _retry_or_fail(self, job_id: int, error: str, delay_seconds: float, permanent: bool) -> JobState:
        now = _now()
        with self._writing() as conn:
            columns = select(job.c.state, job.c.attempts, job.c.max_attempts)
            row = conn.execute(columns.where(job.c.id == job_id)).first()
            if row is None or JobState(row.state) in FINAL_STATES:
                return JobState(row.state) if row is not None else JobState.FAILED
            state = JobState.FAILED if permanent or row.attempts >= row.max_attempts else JobState.QUEUED
            conn.execute(update(job).where(job.c.id == job_id).values(
                state=state.value, last_error=error[:_MAX_ERROR], updated_at=now,
                next_attempt_at=now + dt.timedelta(seconds=delay_seconds)))
            return state

    def set_progress(self, job_id: int, progress: dict[str, Any]) -> None:
        """Replace the progress record of a job (shown by the admin API)."""
        with self._writing() as conn:
            conn.execute(update(job).where(job.c.id == job_id).values(progress=json.dumps(progress), updated_at=_now()))

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job; False when it is unknown or already final."""
        with self._writing() as conn:
            result = conn.execute(
                update(job).where(job.c.id == job_id, job.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]))
                .values(state=JobState.CANCELLED.value, updated_at=_now())
            )
            return bool(result.rowcount)

    def get(self, job_id: int) -> Job | None:
        """One job, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(job).where(job.c.id == job_id)).first()
        return _job(row) if row is not None else None

    def pending_before(self, kind: str, job_id: int) -> list[Job]:
        """Jobs of ``kind`` queued or running that were enqueued before ``job_id`` (oldest first)."""
        stmt = select(job).where(
            job.c.kind == kind, job.c.id < job_id, job.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value])
        ).order_by(job.c.id)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(stmt)]

    def postpone(self, job_id: int, reason: str, delay_seconds: float) -> None:
        """A running job could not run yet: queue it again after ``delay_seconds`` without
        counting the attempt (unless it was cancelled meanwhile)."""
        now = _now()
        try:
            with self._writing() as conn:
                conn.execute(update(job).where(job.c.id == job_id, job.c.state == JobState.RUNNING.value).values(
                    state=JobState.QUEUED.value, attempts=job.c.attempts - 1, last_error=reason[:_MAX_ERROR],
                    updated_at=now, next_attempt_at=now + dt.timedelta(seconds=delay_seconds)))
        finally:
            self._release(job_id)

    def list(self, *, state: JobState | None = None, kind: str | None = None, limit: int = 100) -> list[Job]:
        """Jobs, newest first."""
        stmt = select(job).order_by(job.c.id.desc()).limit(max(1, min(limit, 10_000)))
        if state is not None:
            stmt = stmt.where(job.c.state == state.value)
        if kind is not None:
            stmt = stmt.where(job.c.kind == kind)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(stmt)]

    def requeue_interrupted(self) -> int:
        """At start: jobs left running by a stopped or crashed server are queued again. On a
        shared (PostgreSQL) index only those whose running lock no live process holds."""
        if self._shared:
            return self.requeue_orphaned()
        with self._writing() as conn:
            result = conn.execute(update(job).where(job.c.state == JobState.RUNNING.value).values(
                state=JobState.QUEUED.value, updated_at=_now()))
            return int(result.rowcount)

    def requeue_orphaned(self) -> int:
        """While serving, on a shared (PostgreSQL) index: queue again the running jobs of a
        process that died meanwhile (their running lock is free). 0 on SQLite, whose index
        belongs to one process (its running jobs are this process's own)."""
        if not self._shared:
            return 0
        with self._writing() as conn:
            running = job.c.state == JobState.RUNNING.value
            orphaned = []
            for job_id in conn.execute(select(job.c.id).where(running).with_for_update(skip_locked=True)).scalars():
                # a transaction-level try-lock: free means the claimer's session is gone
                if conn.execute(select(func.pg_try_advisory_xact_lock(_RUNNING_LOCK, job_id))).scalar_one():
                    orphaned.append(job_id)
            if orphaned:
                conn.execute(update(job).where(job.c.id.in_(orphaned), running).values(
                    state=JobState.QUEUED.value, updated_at=_now()))
            return len(orphaned)
