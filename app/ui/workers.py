"""Background work for the UI: QRunnable workers whose results come back as Qt signals.

The UI never blocks (DESIGN.md section 5): network calls and decoding run on a
``QThreadPool``; results, errors and progress are delivered on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.services.cancel import CancelToken

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    """Signals of one worker: ``finished(result)``, ``failed(exception)``, ``progress(done, total)``."""

    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int)


class Worker(QRunnable):
    """Runs ``fn(*args, **kwargs)`` on a pool thread.

    When ``with_progress`` is set, ``fn`` also receives ``progress=`` (a callable emitting
    :attr:`WorkerSignals.progress`) and ``cancel=`` (this worker's :class:`CancelToken`).
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.signals = WorkerSignals()
        self.cancel_token = CancelToken()
        if with_progress:
            self.kwargs["progress"] = self._progress
            self.kwargs["cancel"] = self.cancel_token

    def _progress(self, done: int, total: int) -> None:
        self.signals.progress.emit(done, total)

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # every failure goes back to the UI, none is lost
            log.debug("worker %s failed: %s", getattr(self.fn, "__name__", self.fn), exc)
            self.signals.failed.emit(exc)
        else:
            self.signals.finished.emit(result)


class WorkerPool(QObject):
    """A thread pool that keeps its workers alive until their result has been delivered."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._running: set[Worker] = set()

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        **kwargs: Any,
    ) -> Worker:
        """Run ``fn`` in the pool; callbacks are called on the GUI thread."""
        worker = Worker(fn, *args, with_progress=on_progress is not None, **kwargs)
        worker.setAutoDelete(False)
        self._running.add(worker)

        def done(result: object) -> None:
            self._running.discard(worker)
            if on_done is not None:
                on_done(result)

        def error(exc: object) -> None:
            self._running.discard(worker)
            if on_error is not None and isinstance(exc, Exception):
                on_error(exc)

        worker.signals.finished.connect(done)
        worker.signals.failed.connect(error)
        if on_progress is not None:
            worker.signals.progress.connect(on_progress)
        self.pool.start(worker)
        return worker

    @property
    def busy(self) -> int:
        """Number of workers whose result has not been delivered yet."""
        return len(self._running)

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel what can be cancelled and wait for the threads to finish."""
        for worker in list(self._running):
            worker.cancel_token.cancel()
        self.pool.waitForDone(timeout_ms)
