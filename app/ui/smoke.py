"""``lightbox --smoke-test``: quit with exit code 0 once the main window has been painted.

The packaging smoke test (tests/packaging/test_frozen_build.py) and the start-up benchmark
(benchmarks/startup.py) start the GUI offscreen with this flag: it proves that Qt, its
platform plugin and the workstation's start-up path work in the built application, and the
``LIGHTBOX-SHOWN`` line on standard output marks the moment the window was first painted.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

SHOWN_PREFIX = "LIGHTBOX-SHOWN"


class _FirstPaint(QObject):
    """Event filter that reports the first paint of ``window`` and quits the application."""

    def __init__(self, window: QWidget, app: QApplication) -> None:
        super().__init__(window)
        self._app = app
        self._done = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self._done and event.type() == QEvent.Type.Paint:
            self._done = True
            print(f"{SHOWN_PREFIX} {time.time():.3f}", flush=True)
            QTimer.singleShot(0, lambda: self._app.exit(0))
        return False


def quit_after_first_paint(window: QWidget, app: QApplication, timeout_ms: int = 60_000) -> None:
    """Exit the event loop with 0 after ``window``'s first paint, or with 1 after ``timeout_ms``."""
    window.installEventFilter(_FirstPaint(window, app))

    def _timed_out() -> None:
        print(f"lightbox --smoke-test: the main window was not painted within {timeout_ms} ms", file=sys.stderr)
        app.exit(1)

    QTimer.singleShot(timeout_ms, _timed_out)
