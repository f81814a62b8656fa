"""The image window: one series as a stack, scrolled with wheel, keys and a scroll bar,
windowed by a left-button drag (horizontal = width, vertical = center).

Pixels come from :class:`app.services.image_stack.ImageStack` (the display pipeline of
DESIGN.md section 4); the series is fetched by WADO-RS on a worker thread.
"""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QScrollBar, QToolBar, QWidget

from app.imaging.voi_lut import VOI, Window
from app.services.cancel import CancelledError
from app.services.image_stack import ImageStack, describe_voi
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.ui.image_canvas import ImageCanvas
from app.ui.models import format_date, format_name
from app.ui.workers import Worker, WorkerPool

log = logging.getLogger(__name__)

PAGE_STEP = 10
DRAG_SENSITIVITY = 1.0 / 400.0  # fraction of the modality range per device pixel


class ImageWindow(QMainWindow):
    """A top-level viewer of one series.

    Signals
    -------
    loaded()
        The series has arrived and the first image is shown.
    load_failed(str)
        Loading failed; the message is also shown in the window.
    """

    loaded = Signal()
    load_failed = Signal(str)
    image_changed = Signal(int)

    def __init__(
        self,
        studies: StudyService,
        study: StudySummary | None,
        series: SeriesSummary,
        pool: WorkerPool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.studies = studies
        self.study = study
        self.series = series
        self.pool = pool
        self.stack: ImageStack | None = None
        self.position = 0
        self.user_voi: Window | None = None
        self.current_voi: VOI | None = None
        self._worker: Worker | None = None

        name = format_name(study.patient_name) if study else ""
        self.setWindowTitle(
            f"Lightbox - {name} - {series.modality} {series.series_description or series.series_number or ''}".strip()
        )
        self.canvas = ImageCanvas(self)
        self.scroll_bar = QScrollBar(Qt.Orientation.Vertical, self)
        self.scroll_bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.scroll_bar.setRange(0, 0)
        self.scroll_bar.setPageStep(PAGE_STEP)
        central = QWidget(self)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.scroll_bar)
        self.setCentralWidget(central)

        toolbar = QToolBar("Image", self)
        toolbar.setObjectName("image-toolbar")
        self.reset_action = QAction("Reset", self)
        self.reset_action.setToolTip("Reset window/level to the image's own (R)")
        self.reset_action.setShortcut(QKeySequence("R"))
        self.reset_action.triggered.connect(self.reset)
        toolbar.addAction(self.reset_action)
        self.addToolBar(toolbar)
        self.statusBar().showMessage("Loading...")

        self.canvas.dragged.connect(self.on_drag)
        self.canvas.wheel_steps.connect(lambda steps: self.go_to(self.position + steps))
        self.scroll_bar.valueChanged.connect(self.go_to)
        self.resize(760, 760)
        self.canvas.set_message(f"Loading {series.number_of_images or ''} images...")

    # -- loading ----------------------------------------------------------------------------
    def load(self) -> None:
        """Fetch the series on a worker; :attr:`loaded` fires when the first image is shown."""
        self._worker = self.pool.submit(
            self.studies.load_series,
            self.series.study_instance_uid,
            self.series.series_instance_uid,
            expected=self.series.number_of_images,
            on_done=self._on_loaded,
            on_error=self._on_error,
            on_progress=self._on_progress,
        )

    def _on_progress(self, done: int, total: int) -> None:
        self.canvas.set_message(f"Loading image {done} of {total or '?'}...")

    def _on_loaded(self, datasets: object) -> None:
        self._worker = None
        assert isinstance(datasets, list)
        self.set_datasets(datasets)

    def _on_error(self, exc: Exception) -> None:
        self._worker = None
        if isinstance(exc, CancelledError):
            return
        message = f"Cannot open the series: {exc}"
        log.warning("%s", message)
        self.canvas.set_message(message)
        self.statusBar().showMessage(message)
        self.load_failed.emit(message)

    def set_datasets(self, datasets: list[Dataset]) -> None:
        """Show these data sets (already in display order) as the stack."""
        self.stack = ImageStack(datasets)
        if not len(self.stack):
            self.canvas.set_message("The series has no images.")
            self.load_failed.emit("The series has no images.")
            return
        self.canvas.set_message("")
        self.scroll_bar.blockSignals(True)
        self.scroll_bar.setRange(0, len(self.stack) - 1)
        self.scroll_bar.setValue(0)
        self.scroll_bar.blockSignals(False)
        self.position = 0
        self.show_current()
        self.canvas.setFocus()
        self.loaded.emit()

    # -- display ----------------------------------------------------------------------------
    def show_current(self) -> None:
        """Render the current image with the user's window (or the image's own) and update the texts."""
        if self.stack is None or not len(self.stack):
            return
        try:
            voi: VOI | None = self.user_voi if self.stack.is_grey(self.position) else None
            if voi is None:
                voi = self.stack.default_voi(self.position)
            pixels = self.stack.render(self.position, voi)
        except Exception as exc:  # a broken image must not take the viewer down
            log.warning("cannot render image %d: %s", self.position + 1, exc)
            self.canvas.set_image(None)
            self.canvas.set_message(f"Cannot display image {self.position + 1}: {exc}")
            return
        self.current_voi = voi
        self.canvas.set_message("")
        self.canvas.set_image(pixels, self.stack.pixel_aspect(self.position))
        self._update_texts()
        self.statusBar().showMessage(f"Image {self.position + 1} / {len(self.stack)}   {describe_voi(voi)}")

    def _update_texts(self) -> None:
        assert self.stack is not None
        ds = self.stack.dataset(self.position)
        frame = self.stack.frames[self.position]
        image_text = f"Image {self.position + 1} / {len(self.stack)}"
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            image_text += f"  (frame {frame.frame + 1})"
        series_text = f"Se {self.series.series_number if self.series.series_number is not None else ''}"
        self.canvas.set_corner_text(
            top_left="\n".join(
                t for t in (format_name(str(ds.get("PatientName", ""))), str(ds.get("PatientID", ""))) if t
            ),
            top_right="\n".join(
                t
                for t in (
                    str(ds.get("StudyDescription", "")),
                    format_date(str(ds.get("StudyDate", ""))),
                    f"{ds.get('Modality', '')} {self.series.series_description}".strip(),
                )
                if t
            ),
            bottom_left=f"{series_text}\n{image_text}",
            bottom_right=describe_voi(self.current_voi),
        )

    # -- navigation -------------------------------------------------------------------------
    def go_to(self, position: int) -> None:
        """Show image ``position`` (0-based), clamped to the stack."""
        if self.stack is None or not len(self.stack):
            return
        position = max(0, min(int(position), len(self.stack) - 1))
        if position == self.position and self.canvas.displayed_array() is not None:
            return
        self.position = position
        if self.scroll_bar.value() != position:
            self.scroll_bar.blockSignals(True)
            self.scroll_bar.setValue(position)
            self.scroll_bar.blockSignals(False)
        self.show_current()
        self.image_changed.emit(position)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        moves = {
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_Right: 1,
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_Left: -1,
            Qt.Key.Key_PageDown: PAGE_STEP,
            Qt.Key.Key_PageUp: -PAGE_STEP,
        }
        if key in moves:
            self.go_to(self.position + moves[key])
        elif key == Qt.Key.Key_Home:
            self.go_to(0)
        elif key == Qt.Key.Key_End and self.stack is not None:
            self.go_to(len(self.stack) - 1)
        elif key == Qt.Key.Key_R:
            self.reset()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- window / level ---------------------------------------------------------------------
    def on_drag(self, dx: float, dy: float) -> None:
        """Left-button drag: right widens the window, down raises its center (PS3.3 C.11.2.1.2)."""
        if self.stack is None or not len(self.stack) or not self.stack.is_grey(self.position):
            return
        base = self.user_voi or self.current_voi
        lo, hi = self.stack.modality_range(self.position)
        if not isinstance(base, Window):  # a VOI LUT: start from a window over the whole range
            base = Window((lo + hi) / 2, max(hi - lo, 1.0))
        step = max(hi - lo, 1.0) * DRAG_SENSITIVITY
        width = max(base.width + dx * step, 1.0)
        center = base.center + dy * step
        self.user_voi = Window(center, width, base.function)
        self.show_current()

    def set_window(self, center: float, width: float) -> None:
        """Apply a window to every image of the stack (a preset or a typed value)."""
        self.user_voi = Window(center, max(width, 1.0))
        self.show_current()

    def reset(self) -> None:
        """Back to each image's own VOI (its window, VOI LUT, or the range of its values)."""
        self.user_voi = None
        self.show_current()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._worker is not None:
            self._worker.cancel_token.cancel()
        self.stack = None  # free the images; the window is not reopened
        self.canvas.set_image(None)
        super().closeEvent(event)
