"""The workstation's hooks for settings, About, the first-run welcome and files given on the
command line (``install_settings`` is called by :func:`app.ui.application.run`).

Menu entries: File -> Settings..., Help -> Load demo studies..., Help -> About Lightbox. Saved
settings are applied at once where the running parts allow it: the viewer (corner text, date
format and language, window presets, stack order: viewers opened from now on; the study list's
dates at once), the remote nodes of the search
panel, the printers; the rest waits for a restart (the settings dialog says which).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from app.core.config import Config
from app.services.first_run import is_first_run
from app.services.printing import PrintService
from app.services.session import Session
from app.services.viewer_settings import apply_viewer_settings
from app.ui.about_dialog import AboutDialog
from app.ui.date_language import apply_date_language
from app.ui.path_opener import PathOpener
from app.ui.settings_dialog import SettingsDialog
from app.ui.viewer_launch import launcher_of
from app.ui.viewer_window import ViewerWindow
from app.ui.welcome_dialog import WelcomeDialog

log = logging.getLogger(__name__)


class SettingsHooks(QObject):
    """Opens the settings, About and welcome dialogs of one information window and applies saved settings."""

    def __init__(self, window: Any, config: Config, session: Session, *, search_panel: Any = None,
                 print_hooks: Any = None, media: Any = None, config_file: Path | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.config = config
        self.session = session
        self.search_panel = search_panel
        self.print_hooks = print_hooks
        self.media = media
        self.config_file = config_file
        self.settings_dialog: SettingsDialog | None = None
        self.welcome: WelcomeDialog | None = None

    def open_settings(self) -> SettingsDialog:
        """Show the settings dialog: the open one when it is showing, else a new one from the settings in use.

        A closed dialog is never shown again: edits left unsaved there are gone, as Close promises.
        """
        dialog = self.settings_dialog
        if dialog is None or not dialog.isVisible():
            if dialog is not None:
                dialog.deleteLater()
            dialog = self.settings_dialog = SettingsDialog(self.config, self.config_file, self.window)
            dialog.saved.connect(self.apply)
        dialog.show()
        dialog.raise_()
        return dialog

    def apply(self, config: Config) -> None:
        """Use the saved ``config`` where it can be used without a restart."""
        self.config = config
        ws = config.workstation
        apply_viewer_settings(ws.viewer)
        apply_date_language(ws.viewer)
        study_model = getattr(self.window, "study_model", None)
        if study_model is not None:
            study_model.redisplay()  # its dates in the new pattern and language
        ViewerWindow.configure(ws.viewer)
        if self.search_panel is not None:
            self.search_panel.nodes.set_nodes(ws.nodes)
            self.search_panel.nodes.nodes_changed.emit(ws.nodes)
        if self.print_hooks is not None:
            self.print_hooks.service = PrintService(ws)
        log.info("settings applied (nodes %d, printers %d)", len(ws.nodes), len(ws.printers))

    def show_about(self) -> AboutDialog:
        dialog = AboutDialog(self.config, self.window)
        dialog.show()
        return dialog

    def show_welcome(self, marker: Path | None = None) -> WelcomeDialog:
        """The welcome (non-modal); the study list refreshes once demo studies are stored."""
        self.welcome = WelcomeDialog(self.config, self.session.studies, marker, self.window)
        self.welcome.settings_requested.connect(self.open_settings)
        if hasattr(self.window, "refresh_studies"):
            self.welcome.demo_loaded.connect(lambda _made: self.window.refresh_studies())
        self.welcome.show()
        return self.welcome

    def open_paths(self, paths: Sequence[Path]) -> PathOpener:
        """Open the series of files, folders or DICOMDIRs in a viewer (read on a worker; nothing imported)."""
        opener = PathOpener(launcher_of(self.window, self.session.studies), self.window)
        opener.open(paths)
        return opener


def install_settings(window: Any, config: Config, session: Session, **parts: Any) -> SettingsHooks:
    """Add File -> Settings..., Help -> Load demo studies and Help -> About to ``window``; show the
    welcome at the first start. ``parts``: ``search_panel``, ``print_hooks``, ``media``, ``config_file``."""
    hooks = SettingsHooks(window, config, session, **parts)
    apply_viewer_settings(config.workstation.viewer)
    apply_date_language(config.workstation.viewer)
    settings = window.make_action("Settings...", hooks.open_settings, "Ctrl+,", "AE titles, nodes, printers, viewer")
    file_menu = window.menu("File")
    quit_action = getattr(window, "quit_action", None)
    if quit_action is not None:
        file_menu.insertAction(quit_action, settings)
    else:
        file_menu.addAction(settings)
    help_menu = window.menu("Help")
    help_menu.addAction(window.make_action("Load demo studies...", lambda: hooks.show_welcome(),
                                           tip="Make synthetic CT, MR and CR studies and store them"))
    help_menu.addAction(window.make_action("About Lightbox", hooks.show_about, tip="Versions, logs and data"))
    window.settings_hooks = hooks
    if is_first_run():
        hooks.show_welcome()
    return hooks
