"""The media dialogs' place in the information window: File > Import media... and Study > Export....

:func:`install_media` uses only the window's hooks (``menu``, ``make_action``,
``export_requested``, ``refresh_studies``); series opened from a disc without import go to a
viewer (through the information window's :class:`~app.ui.viewer_launch.ViewerLauncher`: the annotation
toolbar, saving on the server disabled) with all of them in its matrix.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from app.services.media import ImportReport
from app.services.studies import StudyService
from app.ui.media_export_dialog import MediaExportDialog
from app.ui.media_import_dialog import MediaImportDialog
from app.ui.viewer_launch import launcher_of
from app.ui.viewer_window import source_key


class MediaActions(QObject):
    """The import and export dialogs of one information window (each created once, then reused)."""

    def __init__(self, window: Any, studies: StudyService) -> None:
        super().__init__(window)
        self.window = window
        self.studies = studies
        self.import_dialog: MediaImportDialog | None = None
        self.export_dialog: MediaExportDialog | None = None
        self.launcher = launcher_of(window, studies)

    def open_import(self) -> MediaImportDialog:
        if self.import_dialog is None:
            self.import_dialog = MediaImportDialog(self.studies, self.open_sources, self.window)
            self.import_dialog.import_finished.connect(self._imported)
        self.import_dialog.show()
        self.import_dialog.raise_()
        return self.import_dialog

    def open_export(self, selected: list[Any]) -> MediaExportDialog:
        if self.export_dialog is None:
            self.export_dialog = MediaExportDialog(self.studies, selected, self.window)
        else:
            self.export_dialog.set_studies(selected)
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def open_sources(self, sources: list[Any]) -> Any:
        """Open series read from a disc (no import) in a viewer (:meth:`ViewerLauncher.open_sources`)."""
        first = next((s for s in sources if getattr(s, "is_image", True)), sources[0])
        viewer = self.launcher.open_sources(
            f"media:{source_key(first)}", f"{first.title} - from media - Lightbox", sources, first
        )
        opened = self.import_dialog.opened if self.import_dialog is not None else None
        if opened is not None and hasattr(self.window, "add_media"):
            self.window.add_media(opened)  # listed as "Media: ..." in the information window until closed
        return viewer

    def _imported(self, report: ImportReport) -> None:
        if report.imported and hasattr(self.window, "refresh_studies"):
            self.window.refresh_studies()

    def shutdown(self) -> None:
        if self.import_dialog is not None:
            self.import_dialog.shutdown()


def install_media(window: Any, studies: StudyService | None = None) -> MediaActions:
    """Add File > Import media... and answer ``window.export_requested`` with the export dialog."""
    actions = MediaActions(window, studies or window.studies)
    action = window.make_action("Import media...", actions.open_import, tip="Import or open a CD/DVD, folder or ISO")
    file_menu = window.menu("File")
    quit_action = getattr(window, "quit_action", None)
    if quit_action is not None:
        file_menu.insertAction(quit_action, action)
        file_menu.insertSeparator(quit_action)
    else:
        file_menu.addAction(action)
    window.import_media_action = action
    window.export_requested.connect(actions.open_export)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(actions.shutdown)
    return actions
