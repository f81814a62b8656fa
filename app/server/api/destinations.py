"""Admin API of the configured destinations: ``GET /api/destinations`` (``[[server.destinations]]``,
the C-MOVE and send targets)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.server.api.admin_access import context
from app.server.api.admin_models import DestinationBody

router = APIRouter(prefix="/api", tags=["destinations"])


@router.get("/destinations", summary="Configured destinations", response_model=list[DestinationBody])
def destinations(request: Request) -> list[dict[str, Any]]:
    """Every destination a study can be sent or moved to, in configuration order."""
    return [{"ae_title": d.ae_title, "host": d.host, "port": d.port} for d in context(request).destinations]
