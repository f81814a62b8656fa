"""The matrix: one thumbnail per series of the study, with badges for its PR / KO / SR objects.

Each entry is keyed by a string (the Series Instance UID for server series) and holds the
:class:`~app.services.series_source.SeriesSource` that opens it. Double-click (or Enter)
emits ``open_requested(key)``; dragging an entry onto a viewport drops the key
(MIME type :data:`app.ui.viewport.SERIES_MIME`). Thumbnails are the pipeline's rendering of
one image of the series, scaled down; badges ("PR 2", "KO 1", "SR 1") count the presentation
states, key object selections and reports that reference the series.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from app.services.series_source import SeriesSource
from app.ui.image_canvas import to_qimage
from app.ui.viewport import SERIES_MIME

THUMBNAIL = 96
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def thumbnail_pixmap(arr: np.ndarray | None, badges: dict[str, int]) -> QPixmap:
    """A square thumbnail of ``arr`` (uint8 grey/RGB; None = blank) with its badges drawn top right."""
    pixmap = QPixmap(THUMBNAIL, THUMBNAIL)
    pixmap.fill(QColor(20, 20, 20))
    painter = QPainter(pixmap)
    if arr is not None:
        image = to_qimage(arr).scaled(
            THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        painter.drawImage((THUMBNAIL - image.width()) // 2, (THUMBNAIL - image.height()) // 2, image)
    font = QFont(painter.font())
    font.setPointSizeF(7.0)
    font.setBold(True)
    painter.setFont(font)
    y = 2
    for name, count in sorted(badges.items()):
        if count <= 0:
            continue
        text = f"{name} {count}"
        width = painter.fontMetrics().horizontalAdvance(text) + 6
        height = painter.fontMetrics().height()
        painter.fillRect(THUMBNAIL - width - 2, y, width, height, QColor(200, 120, 0))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(THUMBNAIL - width + 1, y + painter.fontMetrics().ascent(), text)
        y += height + 2
    painter.end()
    return pixmap


class Matrix(QListWidget):
    """Series thumbnails. Signals: ``open_requested(key)``."""

    open_requested = Signal(str)
    series_added = Signal(str)
    objects_added = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.setGridSize(QSize(THUMBNAIL + 24, THUMBNAIL + 40))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sources: dict[str, SeriesSource] = {}
        self.objects: dict[str, SeriesSource] = {}  # PR/KO/SR series: badges, not entries
        self._thumbs: dict[str, np.ndarray | None] = {}
        self._badges: dict[str, dict[str, int]] = {}
        self.itemActivated.connect(self._activated)
        self.itemDoubleClicked.connect(self._activated)

    def add_series(self, key: str, source: SeriesSource, label: str = "") -> None:
        """An entry for ``source`` (kept when ``key`` is there already).

        A source whose ``is_image`` is False (a PR/KO/SR series) is kept in :attr:`objects`
        for the badges instead (signal ``objects_added``).
        """
        if key in self.sources or key in self.objects:
            return
        if getattr(source, "is_image", True) is False:
            self.objects[key] = source
            self.objects_added.emit()
            return
        self.sources[key] = source
        self._thumbs[key] = None
        self._badges[key] = {}
        item = QListWidgetItem(QIcon(thumbnail_pixmap(None, {})), label or source.title)
        item.setData(KEY_ROLE, key)
        item.setToolTip(source.title)
        self.addItem(item)
        self.series_added.emit(key)

    def series_keys(self) -> list[str]:
        return [str(self.item(i).data(KEY_ROLE)) for i in range(self.count())]

    def item_for(self, key: str) -> QListWidgetItem | None:
        for i in range(self.count()):
            if self.item(i).data(KEY_ROLE) == key:
                return self.item(i)
        return None

    def set_thumbnail(self, key: str, arr: np.ndarray | None) -> None:
        if key in self._thumbs:
            self._thumbs[key] = arr
            self._refresh(key)

    def thumbnail(self, key: str) -> np.ndarray | None:
        return self._thumbs.get(key)

    def set_badges(self, key: str, badges: dict[str, int]) -> None:
        if key in self._badges:
            self._badges[key] = dict(badges)
            self._refresh(key)

    def badges(self, key: str) -> dict[str, int]:
        return dict(self._badges.get(key, {}))

    def _refresh(self, key: str) -> None:
        item = self.item_for(key)
        if item is not None:
            item.setIcon(QIcon(thumbnail_pixmap(self._thumbs[key], self._badges[key])))

    def icon_image(self, key: str) -> QImage | None:
        """The thumbnail as drawn (for tests)."""
        item = self.item_for(key)
        return None if item is None else item.icon().pixmap(THUMBNAIL, THUMBNAIL).toImage()

    def _activated(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(str(item.data(KEY_ROLE)))

    def mimeTypes(self) -> list[str]:
        return [SERIES_MIME]

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        data = QMimeData()
        if items:
            data.setData(SERIES_MIME, str(items[0].data(KEY_ROLE)).encode("utf-8"))
        return data
