"""A widget painting one displayed frame (uint8, from :mod:`app.imaging`), its text layer and drawn layers.

The pipeline renders; this widget scales the displayed frame into the widget (fit, a zoom or
true size, computed by :mod:`app.services.view_state`; nearest neighbour while frames change
quickly, bilinear once they settle), paints the text layer
(:mod:`app.ui.text_overlay`) and the drawn layers (:class:`CanvasLayer`, e.g. measurements),
and turns mouse gestures into signals. A tool (:class:`CanvasTool`), when set, receives the
left button; otherwise the left button drags through the stack, the right button windows,
the middle button (or Shift + left) pans, the wheel scrolls and Ctrl + wheel zooms.

Coordinates: :meth:`ImageCanvas.image_to_widget` / :meth:`ImageCanvas.widget_to_image` map
image (column, row) points, continuous (PS3.3 C.10.5.1.2 PIXEL units), to widget points and
back, through the rotation/flip and the scale/pan.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.imaging.corner_text import CORNERS
from app.imaging.view_geometry import ViewGeometry
from app.services.view_state import Placement, to_image
from app.services.view_text import ViewText
from app.ui.text_overlay import paint_message, paint_view_text

SETTLE_MS = 120
"""After a new frame, drawn with nearest-neighbour scaling for this long, then interpolated (bilinear)."""


_GREY_TO_RGB32 = (np.uint32(0xFF000000) | np.arange(256, dtype=np.uint32) * np.uint32(0x010101)).astype(np.uint32)


def to_qimage(arr: np.ndarray, for_screen: bool = False) -> QImage:
    """A QImage copy of a uint8 grey (rows, columns) or RGB (rows, columns, 3) array.

    ``for_screen`` gives 32-bit RGB, the format Qt's raster engine scales fastest (a grey
    frame goes through a 256-entry table, one pass).
    """
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    rows, columns = arr.shape[:2]
    if for_screen and arr.ndim == 2:
        rgb32 = np.take(_GREY_TO_RGB32, arr)
        return QImage(rgb32.data, columns, rows, columns * 4, QImage.Format.Format_RGB32).copy()
    if arr.ndim == 2:
        image = QImage(arr.data, columns, rows, arr.strides[0], QImage.Format.Format_Grayscale8)
    elif arr.ndim == 3 and arr.shape[2] == 3:
        image = QImage(arr.data, columns, rows, arr.strides[0], QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"cannot show an array of shape {arr.shape}")
    return image.convertToFormat(QImage.Format.Format_RGB32) if for_screen else image.copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """RGB uint8 (rows, columns, 3) pixels of a QImage (a widget grab, for tests and export)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    rows, columns = rgb.height(), rgb.width()
    data = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=rgb.bytesPerLine() * rows)
    return data.reshape(rows, rgb.bytesPerLine())[:, : columns * 3].reshape(rows, columns, 3).copy()


class CanvasLayer(Protocol):
    """Something drawn over the image (a measurement, a presentation state's graphics)."""

    def paint(self, painter: QPainter, canvas: ImageCanvas) -> None:
        """Draw with ``painter`` in widget coordinates (use ``canvas.image_to_widget``)."""
        ...


class CanvasTool(Protocol):
    """The active mouse tool; it receives the left button (press/move/release) while set."""

    def press(self, canvas: ImageCanvas, event: QMouseEvent) -> None: ...

    def move(self, canvas: ImageCanvas, event: QMouseEvent) -> None: ...

    def release(self, canvas: ImageCanvas, event: QMouseEvent) -> None: ...


class ImageCanvas(QWidget):
    """Paints the displayed frame, the text layer and the drawn layers; reports gestures.

    Signals
    -------
    pressed()
        Any mouse button went down (makes the viewport active).
    window_dragged(dx, dy)
        Right button moved by (dx, dy) widget pixels (window/level).
    stack_dragged(dy)
        Left button (no tool) moved vertically by ``dy`` widget pixels.
    panned(dx, dy)
        Middle button or Shift + left moved.
    wheel_steps(steps)
        Wheel notches, positive towards the user (next image).
    zoom_steps(steps, x, y)
        Ctrl + wheel notches at widget point (x, y), positive = zoom in.
    """

    pressed = Signal()
    window_dragged = Signal(float, float)
    stack_dragged = Signal(float)
    panned = Signal(float, float)
    wheel_steps = Signal(int)
    zoom_steps = Signal(int, float, float)
    drag_finished = Signal()
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None
        self.geometry_: ViewGeometry | None = None
        self.placement: Placement | None = None
        self.view_text: ViewText | None = None
        self.text_visible = True
        self._message = ""
        self._layers: list[CanvasLayer] = []
        self.tool: CanvasTool | None = None
        self._drag: tuple[Qt.MouseButton, QPointF, bool] | None = None  # button, last point, pan
        self._wheel_rest = 0
        self._smooth = True
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._settled)

    def _settled(self) -> None:
        self._smooth = True
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(512, 512)

    # -- content ----------------------------------------------------------------------------
    def set_frame(self, displayed: np.ndarray | None, geometry: ViewGeometry | None, where: Placement | None) -> None:
        """Show ``displayed`` (uint8, already rotated/flipped) placed by ``where``; None clears."""
        self._array = None if displayed is None else np.ascontiguousarray(displayed, dtype=np.uint8)
        self._image = None if self._array is None else to_qimage(self._array, for_screen=True)
        self.geometry_ = geometry
        self.placement = where
        self._smooth = False  # nearest neighbour while the frames change, interpolated once they settle
        self._settle.start()
        self.update()

    def set_placement(self, where: Placement | None) -> None:
        self.placement = where
        self.update()

    def qimage(self) -> QImage | None:
        """The displayed frame as the QImage drawn (for a magnifier)."""
        return self._image

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def displayed_array(self) -> np.ndarray | None:
        """The uint8 displayed frame currently shown (image resolution, rotated/flipped, with overlays)."""
        return self._array

    def set_view_text(self, text: ViewText | None) -> None:
        self.view_text = text
        self.update()

    def corner_text(self, corner: str) -> str:
        """The lines of a corner as shown, joined by newlines."""
        if corner not in CORNERS:
            raise KeyError(corner)
        return "\n".join(self.view_text.corners.corner(corner)) if self.view_text else ""

    def set_message(self, text: str) -> None:
        """A centred message (loading, errors) shown over the image."""
        self._message = text
        self.update()

    def message(self) -> str:
        return self._message

    def add_layer(self, layer: CanvasLayer) -> None:
        self._layers.append(layer)
        self.update()

    def remove_layer(self, layer: CanvasLayer) -> None:
        if layer in self._layers:
            self._layers.remove(layer)
        self.update()

    def layers(self) -> list[CanvasLayer]:
        return list(self._layers)

    def image_rect(self) -> QRectF:
        """Where the displayed frame is drawn, in widget coordinates."""
        if self._array is None or self.placement is None:
            return QRectF()
        rows, columns = self._array.shape[:2]
        p = self.placement
        return QRectF(p.left, p.top, columns * p.scale_x, rows * p.scale_y)

    # -- coordinates ------------------------------------------------------------------------
    def image_to_widget(self, x: float, y: float) -> QPointF:
        """Widget point of image point (column ``x``, row ``y``)."""
        if self.geometry_ is None or self.placement is None:
            return QPointF(x, y)
        return QPointF(*self.placement.to_widget(*self.geometry_.from_pixel(x, y)))

    def widget_to_image(self, x: float, y: float) -> tuple[float, float]:
        """Image (column, row) under widget point (x, y) (may lie outside the image)."""
        if self.geometry_ is None or self.placement is None:
            return x, y
        return to_image(self.geometry_, *self.placement.from_widget(x, y))

    # -- painting ---------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if self._image is not None and self.placement is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
            painter.drawImage(self.image_rect(), self._image)
        for layer in self._layers:
            painter.save()
            layer.paint(painter, self)
            painter.restore()
        if self.view_text is not None and self.text_visible:
            paint_view_text(painter, self.rect(), self.view_text)
        if self._message:
            paint_message(painter, self.rect(), self._message)
        painter.end()

    # -- gestures ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.pressed.emit()
        button = event.button()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if button == Qt.MouseButton.LeftButton and self.tool is not None and not shift:
            self.tool.press(self, event)
            self._drag = (button, event.position(), False)
        elif button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            pan = button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and shift)
            self._drag = (button, event.position(), pan)
        else:
            super().mousePressEvent(event)
            return
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            super().mouseMoveEvent(event)
            return
        button, last, pan = self._drag
        pos = event.position()
        dx, dy = pos.x() - last.x(), pos.y() - last.y()
        self._drag = (button, pos, pan)
        if button == Qt.MouseButton.LeftButton and self.tool is not None and not pan:
            self.tool.move(self, event)
        elif pan:
            self.panned.emit(dx, dy)
        elif button == Qt.MouseButton.RightButton:
            self.window_dragged.emit(dx, dy)
        elif button == Qt.MouseButton.LeftButton:
            self.stack_dragged.emit(dy)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is None or event.button() != self._drag[0]:
            super().mouseReleaseEvent(event)
            return
        button, _, pan = self._drag
        self._drag = None
        if button == Qt.MouseButton.LeftButton and self.tool is not None and not pan:
            self.tool.release(self, event)
        self.drag_finished.emit()
        event.accept()

    def contextMenuEvent(self, event: object) -> None:  # the right button windows; no menu
        return

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._wheel_rest += event.angleDelta().y()
        steps = int(self._wheel_rest / 120)
        if steps:
            self._wheel_rest -= steps * 120
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                pos = event.position()
                self.zoom_steps.emit(steps, pos.x(), pos.y())
            else:
                self.wheel_steps.emit(-steps)  # wheel towards the user (negative delta) = next image
        event.accept()
