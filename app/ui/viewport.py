"""One cell of an image window: a series as a stack, its view state, loading, navigation and text.

A viewport opens a :class:`~app.services.series_source.SeriesSource` (loaded on a pool thread,
the first image shown as soon as it arrives), renders the current position with its
:class:`~app.services.view_state.ViewState` through :class:`~app.services.view_render.StackRenderer`
(everything drawn comes from :mod:`app.imaging`) and shows it on its :attr:`Viewport.canvas`.
Gestures and keys (:mod:`app.ui.viewport_keys`) change the position or the view state.

The GUI thread never decodes: one-frame compressed images are decoded by the loader as they
arrive; frames of compressed multi-frame images (and the mask frames a presentation state
subtracts) by a :class:`~app.ui.frame_decoder.FrameDecoder` on the pool, asked by
:class:`~app.ui.viewport_frames.ViewportFrames`. Until the wanted frame is decoded the last
image stays on screen; it shows when ready.

Entry points for other parts of the viewer (annotation, print, export):
``canvas`` (with ``image_to_widget`` / ``widget_to_image``, ``add_layer``, ``tool``),
:meth:`Viewport.current_dataset`, :meth:`Viewport.current_frame`,
:meth:`Viewport.rendered_image`, :meth:`Viewport.set_presentation_state`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from pydicom.dataset import Dataset
from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QProgressBar, QScrollBar, QToolButton, QWidget

from app.imaging.annotations import AnnotationLayer
from app.imaging.burn_in import burn_in
from app.imaging.corner_text import CornerTemplates
from app.imaging.render import RenderedFrame
from app.imaging.stacks import SortKey
from app.imaging.voi_lut import Window
from app.services.image_stack import ImageStack
from app.services.series_source import SeriesSource
from app.services.view_render import StackRenderer
from app.services.view_state import ViewState
from app.services.view_text import CornerTextCache
from app.ui.cine import Cine
from app.ui.image_canvas import CanvasLayer, ImageCanvas
from app.ui.viewport_frames import PREFETCH, ViewportFrames
from app.ui.viewport_keys import handle_key
from app.ui.viewport_loading import ViewportLoading
from app.ui.viewport_placement import dragged_window, place, screen_mm, show_text, zoomed_at

log = logging.getLogger(__name__)

SERIES_MIME = "application/x-lightbox-series"
PAGE_STEP = 10
__all__ = ["PAGE_STEP", "PREFETCH", "SERIES_MIME", "Viewport"]


class Viewport(QFrame):
    """A stack viewer cell. Signals: ``activated(self)``, ``position_changed(int)``,
    ``first_image()``, ``loaded(int)``, ``load_failed(str)``, ``series_dropped(str)``, ``view_changed()``."""

    activated = Signal(object)
    position_changed = Signal(int)
    first_image = Signal()
    loaded = Signal(int)
    load_failed = Signal(str)
    series_dropped = Signal(str)
    view_changed = Signal()

    def __init__(
        self, pool: QThreadPool, templates: CornerTemplates | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.pool = pool
        self.templates = templates
        self.text_cache = CornerTextCache(templates)
        self.source: SeriesSource | None = None
        self.stack: ImageStack | None = None
        self.renderer: StackRenderer | None = None
        self.position = 0
        self.state = ViewState()
        self.presentation_state: Dataset | None = None
        self.presentation_label = ""
        self.annotation_layers: list[AnnotationLayer] = []
        #: Asked before each render for the presentation state (and its label) of the frame shown
        #: (the annotation part's presentation state picker); None keeps :attr:`presentation_state`.
        self.presentation_provider: Callable[[Viewport], tuple[Dataset | None, str]] | None = None
        self.screen_pixel_mm: float | None = None
        self.scale = 1.0
        self._drag_rest = 0.0
        self._last_render: tuple[object, StackRenderer, Dataset | None, RenderedFrame] | None = None
        self.frames = ViewportFrames(self, pool)
        self.decoder = self.frames.decoder
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(2)
        self.canvas = ImageCanvas(self)
        self.cine = Cine(self)
        self.scroll_bar = QScrollBar(self)
        self.scroll_bar.setRange(0, 0)
        self.scroll_bar.setPageStep(PAGE_STEP)
        self.progress = QProgressBar(self)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(0)
        grid.addWidget(self.canvas, 0, 0)
        grid.addWidget(self.scroll_bar, 0, 1)
        grid.addWidget(self.progress, 1, 0)
        grid.addWidget(self.cancel_button, 1, 1)
        self.loading_ = ViewportLoading(self)
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.progress.hide()
        self.cancel_button.hide()
        self.set_active(False)
        self.canvas.pressed.connect(lambda: self.activated.emit(self))
        self.canvas.wheel_steps.connect(self.step)
        self.canvas.window_dragged.connect(self.drag_window)
        self.canvas.stack_dragged.connect(self._stack_drag)
        self.canvas.panned.connect(self.pan_by)
        self.canvas.zoom_steps.connect(self.zoom_at)
        # a new size changes the scale: the text layer's zoom and scale bar follow, not only the placement
        self.canvas.resized.connect(self.show_current)
        self.scroll_bar.valueChanged.connect(self.go_to)

    # -- loading ----------------------------------------------------------------------------
    def open_source(self, source: SeriesSource) -> None:
        """Load ``source`` on a pool thread; the first image shows as soon as it arrives."""
        self.loading_.cancel()
        self.frames.cancel()
        self.cine.stop()
        self.source, self.stack, self.renderer = source, ImageStack(decode_inline=False), None
        self.position, self.state = 0, ViewState()
        self.presentation_state, self.presentation_label = None, ""
        self.canvas.set_frame(None, None, None)
        self.canvas.set_view_text(None)
        self.canvas.set_message(f"Loading {source.title}...")
        self.text_cache = CornerTextCache(self.templates)
        self.loading_.start(source)

    def cancel_loading(self) -> None:
        """Stop loading (what arrived stays shown)."""
        self.loading_.cancel()

    @property
    def loading(self) -> bool:
        return self.loading_.active

    def resort(self, key: SortKey | None = None, descending: bool | None = None) -> None:
        """Put the frames in order (by ``key``, default the current one), keeping the frame shown."""
        if self.stack is None or not len(self.stack):
            return
        shown = self.stack.frames[self.position]
        self.stack.resort(key, descending)
        self.position = self.stack.position_of(shown) or 0
        self.update_scroll_range()
        self.show_current()

    def set_sort(self, key: SortKey, descending: bool = False) -> None:
        """Order the stack by ``key`` (one of :mod:`app.imaging.stacks`' keys); the frame shown stays."""
        self.resort(key, descending)

    def update_scroll_range(self) -> None:
        if self.stack is None:
            return
        self.scroll_bar.blockSignals(True)
        self.scroll_bar.setRange(0, max(len(self.stack) - 1, 0))
        self.scroll_bar.setValue(self.position)
        self.scroll_bar.blockSignals(False)

    # -- state ------------------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """Highlight the active viewport's frame."""
        self.setStyleSheet("Viewport { border: 2px solid %s; }" % ("#e0a000" if active else "#303030"))

    def current_dataset(self) -> Dataset | None:
        """The data set of the image shown, or None."""
        return self.stack.dataset(self.position) if self.stack is not None and len(self.stack) else None

    def current_frame(self) -> int:
        """The 0-based frame (within its data set) shown."""
        return self.stack.frame(self.position) if self.stack is not None and len(self.stack) else 0

    def set_state(self, state: ViewState) -> None:
        self.state = state
        self.show_current()
        self.view_changed.emit()

    def set_presentation_state(self, state: Dataset | None, label: str = "") -> None:
        """Render under ``state`` (a GSPS, or None) and show ``label`` in the text layer."""
        self.presentation_state = state
        self.presentation_label = label
        self.show_current()

    def add_layer(self, layer: CanvasLayer) -> None:
        """Draw ``layer`` over the image (see :class:`~app.ui.image_canvas.CanvasLayer`)."""
        self.canvas.add_layer(layer)

    # -- rendering --------------------------------------------------------------------------
    def render_frame(self) -> RenderedFrame | None:
        """The current frame as the pipeline renders it with the view state (layers apart); None while
        there is none or it is still being decoded."""
        if self.renderer is None or self.stack is None or not len(self.stack):
            return None
        self._ask_presentation_state()
        if not self.frames.ready(self.position):
            return None
        key = (self.stack.frames[self.position], self.state)
        last = self._last_render
        if last is not None and last[0] == key and last[1] is self.renderer and last[2] is self.presentation_state:
            return last[3]  # the same frame, state and presentation state: rendered already
        frame = self.renderer.render(self.position, self.state, self.presentation_state)
        self._last_render = (key, self.renderer, self.presentation_state, frame)
        return frame

    def _ask_presentation_state(self) -> None:
        if self.presentation_provider is not None and self.stack is not None and len(self.stack):
            self.presentation_state, self.presentation_label = self.presentation_provider(self)

    def rendered_image(self, annotations: bool = True) -> np.ndarray | None:
        """The current frame as displayed, at image resolution (uint8 grey or RGB): shutter, overlays,
        rotation/flip, and with ``annotations`` the presentation state's graphics and
        :attr:`annotation_layers` burnt in (:func:`app.imaging.burn_in.burn_in`)."""
        frame = self.render_frame()
        if frame is None:
            return None
        out = frame.composite(annotations=annotations)
        if annotations and self.annotation_layers:
            if out.ndim == 2 and any(layer.rgb is not None for layer in self.annotation_layers):
                out = np.repeat(out[:, :, None], 3, axis=2)
            burn_in(out, self.annotation_layers, frame.geometry)
        return out

    def show_current(self) -> None:
        """Render the current position and update the text layer.

        A frame still to be decoded is asked of the decoder; the image shown stays until it is ready.
        """
        self._ask_presentation_state()
        if self.stack is not None and len(self.stack) and not self.frames.ready(self.position):
            self.frames.request()
            if self.canvas.displayed_array() is None:
                self.canvas.set_message(f"Decoding image {self.position + 1}...")
            return
        frame = None
        try:
            frame = self.render_frame()
            displayed = frame.composite() if frame is not None else None
        except Exception as exc:  # a broken image must not take the viewer down
            log.warning("cannot render image %d: %s", self.position + 1, exc)
            self.canvas.set_frame(None, None, None)
            self.canvas.set_message(f"Cannot display image {self.position + 1}: {exc}")
            return
        if frame is None or displayed is None:
            return
        self.canvas.set_frame(displayed, frame.geometry, None)
        if self.canvas.message():
            self.canvas.set_message("")
        place(self)
        self.frames.request()
        show_text(self, frame)

    def screen_mm(self) -> float | None:
        """Size of one screen pixel in mm (set :attr:`screen_pixel_mm`, else the screen's physical DPI)."""
        return screen_mm(self)

    # -- navigation -------------------------------------------------------------------------
    def go_to(self, position: int) -> None:
        """Show stack position ``position`` (0-based), clamped."""
        if self.stack is None or not len(self.stack):
            return
        position = max(0, min(int(position), len(self.stack) - 1))
        if position == self.position and self.canvas.displayed_array() is not None:
            return
        self.frames.moved(self.position, position)
        self.position = position
        if self.scroll_bar.value() != position:
            self.scroll_bar.blockSignals(True)
            self.scroll_bar.setValue(position)
            self.scroll_bar.blockSignals(False)
        self.show_current()
        self.position_changed.emit(position)

    def step(self, steps: int) -> None:
        self.go_to(self.position + steps)

    def _stack_drag(self, dy: float) -> None:
        self._drag_rest += dy
        steps = int(self._drag_rest / 6)
        if steps:
            self._drag_rest -= steps * 6
            self.step(steps)

    # -- manipulation -----------------------------------------------------------------------
    def drag_window(self, dx: float, dy: float) -> None:
        """Right-drag: right widens the window, down raises its centre (PS3.3 C.11.2.1.2)."""
        window = dragged_window(self, dx, dy)
        if window is not None:
            self.set_window(window)

    def set_window(self, window: Window | None) -> None:
        """The user's window for every image of the stack (None: each image's own)."""
        self.set_state(replace(self.state, window=window))

    def pan_by(self, dx: float, dy: float) -> None:
        self.set_state(replace(self.state, pan=(self.state.pan[0] + dx, self.state.pan[1] + dy)))

    def zoom_at(self, steps: int, x: float | None = None, y: float | None = None) -> None:
        """Zoom by 1.25^steps keeping the image point under widget (x, y) (default: the centre) in place."""
        state = zoomed_at(self, steps, x, y)
        if state is not None:
            self.set_state(state)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if handle_key(self, event):
            event.accept()
        else:
            super().keyPressEvent(event)

    # -- drag and drop from the matrix ------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(SERIES_MIME):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if data.hasFormat(SERIES_MIME):
            self.series_dropped.emit(bytes(data.data(SERIES_MIME).data()).decode("utf-8"))
            event.acceptProposedAction()
