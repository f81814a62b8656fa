"""Actions on the selected studies of the information window: send, approve, delete, export, print.

Each action runs its server call on the window's :class:`~app.ui.workers.WorkerPool` (the UI never
blocks) and every dialog is opened window-modal without a nested event loop (``QDialog.open``).
The dialog or message box being shown is kept in :attr:`StudyActionController.dialog`.

- Send: the destinations come from the admin API (``GET /api/destinations``); one send job per
  study is queued and followed in the status bar (:mod:`app.ui.send_jobs`).
- Approve: the status column shows the new status once the server answers.
- Delete: a confirmation naming the patient and the study (and what is lost) comes first.
- Export and print: emitted as ``export_requested`` / ``print_requested`` for the media and print
  dialogs (see :mod:`app.ui.main_window`).

Failures are shown in a message box that says what failed and what to do.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import SIGNAL, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMessageBox

from app.core.errors import NotFoundError
from app.dicom.value_format import format_person_name as format_name
from app.services.studies import StudySummary
from app.services.study_actions import Destination, JobProgress, StudyActions
from app.ui.send_jobs import DestinationDialog, JobMonitor, describe_study

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class StudyActionController(QObject):
    """The study actions of one :class:`MainWindow`: their ``QAction`` objects and their flows.

    Signals
    -------
    action_done(str)
        An action finished; the text is what the status bar shows.
    """

    action_done = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: QDialog | QMessageBox | None = None
        self._statuses_busy = False
        w = window
        self.send_action = w.make_action("Send to...", self.send_selected, "Ctrl+Shift+S", "Send to a DICOM node")
        self.approve_action = w.make_action("Approve", self.approve_selected, "Ctrl+Shift+A", "Approve the report")
        self.delete_action = w.make_action("Delete...", self.delete_selected, QKeySequence.StandardKey.Delete)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        w.study_view.addAction(self.delete_action)
        self.export_action = w.make_action("Export...", self.export_selected, "Ctrl+E", "Export to a folder or CD/DVD")
        self.print_action = w.make_action("Print...", self.print_selected, QKeySequence.StandardKey.Print)
        for action in (self.send_action, self.approve_action, self.delete_action):
            w.add_study_action(action, toolbar=True)
        w.menu("Study").addSeparator()
        w.context_menu.addSeparator()
        for action in (self.export_action, self.print_action):
            w.add_study_action(action, toolbar=True)

        self.monitor = JobMonitor(w, lambda: self.actions)
        self.monitor.finished.connect(self._job_finished)

    @property
    def actions(self) -> StudyActions | None:
        return self.window.study_actions

    def server_actions(self) -> tuple[QAction, ...]:
        """The actions on studies held by the server (off while a local source is chosen)."""
        return (self.send_action, self.approve_action, self.delete_action, self.export_action, self.print_action)

    def update_actions(self) -> None:
        """Admin actions are off once the window has shut its admin client."""
        if self.actions is None:
            for action in (self.send_action, self.approve_action, self.delete_action):
                action.setEnabled(False)

    def stop(self) -> None:
        self.monitor.stop()

    # -- messages ---------------------------------------------------------------------------
    def _show(self, box: QDialog | QMessageBox) -> None:
        self.dialog = box
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "dialog", None) if self.dialog is box else None)
        box.open()

    def fail(self, what: str, exc: Exception) -> None:
        """Tell the user ``what`` failed, why, and (in the error's words) what to do."""
        log.warning("%s: %s", what, exc)
        self.window.statusBar().showMessage(f"{what}: {exc}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Lightbox", f"{what}.", QMessageBox.StandardButton.Ok, self.window)
        box.setInformativeText(str(exc))
        self._show(box)

    def _failed_on(self, what: str, study: StudySummary, exc: Exception) -> None:
        if isinstance(exc, NotFoundError):  # deleted meanwhile (another user, another workstation)
            exc = NotFoundError(f"The study is no longer on the server; the list has been refreshed. ({exc})")
            self.window.refresh_studies()
        self.fail(f"{what} {describe_study(study)}", exc)

    def _done(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)
        self.action_done.emit(text)

    # -- statuses ---------------------------------------------------------------------------
    def refresh_statuses(self) -> None:
        """Ask the admin API for the study statuses (on a worker); the status column follows."""
        actions = self.actions
        if actions is None or self._statuses_busy or not self.window.sources.current.on_server:
            return  # a local source's studies have no status
        self._statuses_busy = True

        def done(result: object) -> None:
            self._statuses_busy = False
            assert isinstance(result, dict)
            if not self.window.sources.current.on_server:
                return
            first = self.window.study_model.status_known is False
            self.window.study_model.set_statuses(result)
            if first:  # new studies turned bold: fit the columns again
                self.window.fit_study_columns()
            self.window.statuses_loaded.emit(result)

        def failed(exc: Exception) -> None:
            self._statuses_busy = False
            self.window.study_model.set_statuses(None)
            self.window.statusBar().showMessage(f"Study statuses unavailable: {exc}", 10000)

        self.window.pool.submit(actions.statuses, on_done=done, on_error=failed)

    # -- approve ----------------------------------------------------------------------------
    def approve_selected(self) -> None:
        actions, studies = self.actions, self.window.selected_studies()
        if actions is None or not studies:
            return
        for study in studies:
            self.window.pool.submit(
                actions.approve,
                study.study_instance_uid,
                on_done=partial(self._approved, study),
                on_error=partial(self._failed_on, "Could not approve", study),
            )

    def _approved(self, study: StudySummary, status: object) -> None:
        self.refresh_statuses()
        self._done(f"{describe_study(study)}: {status}")

    def mark_read(self, study: StudySummary) -> None:
        """Opened in the viewer: the study becomes read (unless approved), quietly."""
        actions = self.actions
        if actions is None or self.window.study_model.status(study) not in ("new", ""):
            return
        self.window.pool.submit(
            actions.mark_read,
            study.study_instance_uid,
            on_done=lambda _status: self.refresh_statuses(),
            on_error=lambda exc: self.window.statusBar().showMessage(f"Could not mark the study read: {exc}", 10000),
        )

    # -- delete -----------------------------------------------------------------------------
    def delete_selected(self) -> None:
        """Ask for confirmation naming the patients and studies, then delete them on the server."""
        studies = self.window.selected_studies()
        if self.actions is None or not studies:
            return
        names = "\n".join(describe_study(s) for s in studies[:10])
        more = f"\n... and {len(studies) - 10} more" if len(studies) > 10 else ""
        images = sum(s.number_of_images for s in studies)
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Delete studies")
        box.setText(f"Delete {'this study' if len(studies) == 1 else f'these {len(studies)} studies'} from the server?")
        box.setInformativeText(
            f"{names}{more}\n\n{images} images are removed for every user of the server. This cannot be undone."
        )
        self.delete_button = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        delete = self.delete_button
        box.buttonClicked.connect(lambda button: self._delete_confirmed(studies) if button is delete else None)
        self._show(box)

    def _delete_confirmed(self, studies: list[StudySummary]) -> None:
        actions = self.actions
        if actions is None:
            return
        for study in studies:
            self.window.pool.submit(
                actions.delete,
                study.study_instance_uid,
                on_done=partial(self._deleted, study),
                on_error=partial(self._failed_on, "Could not delete", study),
            )

    def _deleted(self, study: StudySummary, _result: object) -> None:
        self.window.refresh_studies()
        self._done(f"Deleted {describe_study(study)}")

    # -- send -------------------------------------------------------------------------------
    def send_selected(self) -> None:
        """Fetch the destinations (worker), let the user choose one, then queue one job per study."""
        actions, studies = self.actions, self.window.selected_studies()
        if actions is None or not studies:
            return

        def chosen(result: object) -> None:
            assert isinstance(result, list)
            if not result:
                self.fail(
                    "No destination to send to",
                    ValueError(
                        "The server knows no DICOM destination. Add a [[server.destinations]] table (AE title, "
                        "host, port) to the server's configuration and restart the server."
                    ),
                )
                return
            dialog = DestinationDialog(self.window, result, studies)
            dialog.accepted.connect(lambda: self._send(studies, dialog.destination()))
            self._show(dialog)

        self.window.pool.submit(
            actions.destinations, on_done=chosen, on_error=lambda exc: self.fail("Could not list the destinations", exc)
        )

    def _send(self, studies: list[StudySummary], destination: Destination | None) -> None:
        actions = self.actions
        if actions is None or destination is None:
            return
        for study in studies:
            what = f"{format_name(study.patient_name) or study.patient_id} to {destination.ae_title}"
            self.window.pool.submit(
                actions.send,
                study.study_instance_uid,
                destination,
                on_done=partial(self.monitor.track, what),
                on_error=partial(self._failed_on, "Could not send", study),
            )

    def _job_finished(self, progress: JobProgress, what: str) -> None:
        if progress.failed:
            self.fail(f"Sending {what} failed", RuntimeError(progress.describe()))
        else:
            self._done(f"Sent {what}: {progress.describe()}")

    # -- hooks for the media and print dialogs -----------------------------------------------
    def _request(self, signal_name: str, what: str) -> None:
        studies = self.window.selected_studies()
        if not studies:
            return
        if self.window.receivers(SIGNAL(f"{signal_name}(QVariantList)")) == 0:
            self.window.statusBar().showMessage(f"{what} is not available in this build of Lightbox.", 10000)
            return
        getattr(self.window, signal_name).emit(studies)

    def export_selected(self) -> None:
        self._request("export_requested", "Export")

    def print_selected(self) -> None:
        self._request("print_requested", "Printing")
