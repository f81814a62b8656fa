"""The workstation application: ``run(config, argv)`` is what ``lightbox`` calls.

With no ``workstation.server_url`` configured, the bundled server is started as a child
process and stopped on exit (DESIGN.md section 1); otherwise the workstation connects to
the configured server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QSplashScreen

from app import __version__
from app.core.config import Config
from app.core.errors import AppError
from app.services.session import Session
from app.services.study_sources import TemporaryStoreSource
from app.ui.main_window import MainWindow
from app.ui.media_menu import install_media
from app.ui.print_actions import install_print
from app.ui.search_panel import install_search_panel
from app.ui.settings_menu import SettingsHooks, install_settings
from app.ui.single_instance import SingleInstance, hand_over
from app.ui.smoke import quit_after_first_paint
from app.ui.start_failure import show_start_failure
from app.ui.viewer_warmup import warm_up_viewer
from app.ui.viewer_window import ViewerWindow

log = logging.getLogger(__name__)


def _application(argv: list[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv)
    app.setApplicationName("Lightbox")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Lightbox")
    return app


def run(config: Config, argv: list[str], smoke_test: bool = False, paths: Sequence[Path] = ()) -> int:
    """Run the workstation until its main window closes; return the exit code.

    Parameters
    ----------
    config
        The loaded configuration; ``config.workstation.server_url`` empty = embedded server.
    argv
        Command-line arguments for Qt (``argv[0]`` is the program name).
    smoke_test
        Quit with 0 once the main window is painted (``lightbox --smoke-test``, app.ui.smoke).
    paths
        DICOM files, folders or DICOMDIRs to open in a viewer once the window is up (``lightbox FILE|DIR``).
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per poll is noise
    app = _application(argv)
    if not smoke_test and hand_over(paths):  # a workstation of this user runs: it opens the paths
        return 0
    instance = SingleInstance()
    if not smoke_test:
        instance.listen()
    splash = QSplashScreen()
    if not config.workstation.server_url:
        splash.showMessage(
            "Lightbox: starting the image server...", Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter
        )
        splash.show()
        app.processEvents()
    try:
        session = Session.open(config)
    except AppError as exc:
        splash.close()
        log.error("cannot start: %s", exc)
        instance.close()
        show_start_failure(config, exc)  # with a button to the settings the message names
        return 1
    splash.close()
    ViewerWindow.configure(config.workstation.viewer)  # corner text, true size, first layout
    window = MainWindow(session.studies, config.workstation.refresh_seconds)
    if session.temporary_store is not None:  # the images of this run's Fetches: a source of the study list
        window.add_study_source(TemporaryStoreSource.of(session.temporary_store))
    panel = install_search_panel(window, config, session)
    media = install_media(window, session.studies)
    printing = install_print(window, config.workstation, session.studies)
    hooks = install_settings(window, config, session, search_panel=panel, print_hooks=printing, media=media)
    try:
        window.show()
        window.start()
        QTimer.singleShot(0, warm_up_viewer)  # the first image's one-time costs, now rather than at a double-click
        if paths:
            hooks.open_paths(paths)
        instance.deliver_to(lambda given: _bring_up(window, hooks, given))
        if smoke_test:
            quit_after_first_paint(window, app)
        return int(app.exec())
    finally:
        instance.close()
        window.shutdown()
        session.close()


def _bring_up(window: MainWindow, hooks: SettingsHooks, paths: Sequence[Path]) -> None:
    """A later ``lightbox`` start: raise the information window, open its paths in a viewer."""
    window.showNormal()
    window.raise_()
    window.activateWindow()
    if paths:
        hooks.open_paths(paths)
