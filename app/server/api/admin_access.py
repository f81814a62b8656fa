"""What the admin routes share: the stores from the :class:`ApiContext`, and who is asking."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request

from app.core.errors import ServerUnavailableError
from app.server.api.deps import ApiContext

#: Header naming the person behind a request (the workstation sends the user's name).
USER_HEADER = "X-Lightbox-User"

T = TypeVar("T")


def context(request: Request) -> ApiContext:
    """The server parts of this application."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


def need(part: T | None, what: str) -> T:
    """A part the route cannot work without (absent only in a partly wired test server)."""
    if part is None:
        raise ServerUnavailableError(f"this server runs without {what}; start it with the full wiring")
    return part


def who(request: Request, by: str | None = None) -> str:
    """Who asks: the body's ``by``, else the :data:`USER_HEADER` header, else the client's address."""
    for candidate in (by, request.headers.get(USER_HEADER)):
        if candidate and candidate.strip():
            return candidate.strip()[:64]
    return request.client.host if request.client else "unknown"
