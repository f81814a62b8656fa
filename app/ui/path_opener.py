"""``lightbox FILE|DIR`` in the workstation: read the paths on a worker, then open one viewer.

The paths are read by :func:`app.services.open_paths.sources_for_all` on a worker (a big folder
never holds up the window; a single file is shown at once, the rest of its series loads after it,
and the other series of its folder join the matrix when :func:`~app.services.open_paths.more_series`
has read them); the series found open in one viewer through the information
window's :class:`~app.ui.viewer_launch.ViewerLauncher` (the annotation toolbar; saving on the
server disabled: these files are not on the server until imported). Paths that cannot be
opened are listed in a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.services.open_paths import more_series, sources_for_all
from app.ui.viewer_launch import ViewerLauncher
from app.ui.viewer_window import ViewerWindow, source_key
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)


class PathOpener(QObject):
    """Opens files, folders and DICOMDIRs in a viewer.

    Signals
    -------
    opened(object)
        The viewer (a :class:`~app.ui.annotated_viewer.AnnotatedViewer`) the series went to.
    more_listed(object)
        The other series of the opened files' folders are in the viewer's matrix now.
    failed(str)
        Some paths could not be opened (the message lists them); also shown in a warning.
    """

    opened = Signal(object)
    more_listed = Signal(object)
    failed = Signal(str)

    def __init__(self, launcher: ViewerLauncher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.launcher = launcher
        self.parent_widget = parent
        self.workers = WorkerPool(self, max_threads=1)
        self.warn = True
        """Show problems in a message box (tests turn it off and read ``failed``)."""

    def open(self, paths: Sequence[Path]) -> None:
        """Read ``paths`` on a worker, then show their series in one viewer."""
        wanted = [Path(p) for p in paths]
        key = "files:" + "|".join(str(p.resolve()) for p in wanted)
        self.workers.submit(
            sources_for_all, wanted, on_done=lambda result: self._found(key, result), on_error=self._error
        )

    def _found(self, key: str, result: object) -> None:
        assert isinstance(result, tuple)
        sources, problems = result
        if problems:
            self._problem("\n\n".join(problems))
        if not sources:
            return
        first = sources[0]
        viewer = self.launcher.open_sources(key, f"{first.title} - files - Lightbox", sources, first)
        self.opened.emit(viewer)
        self.workers.submit(
            more_series, sources, on_done=lambda more: self._more(viewer, more), on_error=self._error
        )  # the other series of a file's folder, for the matrix

    def _more(self, viewer: ViewerWindow, more: object) -> None:
        assert isinstance(more, list)
        for source in more:
            viewer.matrix.add_series(source_key(source), source)
        self.more_listed.emit(viewer)

    def _error(self, exc: Exception) -> None:
        self._problem(f"The files could not be read: {exc}")

    def _problem(self, message: str) -> None:
        log.warning("open: %s", message)
        self.failed.emit(message)
        if self.warn:
            QMessageBox.warning(self.parent_widget, "Lightbox", message)

    def shutdown(self) -> None:
        self.workers.shutdown()
