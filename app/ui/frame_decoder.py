"""Decoding a viewport's frames on a pool thread, newest request first, stale ones dropped.

A viewport asks for the frame it wants to show and the neighbours it will likely show next
(:meth:`FrameDecoder.request`); each request replaces the previous one, so scrolling fast
through a compressed multi-frame image queues at most one decode in progress plus the
latest wish list, never a backlog. One runnable at a time works through the list, calling
:meth:`~app.services.image_stack.ImageStack.decode` (the decoded frames go to the stack's
bounded cache) and signalling ``decoded(stack, ref)`` to the GUI thread after each frame.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.imaging.stacks import StackPosition
from app.services.image_stack import ImageStack

log = logging.getLogger(__name__)


class DecoderSignals(QObject):
    """``decoded(stack, ref)``: frame ``ref`` of ``stack`` can be shown now."""

    decoded = Signal(object, object)


class FrameDecoder:
    """Decodes the frames a viewport wants, one runnable at a time on ``pool``."""

    def __init__(self, pool: QThreadPool) -> None:
        self.pool = pool
        self.signals = DecoderSignals()  # no parent: a running decode outlives a closed viewport
        self._lock = threading.Lock()
        self._wanted: list[tuple[ImageStack, StackPosition]] = []
        self._runner: _DecodeRun | None = None

    @property
    def busy(self) -> bool:
        """True while a runnable is decoding or has frames left to decode."""
        return self._runner is not None

    def request(self, stack: ImageStack, refs: Sequence[StackPosition]) -> None:
        """Decode ``refs`` of ``stack`` in this order, instead of anything asked for before."""
        with self._lock:
            self._wanted = [(stack, ref) for ref in refs]
            if self._runner is not None or not self._wanted:
                return
            self._runner = _DecodeRun(self)
            runner = self._runner
        self.pool.start(runner)

    def cancel(self) -> None:
        """Forget the frames not started yet (the one in progress finishes)."""
        with self._lock:
            self._wanted = []

    def _next(self) -> tuple[ImageStack, StackPosition] | None:
        with self._lock:
            if not self._wanted:
                self._runner = None
                return None
            return self._wanted.pop(0)


class _DecodeRun(QRunnable):
    def __init__(self, decoder: FrameDecoder) -> None:
        super().__init__()
        self.setAutoDelete(False)  # kept by the decoder until its list is empty
        self.decoder = decoder

    def run(self) -> None:
        while (job := self.decoder._next()) is not None:
            stack, ref = job
            stack.decode(ref)  # keeps a failure for the viewport to show
            try:
                self.decoder.signals.decoded.emit(stack, ref)
            except RuntimeError:  # the application is shutting down
                log.debug("decoded frame %s after its viewer closed", ref)
