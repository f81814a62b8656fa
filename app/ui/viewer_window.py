"""The viewer: a matrix of the study's series beside a grid of viewports (the image windows).

Entry points (other parts of the workstation build on these):

- :meth:`ViewerWindow.open_source` (``source``: any :class:`~app.services.series_source.SeriesSource`;
  ``viewport``: where, default the active one) loads a series progressively and adds it to the matrix.
- :meth:`ViewerWindow.active_viewport` -> :class:`~app.ui.viewport.Viewport`: ``.canvas``
  (:class:`~app.ui.image_canvas.ImageCanvas`: ``image_to_widget(x, y)`` / ``widget_to_image(x, y)``
  between image (column, row) PIXEL coordinates and widget points, ``add_layer(layer)`` for drawn
  layers (:class:`~app.ui.image_canvas.CanvasLayer`: ``paint(painter, canvas)``), ``tool`` (a
  :class:`~app.ui.image_canvas.CanvasTool`; while set it gets the left button)),
  ``current_dataset()``, ``current_frame()`` (0-based frame in that data set), ``position``,
  ``stack``, ``state`` (:class:`~app.services.view_state.ViewState`), ``set_presentation_state(ds, label)``
  (render under a GSPS; the label shows in the text layer), ``annotation_layers`` (pipeline
  :class:`~app.imaging.annotations.AnnotationLayer` burnt into the rendered image),
  ``rendered_image(annotations=True)`` (the current frame as the pipeline renders it with the
  view state: uint8 grey or RGB, image resolution, rotated/flipped, shutter and overlays drawn).
- :meth:`ViewerWindow.set_tool` sets the mouse tool on every viewport; :meth:`ViewerWindow.rendered_image`
  is the active viewport's.
- Signals: ``active_changed(viewport)``, ``first_image(viewport)``, ``series_loaded(viewport)``.
- :meth:`ViewerWindow.configure` (``[workstation.viewer]``: corner text templates, true-size
  screen pixel, first layout) applies to the viewers opened afterwards.

Layouts (:mod:`app.ui.layouts`), synchronised scrolling by position in the patient
(:mod:`app.services.slice_sync`), the toolbar (:mod:`app.ui.viewer_toolbar`) and the matrix
(:mod:`app.ui.matrix`, thumbnails from a source's ``thumbnail()`` and badges from its PR/KO/SR
sources, both on workers) are wired here.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from app.core.viewer_config import ViewerConfig
from app.imaging.corner_text import CornerTemplates
from app.services.series_source import THUMBNAIL, SeriesSource
from app.services.slice_sync import matching_position
from app.services.study_matrix import source_badges
from app.services.viewer_settings import corner_templates
from app.ui.image_canvas import CanvasTool
from app.ui.layouts import ViewportGrid
from app.ui.matrix import Matrix
from app.ui.viewer_toolbar import build_toolbar
from app.ui.viewport import Viewport
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)


def source_key(source: SeriesSource) -> str:
    """The matrix key of a source: its ``key`` attribute (a Series Instance UID), else its title and id."""
    key = getattr(source, "key", None)
    return str(key) if key else f"{source.title}#{id(source)}"


class ViewerWindow(QMainWindow):
    """Matrix + viewports. See the module docstring for the entry points."""

    active_changed = Signal(object)
    first_image = Signal(object)
    series_loaded = Signal(object)

    settings = ViewerConfig()
    """``[workstation.viewer]`` of every viewer opened from now on (:meth:`configure`)."""

    @classmethod
    def configure(cls, settings: ViewerConfig) -> None:
        """Use ``settings`` for the viewers opened from now on (checks its corner text templates)."""
        corner_templates(settings)
        cls.settings = settings

    def __init__(
        self,
        pool: QThreadPool | None = None,
        templates: CornerTemplates | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lightbox viewer")
        self.thread_pool = pool or QThreadPool.globalInstance()
        self.templates = templates or corner_templates(self.settings)
        self.sync_scrolling = False
        self.tool: CanvasTool | None = None
        self._active: Viewport | None = None
        self._syncing = False
        self.workers = WorkerPool(self, max_threads=2)  # thumbnails and badges
        self._badge_timer = QTimer(self)
        self._badge_timer.setSingleShot(True)
        self._badge_timer.timeout.connect(self._fetch_badges)
        self.matrix = Matrix(self)
        self.matrix.open_requested.connect(self.open_key)
        self.matrix.series_added.connect(self._fetch_thumbnail)
        self.matrix.objects_added.connect(lambda: self._badge_timer.start(0))
        dock = QDockWidget("Series", self)
        dock.setObjectName("matrix-dock")
        dock.setWidget(self.matrix)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.grid = ViewportGrid(self._new_viewport, self)
        self.setCentralWidget(self.grid)
        self.toolbar = build_toolbar(self)
        self.set_layout(*self.settings.layout_shape)
        self.resize(1100, 800)

    # -- viewports --------------------------------------------------------------------------
    def _new_viewport(self) -> Viewport:
        viewport = Viewport(self.thread_pool, self.templates, self.grid)
        viewport.screen_pixel_mm = self.settings.screen_pixel_mm or None
        viewport.canvas.tool = self.tool
        viewport.activated.connect(self.set_active)
        viewport.position_changed.connect(lambda _pos, vp=viewport: self._synchronise(vp))
        viewport.first_image.connect(lambda vp=viewport: self._first_image(vp))
        viewport.loaded.connect(lambda _count, vp=viewport: self.series_loaded.emit(vp))
        viewport.load_failed.connect(lambda message: self.statusBar().showMessage(message, 10000))
        viewport.series_dropped.connect(lambda key, vp=viewport: self.open_key(key, vp))
        return viewport

    def viewports(self) -> list[Viewport]:
        """The viewports shown, row by row."""
        return self.grid.shown()

    def set_layout(self, rows: int, columns: int) -> None:
        """Show ``rows`` x ``columns`` viewports (what they showed is kept)."""
        shown = self.grid.set_layout(rows, columns)
        combo = self.toolbar.layouts  # type: ignore[attr-defined]
        index = combo.findText(f"{rows}x{columns}")
        combo.setCurrentIndex(index if index >= 0 else combo.count() - 1)
        if self._active not in shown:
            self.set_active(shown[0])

    def active_viewport(self) -> Viewport:
        """The viewport the user works in (highlighted)."""
        assert self._active is not None
        return self._active

    def set_active(self, viewport: Viewport) -> None:
        if viewport is self._active:
            return
        if self._active is not None:
            self._active.set_active(False)
        self._active = viewport
        viewport.set_active(True)
        self.active_changed.emit(viewport)

    def set_tool(self, tool: CanvasTool | None) -> None:
        """The mouse tool of every viewport (None: the left button scrolls the stack)."""
        self.tool = tool
        for viewport in self.grid.all:
            viewport.canvas.tool = tool

    def rendered_image(self, annotations: bool = True) -> np.ndarray | None:
        """The active viewport's :meth:`~app.ui.viewport.Viewport.rendered_image`."""
        return self.active_viewport().rendered_image(annotations)

    # -- opening ----------------------------------------------------------------------------
    def open_source(self, source: SeriesSource, viewport: Viewport | None = None) -> Viewport:
        """Load ``source`` into ``viewport`` (default: the active one) and list it in the matrix."""
        key = source_key(source)
        target = viewport or self.active_viewport()
        target.setProperty("series_key", key)
        target.open_source(source)  # first: its first image becomes the thumbnail (no fetch beside it)
        self.matrix.add_series(key, source)
        self.set_active(target)
        return target

    def open_key(self, key: str, viewport: Viewport | None = None) -> Viewport | None:
        """Open the matrix entry ``key`` (double-click: the active viewport; a drop: that one)."""
        source = self.matrix.sources.get(key)
        if source is None:
            return None
        return self.open_source(source, viewport)

    def _fetch_thumbnail(self, key: str) -> None:
        if any(vp.loading and vp.property("series_key") == key for vp in self.grid.all):
            return  # being opened: _first_image takes its first image, and the fetch would slow that down
        thumbnail = getattr(self.matrix.sources.get(key), "thumbnail", None)
        if callable(thumbnail):
            self.workers.submit(thumbnail, on_done=functools.partial(self._thumbnail, key), on_error=self._matrix_error)

    def _thumbnail(self, key: str, arr: object) -> None:
        if isinstance(arr, np.ndarray) and self.matrix.thumbnail(key) is None:
            self.matrix.set_thumbnail(key, arr)

    def _fetch_badges(self) -> None:
        objects = list(self.matrix.objects.values())
        self.workers.submit(source_badges, objects, on_done=self._badges, on_error=self._matrix_error)

    def _badges(self, result: object) -> None:
        assert isinstance(result, dict)
        for key, counts in result.items():
            self.matrix.set_badges(key, counts)

    def _matrix_error(self, exc: Exception) -> None:
        log.warning("matrix: %s", exc)

    def _first_image(self, viewport: Viewport) -> None:
        key = viewport.property("series_key")
        shown = viewport.canvas.displayed_array()  # the image just rendered, not rendered again
        if key and self.matrix.thumbnail(str(key)) is None and shown is not None:
            step = max(1, -(-max(shown.shape[:2]) // THUMBNAIL))  # strided down: a cheap smooth scale after
            self.matrix.set_thumbnail(str(key), np.ascontiguousarray(shown[::step, ::step]))
        self.first_image.emit(viewport)

    # -- synchronised scrolling -------------------------------------------------------------
    def set_sync(self, on: bool) -> None:
        """Scroll series of the same frame of reference together, by position in the patient."""
        self.sync_scrolling = on
        if on and self._active is not None:
            self._synchronise(self._active)

    def _synchronise(self, source: Viewport) -> None:
        if not self.sync_scrolling or self._syncing:
            return
        ds = source.current_dataset()
        if ds is None:
            return
        self._syncing = True
        try:
            for viewport in self.viewports():
                if viewport is source or viewport.stack is None:
                    continue
                position = matching_position(viewport.stack, ds, source.current_frame())
                if position is not None:
                    viewport.go_to(position)
        finally:
            self._syncing = False

    def closeEvent(self, event: QCloseEvent) -> None:
        for viewport in self.grid.all:
            viewport.cine.stop()
            viewport.cancel_loading()
        self.workers.shutdown(0)
        super().closeEvent(event)
