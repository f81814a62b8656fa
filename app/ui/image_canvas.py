"""A widget showing one uint8 image rendered by :mod:`app.imaging`, with corner text.

The pipeline does the rendering; this widget only scales the display pixels to the widget
(keeping the pixel aspect ratio) and reports the user's gestures: a left-button drag
(window/level) and wheel steps (scrolling the stack).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def to_qimage(arr: np.ndarray) -> QImage:
    """A QImage copy of a uint8 grey (rows, columns) or RGB (rows, columns, 3) array."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    rows, columns = arr.shape[:2]
    if arr.ndim == 2:
        image = QImage(arr.data, columns, rows, arr.strides[0], QImage.Format.Format_Grayscale8)
    elif arr.ndim == 3 and arr.shape[2] == 3:
        image = QImage(arr.data, columns, rows, arr.strides[0], QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"cannot show an array of shape {arr.shape}")
    return image.copy()


class ImageCanvas(QWidget):
    """Paints the current display image and its corner texts.

    Signals
    -------
    dragged(dx, dy)
        Mouse moved by (dx, dy) device pixels with the left button held.
    drag_finished()
        The left button was released after a drag.
    wheel_steps(steps)
        Wheel turned by ``steps`` notches (positive = towards the user = next image).
    """

    dragged = Signal(float, float)
    drag_finished = Signal()
    wheel_steps = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self._aspect = 1.0
        self._texts: dict[str, str] = dict.fromkeys(CORNERS, "")
        self._message = ""
        self._last: QPointF | None = None
        self._wheel_rest = 0

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    # -- content ----------------------------------------------------------------------------
    def set_image(self, arr: np.ndarray | None, pixel_aspect: float = 1.0) -> None:
        """Show ``arr`` (uint8 display values); ``pixel_aspect`` = pixel height / width."""
        self._array = None if arr is None else np.ascontiguousarray(arr, dtype=np.uint8)
        self._image = None if self._array is None else to_qimage(self._array)
        self._aspect = pixel_aspect if pixel_aspect > 0 else 1.0
        self.update()

    def displayed_array(self) -> np.ndarray | None:
        """The uint8 display values currently shown (for tests and export)."""
        return self._array

    def set_corner_text(self, **texts: str) -> None:
        """Set any of ``top_left``, ``top_right``, ``bottom_left``, ``bottom_right``."""
        for key, value in texts.items():
            if key not in self._texts:
                raise KeyError(key)
            self._texts[key] = value
        self.update()

    def corner_text(self, corner: str) -> str:
        return self._texts[corner]

    def set_message(self, text: str) -> None:
        """A centred message (loading, errors) shown instead of or over the image."""
        self._message = text
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image is drawn: fitted to the widget, centred, with the pixel aspect kept."""
        if self._image is None:
            return QRectF()
        width = float(self._image.width())
        height = float(self._image.height()) * self._aspect
        scale = min(self.width() / width, self.height() / height) if width and height else 1.0
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(self.image_rect(), self._image)
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        painter.setFont(font)
        margin = 6
        area = self.rect().adjusted(margin, margin, -margin, -margin)
        flags = {
            "top_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            "top_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            "bottom_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
            "bottom_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
        }
        for corner, align in flags.items():
            text = self._texts[corner]
            if text:
                painter.setPen(QColor(0, 0, 0))
                painter.drawText(area.translated(1, 1), int(align), text)
                painter.setPen(QColor(255, 220, 80))
                painter.drawText(area, int(align), text)
        if self._message:
            painter.setPen(QColor(230, 230, 230))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._message)
        painter.end()

    # -- gestures ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = event.position()
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is not None and event.buttons() & Qt.MouseButton.LeftButton:
            pos = event.position()
            dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
            self._last = pos
            if dx or dy:
                self.dragged.emit(dx, dy)
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._last is not None:
            self._last = None
            self.drag_finished.emit()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._wheel_rest += event.angleDelta().y()
        steps = int(self._wheel_rest / 120)
        if steps:
            self._wheel_rest -= steps * 120
            self.wheel_steps.emit(-steps)  # wheel towards the user (negative delta) = next image
        event.accept()
