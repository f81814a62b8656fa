"""The image window of a server study: the viewer with the study's series in its matrix.

:class:`ImageWindow` is a viewer on one series of a server study (tests and screenshots build it
directly; the information window opens viewers through :class:`~app.ui.viewer_launch.ViewerLauncher`): an
:class:`~app.ui.annotated_viewer.AnnotatedViewer` (the annotation toolbar, GSPS and key images saved on the
server) whose matrix lists the study's image series
(thumbnails and PR/KO/SR badges fetched on workers by the viewer) and
whose first viewport loads the chosen series by WADO-RS
(:class:`~app.services.series_source.ServerSeriesSource`).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.imaging.corner_text import CornerTemplates
from app.services.image_stack import ImageStack
from app.services.series_source import ServerSeriesSource
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.ui.annotated_viewer import AnnotatedViewer
from app.ui.image_canvas import ImageCanvas
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)


class ImageWindow(AnnotatedViewer):
    """The viewer opened on one series of a server study.

    Signals
    -------
    loaded()
        The first image of the series is shown (the rest may still be loading).
    load_failed(str)
        Loading failed; the message is also shown in the viewport.
    """

    loaded = Signal()
    load_failed = Signal(str)

    def __init__(
        self,
        studies: StudyService,
        study: StudySummary | None,
        series: SeriesSummary,
        pool: WorkerPool,
        parent: QWidget | None = None,
        templates: CornerTemplates | None = None,
    ) -> None:
        super().__init__(pool.pool, studies, on_server=True, workers=pool, templates=templates, parent=parent)
        self.studies = studies
        self.study = study
        self.series = series
        self.workers = pool
        self.source = ServerSeriesSource(studies, series, study)
        self.setWindowTitle(f"Lightbox - {self.source.title}")
        self.first_image.connect(lambda _vp: self.loaded.emit())
        for viewport in self.grid.all:
            viewport.load_failed.connect(self.load_failed.emit)

    @property
    def canvas(self) -> ImageCanvas:
        """The active viewport's canvas."""
        return self.active_viewport().canvas

    @property
    def stack(self) -> ImageStack | None:
        """The active viewport's stack (None before anything arrived)."""
        stack = self.active_viewport().stack
        return stack if stack is not None and len(stack) else None

    def load(self) -> None:
        """Open the series in the first viewport and fill the matrix with the study's series."""
        self.open_source(self.source)
        self.workers.submit(
            self.studies.list_series, self.series.study_instance_uid, on_done=self._series_listed, on_error=self._warn
        )

    def _warn(self, exc: Exception) -> None:
        log.warning("matrix: %s", exc)

    def _series_listed(self, result: object) -> None:
        assert isinstance(result, list)
        for series in result:  # thumbnails and PR/KO/SR badges: the viewer's matrix fetches them
            source = ServerSeriesSource(self.studies, series, self.study)
            self.matrix.add_series(source.key, source)
