"""Watching the server for changes: its ``/api/status`` polled on a worker every few seconds.

The status' ``changes`` counter moves on every store, deletion and correction; when it moves,
:attr:`ServerWatch.changed` is emitted and the information window queries its lists again. The
study statuses (new, read, approved) are asked for at each poll too (``ticked``), since
approvals do not move the counter.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.client.dicomweb import ServerStatus
from app.services.studies import StudyService
from app.ui.workers import WorkerPool


class ServerWatch(QObject):
    """Polls one server's status.

    Signals
    -------
    status(object)
        Each :class:`~app.client.dicomweb.ServerStatus` answer.
    changed()
        The change counter moved since the previous answer.
    failed(object)
        The poll failed (the exception; e.g. the server is unreachable).
    ticked()
        A poll started (for what is polled along with it).
    """

    status = Signal(object)
    changed = Signal()
    failed = Signal(object)
    ticked = Signal()

    def __init__(self, studies: StudyService, pool: WorkerPool, seconds: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studies = studies
        self.pool = pool
        self.last_changes: int | None = None
        self._busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(max(int(seconds * 1000), 200))
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        """Ask for the status (on a worker); one request at a time."""
        if self._busy:
            return
        self._busy = True
        self.pool.submit(self.studies.status, on_done=self._answered, on_error=self._failed)
        self.ticked.emit()

    def _answered(self, result: object) -> None:
        self._busy = False
        assert isinstance(result, ServerStatus)
        moved = self.last_changes is not None and result.changes != self.last_changes
        self.last_changes = result.changes
        self.status.emit(result)
        if moved:
            self.changed.emit()

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        self.failed.emit(exc)
