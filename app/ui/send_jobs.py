"""Sending studies: the destination chooser and the monitor of send jobs in the status bar.

The server queues one durable job per send (``POST /api/studies/{uid}/send``); :class:`JobMonitor`
polls each job (``GET /api/jobs/{id}``, on a worker, every :data:`JOB_POLL_MS`) and shows each
running one's progress in its own status bar row (images sent of the total; the retry and its
reason while the server retries a destination that does not answer) with a Cancel button
(``DELETE /api/jobs/{id}``) until every job has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.dicom.value_format import format_date
from app.dicom.value_format import format_person_name as format_name
from app.services.studies import StudySummary
from app.services.study_actions import Destination, JobProgress, StudyActions

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

JOB_POLL_MS = 500


def describe_study(study: StudySummary) -> str:
    """``Doe, Jane (ID 123): CT Head, 2024-01-31, accession A1`` for dialogs and messages."""
    what = ", ".join(
        t
        for t in (
            study.study_description or study.modalities.replace("\\", "/"),
            format_date(study.study_date),
            f"accession {study.accession_number}" if study.accession_number else "",
        )
        if t
    )
    return f"{format_name(study.patient_name) or '(no name)'} (ID {study.patient_id or '-'}): {what or 'study'}"


class DestinationDialog(QDialog):
    """Choose where to send the studies: one of the server's destinations."""

    def __init__(self, parent: QWidget, destinations: list[Destination], studies: list[StudySummary]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send to")
        self.list = QListWidget(self)
        for destination in destinations:
            item = QListWidgetItem(destination.label, self.list)
            item.setData(Qt.ItemDataRole.UserRole, destination)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        what = describe_study(studies[0]) if len(studies) == 1 else f"{len(studies)} studies"
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Send")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Send {what} to:", self))
        layout.addWidget(self.list)
        layout.addWidget(buttons)

    def choose(self, ae_title: str) -> None:
        """Select the destination with this AE title."""
        for row in range(self.list.count()):
            if self.destination_at(row).ae_title == ae_title:
                self.list.setCurrentRow(row)

    def destination_at(self, row: int) -> Destination:
        value = self.list.item(row).data(Qt.ItemDataRole.UserRole)
        assert isinstance(value, Destination)
        return value

    def destination(self) -> Destination | None:
        row = self.list.currentRow()
        return self.destination_at(row) if row >= 0 else None


class JobRow(QWidget):
    """One send in the status bar: what it sends and how far it is, a progress bar, a Cancel button."""

    def __init__(self, parent: QWidget, what: str) -> None:
        super().__init__(parent)
        self.what = what
        self.label = QLabel(f"Sending {what}: queued", self)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(180)
        self.bar.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip(f"Stop sending {what} (what was sent stays at the destination)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)

    def show_progress(self, progress: JobProgress) -> None:
        if not self.cancel_button.isEnabled():  # cancelling: the server stops at its next image
            self.label.setText(f"Sending {self.what}: cancelling ({progress.describe()})")
        else:
            self.label.setText(f"Sending {self.what}: {progress.describe()}")
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.completed)
        else:
            self.bar.setRange(0, 0)


class JobMonitor(QObject):
    """Follows send jobs until they end: one :class:`JobRow` per job in the window's status bar.

    Each row's Cancel button cancels its job on the server (``DELETE /api/jobs/{id}``, on a
    worker); the send stops at its next image and the status bar says it was cancelled.

    Signals
    -------
    updated(object)
        A job's :class:`JobProgress` after each poll (its row already shows it).
    finished(object, str)
        A job ended (done, failed, or cancelled elsewhere): its last progress and what it sent.
    cancelled(object, str)
        A job the user cancelled here ended cancelled: its last progress and what it sent (one
        that finished before the cancel reached the server ends through ``finished``).
    """

    updated = Signal(object)
    finished = Signal(object, str)
    cancelled = Signal(object, str)

    def __init__(self, window: MainWindow, actions: Callable[[], StudyActions | None]) -> None:
        super().__init__(window)
        self.window = window
        self._actions = actions
        self.jobs: dict[int, str] = {}  # job id -> what it sends ("Doe, Jane to PACS")
        self.rows: dict[int, JobRow] = {}
        self._cancelling: set[int] = set()
        self._busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(JOB_POLL_MS)
        self.timer.timeout.connect(self.poll)

    def track(self, what: str, job_id: object) -> None:
        """Follow job ``job_id`` (sending ``what``) until it ends."""
        assert isinstance(job_id, int)
        self.jobs[job_id] = what
        row = JobRow(self.window, what)
        row.cancel_button.clicked.connect(lambda _checked=False, j=job_id: self.cancel(j))
        self.rows[job_id] = row
        self.window.statusBar().addWidget(row)
        row.show()
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def cancel(self, job_id: int) -> None:
        """Cancel job ``job_id`` on the server (a worker); its row says so until the job has ended."""
        actions, row = self._actions(), self.rows.get(job_id)
        if actions is None or row is None or job_id in self._cancelling:
            return
        self._cancelling.add(job_id)
        row.cancel_button.setEnabled(False)
        row.label.setText(f"Sending {row.what}: cancelling")

        def failed(exc: Exception) -> None:  # e.g. 409: it ended meanwhile; the next poll tells
            self._cancelling.discard(job_id)
            row.cancel_button.setEnabled(True)
            self.window.statusBar().showMessage(f"Could not cancel sending {row.what}: {exc}", 10000)

        self.window.pool.submit(actions.cancel_job, job_id, on_done=lambda _r: self.poll(), on_error=failed)

    def poll(self) -> None:
        """Ask for each job's progress (one worker at a time)."""
        actions = self._actions()
        if actions is None or self._busy or not self.jobs:
            return
        self._busy = True
        ids = list(self.jobs)

        def fetch() -> list[JobProgress]:
            return [actions.job_progress(job_id) for job_id in ids]

        def failed(exc: Exception) -> None:
            self._busy = False
            self.window.statusBar().showMessage(f"Job progress unavailable: {exc}", 5000)

        self.window.pool.submit(fetch, on_done=self._on_progress, on_error=failed)

    def _on_progress(self, result: object) -> None:
        self._busy = False
        assert isinstance(result, list)
        for progress in result:
            assert isinstance(progress, JobProgress)
            row = self.rows.get(progress.job_id)
            if row is not None and not progress.finished:
                row.show_progress(progress)
            self.updated.emit(progress)
            if progress.finished:
                self._ended(progress)
        if not self.jobs:
            self.timer.stop()

    def _ended(self, progress: JobProgress) -> None:
        what = self.jobs.pop(progress.job_id, f"job {progress.job_id}")
        row = self.rows.pop(progress.job_id, None)
        if row is not None:
            self.window.statusBar().removeWidget(row)
            row.deleteLater()
        if progress.job_id in self._cancelling:
            self._cancelling.discard(progress.job_id)
            if progress.state == "cancelled":
                self.window.statusBar().showMessage(f"Sending {what} cancelled: {progress.describe()}", 15000)
                self.cancelled.emit(progress, what)
                return
        self.finished.emit(progress, what)
