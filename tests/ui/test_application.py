"""``app.ui.application.run`` connected to a configured server URL."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.config import Config, WorkstationConfig
from app.ui.application import run
from app.ui.main_window import MainWindow


def test_run_connects_and_exits(qtbot: QtBot, server) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def close_when_shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(50, close_when_shown)
            return
        seen.append(windows[0].windowTitle())
        windows[0].close()

    QTimer.singleShot(50, close_when_shown)
    config = Config(workstation=WorkstationConfig(server_url=server.http_url, refresh_seconds=0.5))
    assert run(config, ["lightbox"]) == 0
    assert seen and "Lightbox" in seen[0]
