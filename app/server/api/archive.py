"""Admin API of the external archive tier (``[server.archive]``, :mod:`app.server.archive`).

- ``POST /api/studies/{study_uid}/archive``: 202 with ``{"job_id", "job"}``: C-STORE to the
  archive, then Storage Commitment; follow it with ``GET /api/jobs/{id}``. 404 for an unknown
  study, 409 without an archive or for a study whose online copy was removed.
- ``GET /api/studies/{study_uid}/archive``: ``state`` (``not archived``, ``sending``,
  ``committing``, ``committed``, ``sent`` (no commitment asked), ``failed``), ``online``,
  ``committed_instances``, ``failed_instances``, ``transaction_uid``, times.
- ``POST /api/archive/purge`` (``?dry_run=true`` to list only): applies the removal policy now;
  ``{"dry_run", "studies": [{"study_instance_uid", "instances", "size", "why", ...}], "free_bytes"}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.core.errors import NotFoundError
from app.server.api.deps import ApiContext
from app.server.archive import ArchiveTier

router = APIRouter()


def _tier(request: Request) -> ArchiveTier:
    ctx: ApiContext = request.app.state.ctx
    if ctx.archive is None:
        raise NotFoundError("this server has no archive tier")
    tier: ArchiveTier = ctx.archive
    return tier


@router.post("/api/studies/{study_uid}/archive", status_code=202)
def archive_study(request: Request, study_uid: str) -> dict[str, Any]:
    """Queue the archiving of a study (C-STORE to the archive, then Storage Commitment)."""
    ctx: ApiContext = request.app.state.ctx
    job_id = _tier(request).submit(study_uid)
    job = ctx.jobs.get(job_id) if ctx.jobs is not None else None
    return {"job_id": job_id, "job": job.as_json() if job is not None else None}


@router.get("/api/studies/{study_uid}/archive")
def archive_state(request: Request, study_uid: str) -> dict[str, Any]:
    """Where a study stands with the archive, and whether its online copy is there."""
    return _tier(request).state(study_uid)


@router.post("/api/archive/purge")
def archive_purge(request: Request, dry_run: bool | None = None) -> dict[str, Any]:
    """Apply the removal policy now (only committed studies lose their online copy)."""
    return _tier(request).run_policy(dry_run).as_json()
