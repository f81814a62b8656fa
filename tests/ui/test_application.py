"""``app.ui.application.run`` connected to a configured server URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.config import Config, QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE, WorkstationConfig
from app.core.errors import ServerUnavailableError
from app.services.studies import StudyService
from app.ui.application import run
from app.ui.main_window import MainWindow


def test_run_connects_and_exits(qtbot: QtBot, sqlite_server) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def close_when_shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(50, close_when_shown)
            return
        seen.append(windows[0].windowTitle())
        windows[0].close()

    QTimer.singleShot(50, close_when_shown)
    config = Config(workstation=WorkstationConfig(server_url=sqlite_server.http_url, refresh_seconds=0.5))
    assert run(config, ["lightbox"]) == 0
    assert seen and "Lightbox" in seen[0]


def test_run_starts_and_stops_the_embedded_server(qtbot: QtBot, tmp_path: Path) -> None:
    urls: list[str] = []

    def close_when_shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows or windows[0].last_changes is None:  # wait for the first status answer
            QTimer.singleShot(50, close_when_shown)
            return
        urls.append(windows[0].studies.url)
        windows[0].close()

    QTimer.singleShot(50, close_when_shown)
    config = Config(
        server=ServerConfig(
            data_dir=tmp_path / "server", storage=(StorageAE(port=0),), qr=QueryRetrieveAE(port=0),
            mwl=WorklistAE(port=0), fsync=False,
        ),
        workstation=WorkstationConfig(server_url="", refresh_seconds=0.2),
    )
    assert run(config, ["lightbox"]) == 0
    assert urls and urls[0].startswith("http://127.0.0.1:")
    assert (tmp_path / "server").is_dir() and any((tmp_path / "server").iterdir())
    with pytest.raises(ServerUnavailableError):  # the child process was stopped on exit
        StudyService.connect(urls[0], timeout=2).status()
