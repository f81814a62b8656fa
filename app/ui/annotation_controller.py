"""Annotations, presentation states, key images and export in a viewer window: the glue to the services.

One :class:`AnnotationController` per :class:`~app.ui.viewer_window.ViewerWindow` keeps the
user's annotations (values, :mod:`app.services.annotations_model`; an image's annotations show
in every viewport that shows it), draws them on each viewport (:mod:`app.ui.annotation_layer`),
lets the mouse tool (:mod:`app.ui.annotation_tools`) make and edit them, deletes the selected one
(Delete key, or the context menu of a right click on it), keeps each viewport's
``annotation_layers`` in step (the viewer's ``rendered_image()`` burns them in, for print), and
offers the toolbar actions: save (GSPS on the server), key image (KO on the server), export
(PNG/JPEG), and the presentation state picker (:mod:`app.ui.presentation_picker`). Save and key
image need the series on the server (``on_server``; default: when a study service is given):
for series from media, files or the temporary store they are refused with a message to import
the study first, and the states offered come from the viewer's own PR sources. Network work
runs on the window's workers; its outcome shows in the status bar.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QMenu

from app.client.admin import AdminClient
from app.imaging.calibration import calibration_from
from app.imaging.frames import is_grey
from app.services.annotations_model import Kind, Measurement, UserAnnotation, measure
from app.services.image_export import export_image, user_layers, with_annotations
from app.services.key_images import KeyImages
from app.services.presentation_save import PresentationSaver, SavedState, referenced_images
from app.services.studies import StudyService
from app.ui.annotation_layer import AnnotationCanvasLayer
from app.ui.annotation_pixels import RegionPixels
from app.ui.annotation_toolbar import NOT_ON_SERVER, build_annotation_toolbar
from app.ui.annotation_tools import AnnotationEvents, AnnotationTool
from app.ui.image_canvas import ImageCanvas
from app.ui.presentation_picker import PresentationPicker
from app.ui.viewer_window import ViewerWindow
from app.ui.viewport import Viewport
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)

MEASURING = (Kind.DISTANCE, Kind.ANGLE, Kind.COBB, Kind.RECTANGLE, Kind.ELLIPSE, Kind.POLYLINE)


class AnnotationController(QObject):
    """See the module docstring. Signals: ``changed()`` (annotations), ``saved(object)`` (a SavedState),
    ``key_images_changed()``, ``failed(str)``."""

    changed = Signal()
    saved = Signal(object)
    key_images_changed = Signal()
    failed = Signal(str)

    def __init__(
        self,
        window: ViewerWindow,
        studies: StudyService | None = None,
        workers: WorkerPool | None = None,
        admin: AdminClient | None = None,
        on_server: bool | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.studies = studies
        self.workers = workers
        self.admin = admin
        self.on_server = studies is not None if on_server is None else on_server and studies is not None
        """True when the series shown are on the server: saving a GSPS and key images are allowed."""
        self.annotations: list[UserAnnotation] = []
        self.selected: UserAnnotation | None = None
        self.drawing: UserAnnotation | None = None
        self.kind: Kind | None = None
        self.tool = AnnotationTool(self)
        self.events = AnnotationEvents(self)
        self.key_images: KeyImages | None = None
        self._measured: dict[UserAnnotation, Measurement] = {}
        self.pixels = RegionPixels(lambda: [vp.stack for vp in self._attached if vp.stack is not None], self)
        self.pixels.ready.connect(self._pixels_ready)
        self._savers: dict[tuple[str, ...], PresentationSaver] = {}
        self._attached: dict[Viewport, AnnotationCanvasLayer] = {}
        self.picker = PresentationPicker(self)
        self.toolbar = build_annotation_toolbar(self)
        window.first_image.connect(self._first_image)
        window.active_changed.connect(self.attach)
        for viewport in window.viewports():
            self.attach(viewport)

    # -- viewports --------------------------------------------------------------------------
    def attach(self, viewport: Viewport) -> None:
        """Draw on ``viewport`` and take its keys and right clicks (once)."""
        if viewport in self._attached:
            return
        layer = AnnotationCanvasLayer(self, viewport)
        self._attached[viewport] = layer
        viewport.add_layer(layer)
        viewport.canvas.installEventFilter(self.events)
        viewport.position_changed.connect(lambda _p, vp=viewport: self.sync(vp))
        viewport.position_changed.connect(lambda _p: self.toolbar.update_key_action())
        self.picker.attach(viewport)
        if viewport.current_dataset() is not None:
            viewport.show_current()  # shown before it was attached: again, under its presentation state

    def _first_image(self, viewport: Viewport) -> None:
        self.attach(viewport)
        self.picker.first_image(viewport)
        image = viewport.current_dataset()
        if self.key_images is None and image is not None and self.on_server and self.studies is not None \
                and self.workers is not None:
            keys = KeyImages(self.studies, image, self._admin_client())
            self.key_images = keys
            self.workers.submit(keys.load, on_done=lambda _r: self._keys_loaded(), on_error=self._failed)
        self.sync(viewport)

    def _admin_client(self) -> AdminClient | None:
        """The admin API (to delete our key object documents when the last key image is unmarked)."""
        if self.admin is None and self.studies is not None:
            self.admin = AdminClient(self.studies.url)
            self.window.destroyed.connect(self.admin.close)
        return self.admin

    def _keys_loaded(self) -> None:
        self.key_images_changed.emit()
        self.refresh()

    def viewport_of(self, canvas: ImageCanvas) -> Viewport | None:
        return next((vp for vp in self._attached if vp.canvas is canvas), None)

    @staticmethod
    def frame_of(viewport: Viewport) -> tuple[Dataset, int] | None:
        """The image and 0-based frame ``viewport`` shows."""
        image = viewport.current_dataset()
        return (image, viewport.current_frame()) if image is not None else None

    def image_by_uid(self, uid: str) -> Dataset | None:
        for viewport in self._attached:
            stack = viewport.stack
            if stack is not None:
                for ds in stack.datasets:
                    if str(ds.SOPInstanceUID) == uid:
                        return ds
        return None

    # -- annotations ------------------------------------------------------------------------
    def on_frame(self, uid: str, frame: int) -> list[UserAnnotation]:
        return [a for a in self.annotations if a.on(uid, frame)]

    def _pixels_ready(self, uid: str, frame: int) -> None:
        """A frame's stored values were decoded on a worker: measure its annotations again."""
        self._measured = {a: m for a, m in self._measured.items() if not a.on(uid, frame)}
        self.refresh()

    def measurement(self, annotation: UserAnnotation) -> Measurement:
        """What ``annotation`` measures (cached; mm when the image is calibrated, else pixels)."""
        found = self._measured.get(annotation)
        if found is None:
            image = self.image_by_uid(annotation.sop_instance_uid)
            if image is None:
                return Measurement(())
            regions = annotation.kind in (Kind.RECTANGLE, Kind.ELLIPSE)
            stored = self.pixels.values(image, annotation.frame) if regions else None
            area = self.picker.displayed_area(image, annotation.frame)  # a state's Presentation Pixel Spacing wins
            found = measure(annotation, stored, image, calibration_from(image, annotation.frame, area))
            if not self.pixels.pending(image, annotation.frame):
                self._measured[annotation] = found  # measured again once its pixels are decoded
        return found

    def pairs(self, annotations: list[UserAnnotation] | None = None) -> list[tuple[UserAnnotation, Measurement]]:
        return [(a, self.measurement(a)) for a in (self.annotations if annotations is None else annotations)]

    def add(self, annotation: UserAnnotation) -> None:
        self.drawing = None
        self.annotations.append(annotation)
        self.selected = annotation
        self._changed()

    def replace(self, old: UserAnnotation, new: UserAnnotation) -> None:
        """``old`` edited into ``new`` (same place in the list; selected)."""
        for i, a in enumerate(self.annotations):
            if a is old:
                self.annotations[i] = new
                break
        self.selected = new
        self._changed()

    def delete(self, annotation: UserAnnotation | None = None) -> bool:
        """Delete ``annotation`` (default: the selected one); False when there was none."""
        target = annotation or self.selected
        if target is None or target not in self.annotations:
            return False
        self.annotations.remove(target)
        self.selected = None
        self._changed()
        return True

    def select(self, annotation: UserAnnotation | None) -> None:
        self.selected = annotation
        self.refresh()

    def set_drawing(self, annotation: UserAnnotation | None) -> None:
        self.drawing = annotation
        self.refresh()

    def set_kind(self, kind: Kind | None, edit: bool = True) -> None:
        """Draw ``kind`` (None with ``edit``: select and edit only; neither: the viewer's own left button)."""
        self.tool.finish()
        self.kind = kind
        self.window.set_tool(self.tool if kind is not None or edit else None)
        self.refresh()

    def ask_text(self, current: str) -> str:
        """The note of a text annotation (a dialog; tests replace it)."""
        text, ok = QInputDialog.getText(self.window, "Text annotation", "Note:", text=current)
        return text.strip() if ok else ""

    def uncalibrated_warning(self, viewport: Viewport) -> bool:
        """True when the frame shown has no physical calibration and something is (or will be) measured on it."""
        shown = self.frame_of(viewport)
        if shown is None or calibration_from(*shown).is_calibrated:
            return False
        image, frame = shown
        measured = any(a.kind in MEASURING for a in self.on_frame(str(image.SOPInstanceUID), frame))
        return measured or self.kind in MEASURING

    def _changed(self) -> None:
        live = set(self.annotations)
        self._measured = {a: m for a, m in self._measured.items() if a in live}
        self.refresh()
        self.changed.emit()

    def refresh(self) -> None:
        for viewport in self._attached:
            self.sync(viewport)

    def sync(self, viewport: Viewport) -> None:
        """Keep the viewport's ``annotation_layers`` (burnt into its rendered image) and drawing current."""
        shown = self.frame_of(viewport)
        if shown is not None:
            uid = str(shown[0].SOPInstanceUID)
            viewport.annotation_layers = user_layers(self.pairs(self.on_frame(uid, shown[1])))
        viewport.canvas.update()

    def exec_menu(self, menu: QMenu, at: object) -> object:
        """Show ``menu`` and return the action chosen (tests replace it)."""
        return menu.exec(at)  # type: ignore[call-overload]

    # -- save, key image, export ------------------------------------------------------------
    def save(self) -> None:
        """Save the active viewport's view and the annotations of its images as a new GSPS on the server."""
        viewport = self.window.active_viewport()
        shown = self.frame_of(viewport)
        if not self.on_server or self.studies is None or self.workers is None:
            self._failed(RuntimeError(NOT_ON_SERVER))
            return
        if shown is None or viewport.stack is None:
            self._failed(RuntimeError("There is no image shown to save a presentation state of; wait for it."))
            return
        image = shown[0]
        if not is_grey(image):
            self._failed(RuntimeError("A presentation state is for grey images; this one is colour."))
            return
        images = referenced_images(viewport.stack.datasets, image)
        key = tuple(sorted(str(ds.SOPInstanceUID) for ds in images))
        saver = self._savers.setdefault(key, PresentationSaver(self.studies, images))
        uids = set(key)
        settings = self.picker.view_settings(viewport)
        pairs = self.pairs([a for a in self.annotations if a.sop_instance_uid in uids])
        self.workers.submit(saver.save, settings, pairs, on_done=self._saved, on_error=self._failed)

    def _saved(self, result: object) -> None:
        assert isinstance(result, SavedState)
        self.picker.add_state(result.dataset, self.annotations)
        self.window.statusBar().showMessage(
            "Presentation state saved on the server." if result.stored else "Nothing changed since the last save.", 8000
        )
        self.saved.emit(result)

    def toggle_key_image(self) -> None:
        """Mark the active viewport's image as a key image, or unmark it."""
        shown = self.frame_of(self.window.active_viewport())
        keys = self.key_images
        if not self.on_server or self.workers is None:
            self._failed(RuntimeError(NOT_ON_SERVER))
            return
        if shown is None or keys is None:
            self._failed(RuntimeError("The image and its key images are still loading; try again in a moment."))
            return
        image = shown[0]
        key = not keys.is_key(str(image.SOPInstanceUID))
        self.workers.submit(keys.set_key, image, key, on_done=lambda _r: self._keys_loaded(), on_error=self._failed)

    def is_key(self, uid: str) -> bool:
        return self.key_images is not None and self.key_images.is_key(uid)

    def exported_image(self) -> np.ndarray | None:
        """The active viewport's frame as shown, with the annotations of that frame burnt in."""
        viewport = self.window.active_viewport()
        frame = viewport.render_frame()
        shown = self.frame_of(viewport)
        if frame is None or shown is None:
            return None
        display = frame.composite()
        pairs = self.pairs(self.on_frame(str(shown[0].SOPInstanceUID), shown[1]))
        return with_annotations(display, frame.geometry, pairs)

    def export_to(self, path: Path) -> Path:
        """Write :meth:`exported_image` to ``path`` (.png, .jpg)."""
        display = self.exported_image()
        if display is None:
            raise RuntimeError("There is no image to export.")
        return export_image(display, path)

    def _failed(self, exc: Exception) -> None:
        message = str(exc)
        log.warning("annotations: %s", message)
        self.window.statusBar().showMessage(message, 10000)
        self.failed.emit(message)
