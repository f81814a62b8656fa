"""Admin API of the durable jobs (MPPS relay, commitment reports, sends; :mod:`app.server.jobs`).

- ``GET /api/jobs?state=queued&kind=mpps-relay&limit=100``: jobs, newest first;
- ``GET /api/jobs/{id}``: one job (payload, progress, attempts, last error);
- ``DELETE /api/jobs/{id}``: cancel a queued or running job (404 unknown, 409 already over).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from app.core.errors import AppError, DicomInputError, NotFoundError
from app.server.api.admin_models import ERRORS, JobBody
from app.server.api.deps import ApiContext
from app.server.index.job_records import Job, JobState, JobStoreProtocol

router = APIRouter(tags=["jobs"], responses=ERRORS)


class JobConflict(AppError):
    """The job cannot change any more (HTTP 409)."""


def _store(request: Request) -> JobStoreProtocol:
    ctx: ApiContext = request.app.state.ctx
    if ctx.jobs is None:
        raise NotFoundError("this server runs no durable jobs (no job store)")
    return ctx.jobs


def _job(store: JobStoreProtocol, job_id: int) -> Job:
    job = store.get(job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}; list the jobs with GET /api/jobs")
    return job


@router.get("/api/jobs", summary="Jobs, newest first", response_model=list[JobBody])
def list_jobs(
    request: Request, state: str | None = None, kind: str | None = None, limit: int = Query(100, ge=1, le=10_000)
) -> list[dict[str, Any]]:
    """Jobs, newest first, optionally of one state and kind."""
    states = [s.value for s in JobState]
    if state is not None and state not in states:
        raise DicomInputError(f"state={state!r}: use one of {', '.join(states)}")
    store = _store(request)
    return [job.as_json() for job in store.list(state=JobState(state) if state else None, kind=kind, limit=limit)]


@router.get("/api/jobs/{job_id}", summary="One job with its progress", response_model=JobBody)
def get_job(request: Request, job_id: int) -> dict[str, Any]:
    """One job."""
    return _job(_store(request), job_id).as_json()


@router.delete("/api/jobs/{job_id}", summary="Cancel a job", response_model=JobBody)
def cancel_job(request: Request, job_id: int) -> dict[str, Any]:
    """Cancel a job that is queued or running; the job as it is afterwards."""
    store = _store(request)
    job = _job(store, job_id)
    if not store.cancel(job_id):
        current = store.get(job_id) or job
        raise JobConflict(f"job {job_id} is {current.state} already and cannot be cancelled")
    return _job(store, job_id).as_json()
