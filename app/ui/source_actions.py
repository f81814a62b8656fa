"""The information window's actions on its local sources (the temporary store, media).

- **Import to server** (``Ctrl+Shift+I``): the selected studies of a local source are stored on the
  server by STOW-RS (:meth:`~app.services.study_sources.TreeStudySource.import_study`, the media
  import's batches and report), one worker per study, progress in the status bar. The study then
  shows in the Server source; what was refused is shown with the reason.
- **Close media** (File menu, or the selector's Close button): the disc leaves the source list.
- :meth:`SourceActions.add_media` is the hook of the media dialog: a disc opened without import
  is listed as ``Media: <label>`` until closed.

Server-only actions (send, approve, delete, export, print) are disabled by the window while a
local source is chosen (:meth:`SourceActions.update_actions`).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.services.media import ImportReport, OpenedMedia
from app.services.studies import StudySummary
from app.services.study_sources import MediaStudySource, StudySource, TreeStudySource, same_media
from app.ui.send_jobs import describe_study

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

LOCAL_TIP = "Import the study to the server first (Study > Import to server)"


class SourceActions(QObject):
    """Import to server and Close media of one :class:`MainWindow`.

    Signals
    -------
    imported(object, object)
        A study was imported: its :class:`StudySummary` and the :class:`ImportReport`.
    """

    imported = Signal(object, object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        w = window
        self.import_action = w.make_action(
            "Import to server", self.import_selected, "Ctrl+Shift+I", "Store the selected studies on the server"
        )
        w.add_study_action(self.import_action, toolbar=True)
        self.close_media_action = w.make_action(
            "Close media", w.sources.close_current, tip="Close the disc or folder chosen as source"
        )
        w.menu("File").insertAction(w.quit_action, self.close_media_action)
        self.importing: set[str] = set()

    def update_actions(self) -> None:
        """Import only on a local source with a selection; server actions only on the server."""
        source = self.window.sources.current
        selected = self.window.has_selection()
        self.import_action.setEnabled(selected and source.can_import)
        self.close_media_action.setEnabled(isinstance(source, MediaStudySource))
        controller = self.window.controller
        for action in controller.server_actions():
            if not source.on_server:
                action.setEnabled(False)
            action.setToolTip(action.statusTip() if source.on_server else f"{action.statusTip()}: {LOCAL_TIP}")

    # -- media ---------------------------------------------------------------------------------
    def add_media(self, opened: OpenedMedia, choose: bool = False) -> StudySource:
        """List a disc opened without import (once per path); the source owns it from now on."""
        known = same_media(self.window.sources.sources(), opened)
        source = known or MediaStudySource.take(opened)
        self.window.sources.add(source, choose=choose)
        if not choose:
            self.window.statusBar().showMessage(f"{source.name} is listed under Source (Alt+O).", 8000)
        return source

    # -- import --------------------------------------------------------------------------------
    def import_selected(self) -> None:
        source, studies = self.window.sources.current, self.window.selected_studies()
        if not isinstance(source, TreeStudySource) or not studies:
            return
        for study in studies:
            key = f"{source.name}/{study.study_instance_uid}"
            if key in self.importing:
                continue
            self.importing.add(key)
            what = describe_study(study)
            self.window.statusBar().showMessage(f"Importing {what} to the server...", 10000)
            self.window.pool.submit(
                source.import_study,
                self.window.studies,
                study,
                on_done=partial(self._done, key, study),
                on_error=partial(self._failed, key, study),
                on_progress=partial(self._progress, what),
            )

    def _progress(self, what: str, done: int, total: int) -> None:
        self.window.statusBar().showMessage(f"Importing {what}: {done}/{total} objects", 5000)

    def _done(self, key: str, study: StudySummary, report: object) -> None:
        self.importing.discard(key)
        assert isinstance(report, ImportReport)
        if report.complete:
            self.window.statusBar().showMessage(
                f"Imported {describe_study(study)}: {len(report.imported)} object(s) are on the server.", 10000
            )
        else:
            what = f"The import of {describe_study(study)} is incomplete"
            self.window.controller.fail(what, RuntimeError(report.summary()))
        if self.window.sources.current.on_server:
            self.window.refresh_studies()
        self.imported.emit(study, report)

    def _failed(self, key: str, study: StudySummary, exc: Exception) -> None:
        self.importing.discard(key)
        self.window.controller.fail(f"Could not import {describe_study(study)}", exc)
