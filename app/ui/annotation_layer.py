"""Painting the user's annotations over a viewport (a :class:`~app.ui.image_canvas.CanvasLayer`).

Each annotation of the frame shown (:mod:`app.services.annotations_model`) is drawn in widget
coordinates through the canvas' image->widget mapping (so it follows zoom, pan, rotation and
flip), in amber (the colour the export burns in, :data:`app.services.image_export.ANNOTATION_RGB`),
with its label (the measured values) beside it; the selected one in light blue with square
handles on its points. When the image is uncalibrated and something is measured on it, a red
banner says the values are in pixels (PS3.3 10.7.1.3: no Pixel Spacing); a key image shows a
"KEY IMAGE" badge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF

from app.services.annotations_model import Kind, UserAnnotation, label_anchor
from app.services.image_export import ANNOTATION_RGB
from app.ui.image_canvas import ImageCanvas

if TYPE_CHECKING:
    from app.ui.annotation_controller import AnnotationController
    from app.ui.viewport import Viewport

COLOUR = QColor(*ANNOTATION_RGB)
SELECTED = QColor(90, 200, 255)
SHADOW = QColor(0, 0, 0)
WARNING_BACKGROUND = QColor(170, 20, 20)
WARNING_TEXT = QColor(255, 255, 255)
KEY_BACKGROUND = QColor(20, 120, 40)
HANDLE = 4.0  # half the side of a handle square, widget pixels
UNCALIBRATED = "Uncalibrated image: measurements in pixels"
KEY_IMAGE = "KEY IMAGE"
BANNER_TOP = 26  # below the top orientation label


def widget_lines(annotation: UserAnnotation, canvas: ImageCanvas) -> list[list[QPointF]]:
    """The annotation's outline as widget polylines."""
    return [[canvas.image_to_widget(x, y) for x, y in line] for line in annotation.outline()]


def widget_points(annotation: UserAnnotation, canvas: ImageCanvas) -> list[QPointF]:
    """Its handles (points) in widget coordinates."""
    return [canvas.image_to_widget(x, y) for x, y in annotation.points]


def _banner(painter: QPainter, canvas: ImageCanvas, top: float, text: str, background: QColor) -> float:
    metrics = painter.fontMetrics()
    width = metrics.horizontalAdvance(text) + 16
    height = metrics.height() + 6
    rect = QRectF((canvas.width() - width) / 2, top, width, height)
    painter.fillRect(rect, background)
    painter.setPen(WARNING_TEXT)
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
    return rect.bottom() + 4


class AnnotationCanvasLayer:
    """Draws the annotations of ``viewport``'s current frame (data from the controller)."""

    def __init__(self, controller: AnnotationController, viewport: Viewport) -> None:
        self.controller = controller
        self.viewport = viewport

    def paint(self, painter: QPainter, canvas: ImageCanvas) -> None:
        shown = self.controller.frame_of(self.viewport)
        if shown is None:
            return
        image, frame = shown
        uid = str(image.SOPInstanceUID)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(painter.font())
        font.setPointSizeF(10.0)
        painter.setFont(font)
        annotations = self.controller.on_frame(uid, frame)
        drawing = self.controller.drawing
        if drawing is not None and drawing.on(uid, frame):
            annotations = [*annotations, drawing]
        for annotation in annotations:
            selected = annotation == self.controller.selected or annotation is drawing
            self._paint_one(painter, canvas, annotation, SELECTED if selected else COLOUR, selected)
        top = float(BANNER_TOP)
        if self.controller.uncalibrated_warning(self.viewport):
            top = _banner(painter, canvas, top, UNCALIBRATED, WARNING_BACKGROUND)
        if self.controller.is_key(uid):
            _banner(painter, canvas, top, KEY_IMAGE, KEY_BACKGROUND)

    def _paint_one(
        self, painter: QPainter, canvas: ImageCanvas, annotation: UserAnnotation, colour: QColor, selected: bool
    ) -> None:
        lines = widget_lines(annotation, canvas)
        for pen in (QPen(SHADOW, 3.0), QPen(colour, 1.5)):
            painter.setPen(pen)
            for line in lines:
                painter.drawPolyline(QPolygonF(line))
        if annotation.kind == Kind.TEXT or selected:
            painter.setPen(QPen(colour, 1.0))
            for point in widget_points(annotation, canvas):
                painter.fillRect(QRectF(point.x() - HANDLE, point.y() - HANDLE, 2 * HANDLE, 2 * HANDLE), colour)
        label = self.controller.measurement(annotation).label if annotation.complete else ""
        if not label:
            return
        anchor = canvas.image_to_widget(*label_anchor(annotation))
        metrics = painter.fontMetrics()
        rows = label.split("\n")
        width = max(metrics.horizontalAdvance(r) for r in rows) + 4
        height = metrics.height() * len(rows)
        x = anchor.x() + 8
        if x + width > canvas.width():
            x = anchor.x() - 8 - width
        rect = QRectF(x, anchor.y() + 4, width, height)
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        painter.setPen(SHADOW)
        painter.drawText(rect.translated(1, 1), flags, label)
        painter.setPen(colour)
        painter.drawText(rect, flags, label)
