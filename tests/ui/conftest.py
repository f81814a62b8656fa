"""Fixtures of the UI tests: a study service on the real server (the ``server`` fixture) and an information
window on it (modules that need other studies or settings define their own ``window``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.services.studies import StudyService
from app.ui.main_window import MainWindow


@pytest.fixture
def service(server) -> Iterator[StudyService]:  # type: ignore[no-untyped-def]
    studies = StudyService.connect(server.http_url, timeout=30)
    yield studies
    studies.close()


@pytest.fixture
def window(qtbot: QtBot, service: StudyService) -> Iterator[MainWindow]:
    """The information window on ``service`` (refreshing every 0.3 s, not started), shut down at the end."""
    win = MainWindow(service, refresh_seconds=0.3)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()
