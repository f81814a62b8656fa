"""The composed film on screen: the film image scaled to the widget, aspect kept (print preview).

A click on a cell emits ``cell_clicked(index)`` (0-based, row-major, as in the film's layout).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy

from app.printing.compose import FilmImage


def to_pixmap(arr: np.ndarray) -> QPixmap:
    """A grey uint8 (rows, columns) array as a QPixmap."""
    arr = np.ascontiguousarray(arr)
    image = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())


class FilmView(QLabel):
    """The composed film, scaled to the widget with its aspect kept."""

    cell_clicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(240, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #303030;")
        self._pixmap: QPixmap | None = None
        self.film: FilmImage | None = None

    def set_film(self, film: FilmImage | None) -> None:
        self.film = film
        step = max(1, (film.pixels.shape[0] // 1600) if film is not None else 1)  # a screen needs no more
        self._pixmap = to_pixmap(film.as_8bit()[::step, ::step]) if film is not None else None
        self._show()

    def resizeEvent(self, event: object) -> None:
        self._show()

    def _show(self) -> None:
        if self._pixmap is None:
            self.clear()
            return
        self.setPixmap(self._pixmap.scaled(self.size() - QSize(8, 8), Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))

    def film_point(self, x: float, y: float) -> tuple[float, float] | None:
        """Film image (column, row) under widget point (x, y), or None off the film."""
        shown = self.pixmap()
        if self.film is None or shown is None or shown.isNull():
            return None
        left, top = (self.width() - shown.width()) / 2, (self.height() - shown.height()) / 2
        rows, columns = self.film.pixels.shape
        fx, fy = (x - left) * columns / shown.width(), (y - top) * rows / shown.height()
        return (fx, fy) if 0 <= fx < columns and 0 <= fy < rows else None

    def cell_at(self, x: float, y: float) -> int | None:
        point = self.film_point(x, y)
        if point is None or self.film is None:
            return None
        for index, cell in enumerate(self.film.cells):
            if cell.left <= point[0] < cell.right and cell.top <= point[1] < cell.bottom:
                return index
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.cell_at(event.position().x(), event.position().y())
        if index is not None:
            self.cell_clicked.emit(index)
