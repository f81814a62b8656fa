"""The composed film on screen: the film image scaled to the widget, aspect kept (print preview)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy

from app.printing.compose import FilmImage


def to_pixmap(arr: np.ndarray) -> QPixmap:
    """A grey uint8 (rows, columns) array as a QPixmap."""
    arr = np.ascontiguousarray(arr)
    image = QImage(arr.data, arr.shape[1], arr.shape[0], arr.strides[0], QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(image.copy())


class FilmView(QLabel):
    """The composed film, scaled to the widget with its aspect kept."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(240, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #303030;")
        self._pixmap: QPixmap | None = None

    def set_film(self, film: FilmImage | None) -> None:
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
