"""The one kind of viewer window the workstation opens: a viewer with the annotation toolbar.

:class:`AnnotatedViewer` is a :class:`~app.ui.viewer_window.ViewerWindow` whose
:class:`~app.ui.annotation_controller.AnnotationController` (``annotations``) gives it the
measurement and annotation tools, export (PNG/JPEG), the presentation state picker and, when its
series are on the server, saving a GSPS (PS3.3 A.33.1) and marking key images (a Key Object
Selection, PS3.3 A.35.4), both stored on the server. Series that are not on the server (the
temporary store of a Fetch, media opened without import, files opened from the desktop) keep
every tool but those two, which are disabled with a tooltip that says to import the study first;
their presentation states come from the PR series among the viewer's own sources.

Every place that opens a viewer goes through :class:`~app.ui.viewer_launch.ViewerLauncher`,
which makes these.
"""

from __future__ import annotations

from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget

from app.imaging.corner_text import CornerTemplates
from app.services.studies import StudyService
from app.ui.annotation_controller import AnnotationController
from app.ui.viewer_window import ViewerWindow
from app.ui.workers import WorkerPool


class AnnotatedViewer(ViewerWindow):
    """A viewer with the annotation toolbar (see the module docstring).

    Parameters
    ----------
    pool
        Loads the series (the viewports' thread pool).
    studies
        The server's studies (None: no server at hand).
    on_server
        True when the series shown are on the server (saving a GSPS and key images is allowed).
    workers
        Runs the annotation network work (default: two threads of the window's own).
    """

    def __init__(
        self,
        pool: QThreadPool | None = None,
        studies: StudyService | None = None,
        on_server: bool = False,
        workers: WorkerPool | None = None,
        templates: CornerTemplates | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(pool, templates, parent)
        self._own_workers = WorkerPool(self, max_threads=2) if workers is None else None
        self.annotations = AnnotationController(
            self, studies, workers or self._own_workers, on_server=on_server and studies is not None
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._own_workers is not None:
            self._own_workers.shutdown(0)  # cancel what can be; results of the rest are dropped with the window
        super().closeEvent(event)
