"""The magnifier: a tool showing a magnified square of the displayed image under the cursor.

While the left button is held the loupe (:data:`SIZE` widget pixels, :data:`FACTOR` times the
current scale) follows the mouse; it samples the displayed frame the pipeline rendered (the
same pixels, not a re-rendering).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen

from app.ui.image_canvas import ImageCanvas

SIZE = 160
FACTOR = 2.0


class Magnifier:
    """A :class:`~app.ui.image_canvas.CanvasTool` that is also the layer drawing the loupe."""

    def __init__(self) -> None:
        self.at: QPointF | None = None

    def press(self, canvas: ImageCanvas, event: QMouseEvent) -> None:
        self.at = event.position()
        canvas.add_layer(self)

    def move(self, canvas: ImageCanvas, event: QMouseEvent) -> None:
        self.at = event.position()
        canvas.update()

    def release(self, canvas: ImageCanvas, event: QMouseEvent) -> None:
        self.at = None
        canvas.remove_layer(self)

    def paint(self, painter: QPainter, canvas: ImageCanvas) -> None:
        image, where = canvas.qimage(), canvas.placement
        if self.at is None or image is None or where is None:
            return
        x, y = where.from_widget(self.at.x(), self.at.y())
        half_w = SIZE / (2 * FACTOR * where.scale_x)
        half_h = SIZE / (2 * FACTOR * where.scale_y)
        source = QRectF(x - half_w, y - half_h, 2 * half_w, 2 * half_h)
        target = QRectF(self.at.x() - SIZE / 2, self.at.y() - SIZE / 2, SIZE, SIZE)
        painter.fillRect(target, QColor(0, 0, 0))
        painter.drawImage(target, image, source)
        painter.setPen(QPen(QColor(255, 220, 80), 2))
        painter.drawRect(target)
