"""Print hooks of the workstation: a Print menu in each viewer and Study > Print... in the
information window, both opening the :class:`~app.ui.print_preview.PrintPreview`.

The viewer's menu collects, from the active viewport, the current image (as shown, with what was
drawn on it), a range of its stack, the whole series, or the study's key images in that series,
each rendered with the viewport's view state (:mod:`app.services.print_collect`) and, when the
viewport is zoomed in or panned, cut to the part on screen. Study >
Print... retrieves every image of the selected studies from the server on a pool thread first.
``install_print(window, workstation_config, studies)`` wires both (called by
:func:`app.ui.application.run`).
"""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QToolButton, QWidget

from app.core.errors import AppError
from app.core.workstation_config import WorkstationConfig
from app.printing.print_images import PrintImage
from app.services.print_collect import (
    cropped,
    images_from_stack,
    images_of_studies,
    key_positions,
    stack_range,
    visible_box,
)
from app.services.printing import PrintService
from app.services.studies import StudyService
from app.ui.print_preview import PrintPreview
from app.ui.workers import WorkerPool

CURRENT, RANGE, SERIES, KEYS = "current", "range", "series", "keys"
_MENU = ((CURRENT, "Current image"), (RANGE, "Range of the stack..."), (SERIES, "Whole series"),
         (KEYS, "Key images"))


def viewer_images(viewer: Any, which: str, text: str = "", bits: int = 8) -> list[PrintImage]:
    """The images to print from ``viewer``'s active viewport: ``which`` is CURRENT, RANGE (``text``
    like ``"3-12"``, 1-based), SERIES or KEYS; rendered for films of ``bits`` bits."""
    viewport = viewer.active_viewport()
    stack, renderer = viewport.stack, viewport.renderer
    if stack is None or renderer is None or not len(stack):
        return []
    if which == CURRENT:
        positions: list[int] = [viewport.position]
    elif which == RANGE:
        positions = list(stack_range(text, len(stack)))
    elif which == KEYS:
        annotations = getattr(viewer, "annotations", None)
        is_key = annotations.is_key if annotations is not None else (lambda _uid: False)
        positions = key_positions((stack.dataset(p) for p in range(len(stack))), is_key)
    else:
        positions = list(range(len(stack)))
    shown = viewport.rendered_image()
    current = (viewport.position, shown) if shown is not None else None
    images = images_from_stack(renderer, positions, viewport.state, viewport.presentation_state, current, bits)
    canvas = viewport.canvas
    if shown is None or canvas.placement is None:
        return images
    corners = (canvas.placement.from_widget(0, 0), canvas.placement.from_widget(canvas.width(), canvas.height()))
    return cropped(images, visible_box(shown.shape[:2], corners))  # zoomed in or panned: what is on screen


class PrintHooks(QObject):
    """The print entry points of one information window (see the module docstring)."""

    def __init__(self, window: Any, config: WorkstationConfig, studies: StudyService | None) -> None:
        super().__init__(window)
        self.window, self.studies = window, studies
        self.service = PrintService(config)
        self.workers = WorkerPool(self, max_threads=1)
        self.previews: list[PrintPreview] = []
        window.viewer_opened.connect(self.add_to_viewer)
        window.print_requested.connect(self.print_studies)

    def bits(self) -> int:
        """12 when a configured printer takes 12-bit films (the preview then prints the same images
        to 8-bit printers scaled down), else 8."""
        deepest = 8
        for printer in self.service.printers:
            try:
                deepest = max(deepest, self.service.profile_of(printer).bits)
            except AppError:
                continue  # a broken profile is reported when the preview selects the printer
        return deepest

    def add_to_viewer(self, viewer: Any) -> None:
        if viewer.property("lightbox-print"):
            return
        viewer.setProperty("lightbox-print", True)
        button = QToolButton(viewer.toolbar)
        button.setText("Print")
        button.setToolTip("Print images of the active viewport: opens the print preview")
        menu = QMenu(button)
        for which, label in _MENU:
            menu.addAction(label, functools.partial(self.print_from_viewer, viewer, which))
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        viewer.toolbar.addSeparator()
        viewer.toolbar.addWidget(button)

    def print_from_viewer(self, viewer: Any, which: str) -> PrintPreview | None:
        text = ""
        if which == RANGE:
            stack = viewer.active_viewport().stack
            count = len(stack) if stack is not None else 0
            text, ok = QInputDialog.getText(viewer, "Print range", f"Images to print (1-{count}), e.g. 1-{count}:")
            if not ok:
                return None
        try:
            images = viewer_images(viewer, which, text, self.bits())
        except ValueError as exc:
            QMessageBox.warning(viewer, "Print", str(exc))
            return None
        if not images:
            QMessageBox.information(viewer, "Print", "There is no image to print here (no key image in this series?).")
            return None
        return self.open_preview(images, viewer)

    def open_preview(self, images: list[PrintImage], parent: QWidget | None) -> PrintPreview:
        preview = PrintPreview(images, self.service, parent=parent)
        self.previews.append(preview)
        preview.finished.connect(lambda _r, p=preview: self.previews.remove(p) if p in self.previews else None)
        preview.show()
        return preview

    def print_studies(self, summaries: list[Any]) -> None:
        if self.studies is None or not summaries:
            return
        uids = [s.study_instance_uid for s in summaries]
        self.window.statusBar().showMessage(f"Retrieving {len(uids)} study(ies) to print...")
        self.workers.submit(images_of_studies, self.studies, uids, self.bits(), on_done=self._studies_loaded,
                            on_error=self._studies_failed)

    def _studies_loaded(self, images: list[PrintImage]) -> None:
        self.window.statusBar().clearMessage()
        self.open_preview(images, self.window)

    def _studies_failed(self, exc: Exception) -> None:
        self.window.statusBar().clearMessage()
        QMessageBox.warning(self.window, "Print", f"The studies could not be retrieved for printing: {exc}")


def install_print(window: Any, config: WorkstationConfig, studies: StudyService | None) -> PrintHooks:
    """Wire the print entry points into the information ``window``."""
    return PrintHooks(window, config, studies)
