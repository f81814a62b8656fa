"""The workstation could not start (its bundled server's DICOM port is taken, the server URL does
not answer...): say why, and offer the settings dialog, since the settings are what the message
tells the user to change and the information window never opened to reach them."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from app.core.config import Config
from app.core.errors import AppError
from app.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

SETTINGS_BUTTON = "Open settings..."


def show_start_failure(config: Config, error: AppError, config_file: Path | None = None) -> SettingsDialog | None:
    """The reason in a message box with Close and :data:`SETTINGS_BUTTON`; the settings dialog (modal,
    saved to ``config_file`` or the user's file) when that was chosen, after it closed."""
    box = QMessageBox(QMessageBox.Icon.Critical, "Lightbox",
                      f"Lightbox cannot start.\n\n{error}\n\nAfter changing the settings, start Lightbox again.")
    settings = box.addButton(SETTINGS_BUTTON, QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    if box.clickedButton() is not settings:
        return None
    dialog = SettingsDialog(config, config_file)
    dialog.exec()
    log.info("settings opened after a failed start: %s", dialog.message.text() or "nothing saved")
    return dialog
