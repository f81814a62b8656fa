"""A cancel token and a progress callback type for long service calls.

DESIGN.md puts ``CancelToken`` in ``app.core``; until it lands there this small one serves
``app.services``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.core.errors import AppError

Progress = Callable[[int, int], None]
"""``progress(done, total)``; total is 0 when unknown."""


class CancelledError(AppError):
    """The user cancelled the operation; nothing is wrong."""


class CancelToken:
    """Thread-safe flag: the UI sets it, the worker checks it between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("Cancelled.")
