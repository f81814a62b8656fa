"""Admin API of sends (the reference's 2.2.7.1: send examinations to a chosen destination;
the destinations are listed by ``GET /api/destinations``).

- ``POST /api/studies/{study_uid}/send`` with ``{"destination": AE title, "series": [UIDs]}``
  (``series`` optional: the whole study): 202 with ``{"job_id", "job"}``; follow the job with
  ``GET /api/jobs/{id}`` (progress ``total``, ``completed``, ``warning``, ``failed``), cancel it
  with ``DELETE /api/jobs/{id}``. 404 for an unknown study or series, 400 for a destination
  that is not configured.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.core.errors import NotFoundError
from app.server.api.deps import ApiContext

router = APIRouter()


class SendBody(BaseModel):
    """The body of a send request."""

    destination: str = Field(min_length=1, max_length=16, description="AE title of a configured destination")
    series: list[str] | None = Field(default=None, max_length=10_000, description="Series Instance UIDs (optional)")


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


@router.post("/api/studies/{study_uid}/send", status_code=202)
def send_study(request: Request, study_uid: str, body: SendBody) -> dict[str, Any]:
    """Queue the send of a study (or of some of its series) to a destination."""
    ctx = _ctx(request)
    if ctx.sends is None or ctx.jobs is None:
        raise NotFoundError("this server does not send studies (no Storage SCU configured)")
    job_id = ctx.sends.submit(study_uid, body.destination.strip(), body.series)
    job = ctx.jobs.get(job_id)
    return {"job_id": job_id, "job": job.as_json() if job is not None else None}
