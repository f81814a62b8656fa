"""Admin API of the change log: ``GET /api/changes?since=N&limit=M``.

Approvals, reads, corrections, merges, splits and deletions in commit order; ids grow
monotonically, so a client polls with the last id it saw.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from app.server.api.admin_access import context, need
from app.server.api.admin_models import ERRORS, ChangeBody
from app.server.index.changes import MAX_CHANGES

router = APIRouter(prefix="/api", tags=["changes"], responses=ERRORS)


@router.get("/changes", summary="Changes after a given id, oldest first", response_model=list[ChangeBody])
def changes(
    request: Request,
    since: int = Query(0, ge=0, description="the last change id already seen (0: from the start)"),
    limit: int = Query(1000, ge=1, le=MAX_CHANGES),
) -> list[dict[str, Any]]:
    """Changes with an id above ``since``."""
    log = need(context(request).changes, "a change log")
    return [change.as_json() for change in log.since(since, limit)]
