"""Sending studies: the destination chooser and the monitor of send jobs in the status bar.

The server queues one durable job per send (``POST /api/studies/{uid}/send``); :class:`JobMonitor`
polls each job (``GET /api/jobs/{id}``, on a worker, every :data:`JOB_POLL_MS`) and shows the
running one's progress (images sent of the total; the retry and its reason while the server
retries a destination that does not answer) until every job has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
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


class JobMonitor(QObject):
    """Follows send jobs until they end, showing the progress in the window's status bar.

    Signals
    -------
    updated(object)
        A job's :class:`JobProgress` after each poll.
    finished(object, str)
        A job ended (done, failed or cancelled): its last progress and what it sent.
    """

    updated = Signal(object)
    finished = Signal(object, str)

    def __init__(self, window: MainWindow, actions: Callable[[], StudyActions | None]) -> None:
        super().__init__(window)
        self.window = window
        self._actions = actions
        self.jobs: dict[int, str] = {}  # job id -> what it sends ("Doe, Jane to PACS")
        self._busy = False
        self.label = QLabel(window)
        self.bar = QProgressBar(window)
        self.bar.setMaximumWidth(180)
        window.statusBar().addWidget(self.label)
        window.statusBar().addWidget(self.bar)
        self.label.hide()
        self.bar.hide()
        self.timer = QTimer(self)
        self.timer.setInterval(JOB_POLL_MS)
        self.timer.timeout.connect(self.poll)

    def track(self, what: str, job_id: object) -> None:
        """Follow job ``job_id`` (sending ``what``) until it ends."""
        assert isinstance(job_id, int)
        self.jobs[job_id] = what
        self.label.setText(f"Sending {what}: queued")
        self.label.show()
        self.bar.setRange(0, 0)
        self.bar.show()
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

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
            self.updated.emit(progress)
            if progress.finished:
                what = self.jobs.pop(progress.job_id, f"job {progress.job_id}")
                self.finished.emit(progress, what)
                continue
            self.label.setText(f"Sending {self.jobs.get(progress.job_id, '')}: {progress.describe()}")
            if progress.total:
                self.bar.setRange(0, progress.total)
                self.bar.setValue(progress.completed)
            else:
                self.bar.setRange(0, 0)
        if not self.jobs:
            self.timer.stop()
            self.label.hide()
            self.bar.hide()
