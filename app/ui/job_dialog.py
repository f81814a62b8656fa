"""A dialog running one cancellable job on a worker: the media export and import dialogs' common part.

It holds the worker pool, the running :class:`~app.ui.workers.Worker`, a progress bar (hidden while
idle), the read-only report text, **Cancel** (asks the worker's cancel token) and **Close** (which
also cancels a running job).
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QPlainTextEdit, QProgressBar, QPushButton, QWidget

from app.ui.workers import Worker, WorkerPool


class JobDialog(QDialog):
    """The worker, progress, report and Cancel/Close of a dialog that runs one job at a time.

    Parameters
    ----------
    title
        The window title.
    max_threads
        The worker pool's threads.
    report_height
        The report text's largest height in pixels.
    cancelling
        The line appended to the report when **Cancel** is pressed during a job.
    parent
        The parent widget.
    """

    def __init__(
        self, title: str, max_threads: int, report_height: int, cancelling: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.pool = WorkerPool(self, max_threads=max_threads)
        self.worker: Worker | None = None
        self._cancelling = cancelling
        self.report = QPlainTextEdit(self)
        self.report.setReadOnly(True)
        self.report.setMaximumHeight(report_height)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def cancel(self) -> None:
        """Ask the running job to stop (it ends at its next check) and say so in the report."""
        if self.worker is not None:
            self.worker.cancel_token.cancel()
            self.report.appendPlainText(self._cancelling)

    def done(self, result: int) -> None:  # closing the dialog cancels its job
        if self.worker is not None:
            self.worker.cancel_token.cancel()
        super().done(result)
