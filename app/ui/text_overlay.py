"""Painting the text layer (:class:`app.services.view_text.ViewText`) over a viewport.

Corner lines in the four corners, orientation labels at the middle of each edge, the scale
bar centred above the bottom label; text in a light yellow with a black shadow so it reads
over any grey.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from app.services.view_text import ViewText

TEXT_COLOUR = QColor(255, 220, 80)
LABEL_COLOUR = QColor(120, 230, 255)
SHADOW = QColor(0, 0, 0)
MARGIN = 6

_ALIGN = {
    "top_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
    "top_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
    "bottom_left": Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
    "bottom_right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
}


def _text(painter: QPainter, area: QRectF, flags: Qt.AlignmentFlag, text: str, colour: QColor) -> None:
    painter.setPen(SHADOW)
    painter.drawText(area.translated(1, 1), int(flags), text)
    painter.setPen(colour)
    painter.drawText(area, int(flags), text)


def paint_view_text(painter: QPainter, rect: QRect, text: ViewText) -> None:
    """Corner text, edge labels and the scale bar over ``rect``."""
    font = QFont(painter.font())
    font.setPointSizeF(9.0 if rect.height() < 400 else 10.0)
    painter.setFont(font)
    area = QRectF(rect).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    for corner, flags in _ALIGN.items():
        lines = text.corners.corner(corner)
        if lines:
            _text(painter, area, flags, "\n".join(lines), TEXT_COLOUR)
    if text.edges is not None:
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        centre = Qt.AlignmentFlag.AlignHCenter
        middle = Qt.AlignmentFlag.AlignVCenter
        _text(painter, area, centre | Qt.AlignmentFlag.AlignTop, text.edges.top, LABEL_COLOUR)
        _text(painter, area, centre | Qt.AlignmentFlag.AlignBottom, text.edges.bottom, LABEL_COLOUR)
        _text(painter, area, middle | Qt.AlignmentFlag.AlignLeft, text.edges.left, LABEL_COLOUR)
        _text(painter, area, middle | Qt.AlignmentFlag.AlignRight, text.edges.right, LABEL_COLOUR)
        painter.setFont(font)
    bar = text.scale_bar
    if bar is not None and bar.length_px >= 4:
        y = area.bottom() - painter.fontMetrics().height() - 6
        x0 = area.center().x() - bar.length_px / 2
        x1 = x0 + bar.length_px
        for colour, width in ((SHADOW, 3), (TEXT_COLOUR, 1)):
            painter.setPen(QPen(colour, width))
            painter.drawLine(QPointF(x0, y), QPointF(x1, y))
            painter.drawLine(QPointF(x0, y - 4), QPointF(x0, y + 4))
            painter.drawLine(QPointF(x1, y - 4), QPointF(x1, y + 4))
        height = painter.fontMetrics().height()
        label = QRectF(x0 - 40, y - 4 - height, bar.length_px + 80, height)
        _text(painter, label, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, bar.label, TEXT_COLOUR)


def paint_message(painter: QPainter, rect: QRect, message: str) -> None:
    """A centred message (loading, errors)."""
    painter.setPen(QColor(230, 230, 230))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), message)
