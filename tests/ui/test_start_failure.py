"""A DICOM port of the bundled server held by another program at start (the real command line and
GUI start): the message names the port and the Settings field, and its button opens the settings
dialog on that field's page, where the port is changed and saved; no server process is left."""

from __future__ import annotations

import socket
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app.core.config import load_config
from app.core.paths import user_config_file
from app.services.first_run import mark_first_run_done
from app.ui.settings_dialog import SettingsDialog
from app.ui.start_failure import SETTINGS_BUTTON
from tests.conftest import write_server_config
from tests.ui.uihelpers import start_workstation


def test_a_taken_port_at_start_leads_to_the_setting_that_moves_it(qtbot: QtBot, tmp_path: Path) -> None:
    mark_first_run_done()
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)
    taken = holder.getsockname()[1]
    config = write_server_config(tmp_path / "server.toml", tmp_path / "data",
                                 storage=f'[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = {taken}\n')
    seen: dict[str, str] = {}

    def answer() -> bool:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, QMessageBox) and "message" not in seen:
            seen["message"] = modal.text()
            [button] = [b for b in modal.buttons() if b.text() == SETTINGS_BUTTON]
            button.click()
        elif isinstance(modal, SettingsDialog):
            seen["enabled"] = str(modal.general.server_port.isEnabled())
            modal.general.server_port.setValue(0)  # any free port (or the one the site chooses)
            modal.save()
            seen["saved"] = modal.message.text()
            modal.reject()
            return True
        return False

    try:
        code = start_workstation(config, answer)
    finally:
        holder.close()
    assert code == 1
    message = seen["message"]
    assert f"DICOM port {taken} (Storage SCP DICOM_STORAGE)" in message
    assert "Settings > Workstation > Bundled server: Storage port" in message
    assert seen["enabled"] == "True" and "server.storage" in seen["saved"]
    saved = load_config(files=[user_config_file()], include_user_file=False)
    assert saved.server.storage[0].port == 0
