"""Painting the text layer (:class:`app.services.view_text.ViewText`) over a viewport.

Corner lines in the four corners, orientation labels at the middle of each edge, the scale
bar centred above the bottom label; text in a light yellow with a black shadow so it reads
over any grey. Each line is rasterised once (with its shadow) and kept (:data:`CACHED_LINES`):
while scrolling only the lines that change (image number, position) are drawn again.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen

from app.services.view_text import ViewText

TEXT_COLOUR = QColor(255, 220, 80)
LABEL_COLOUR = QColor(120, 230, 255)
SHADOW = QColor(0, 0, 0)
MARGIN = 6
CACHED_LINES = 2048

_lines: OrderedDict[tuple[str, int, str], QImage] = OrderedDict()


def line_image(text: str, font: QFont, colour: QColor, font_key: str = "") -> QImage:
    """``text`` in ``colour`` over a one-pixel black shadow, on a transparent image (cached).

    ``font_key`` is ``font.key()`` when the caller has it (it costs a string build per call).
    """
    key = (text, colour.rgb(), font_key or font.key())
    image = _lines.get(key)
    if image is not None:
        _lines.move_to_end(key)
        return image
    metrics = QFontMetrics(font)
    image = QImage(
        max(metrics.horizontalAdvance(text) + 2, 1), metrics.height() + 1, QImage.Format.Format_ARGB32_Premultiplied
    )
    image.fill(0)
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(SHADOW)
    painter.drawText(QPointF(1, metrics.ascent() + 1), text)
    painter.setPen(colour)
    painter.drawText(QPointF(0, metrics.ascent()), text)
    painter.end()
    _lines[key] = image
    if len(_lines) > CACHED_LINES:
        _lines.popitem(last=False)
    return image


def _draw(painter: QPainter, image: QImage, x: float, y: float) -> None:
    painter.drawImage(QPointF(round(x), round(y)), image)


def _block(
    painter: QPainter, area: QRectF, lines: tuple[str, ...], font: tuple[QFont, str, int], top: bool, left: bool
) -> None:
    """Lines stacked from the top (or up from the bottom) of ``area``, left- or right-aligned."""
    qfont, key, step = font
    y = area.top() if top else area.bottom() - step * len(lines)
    for text in lines:
        image = line_image(text, qfont, TEXT_COLOUR, key)
        _draw(painter, image, area.left() if left else area.right() - image.width(), y)
        y += step


def paint_view_text(painter: QPainter, rect: QRect, text: ViewText) -> None:
    """Corner text, edge labels and the scale bar over ``rect``."""
    font = QFont(painter.font())
    font.setPointSizeF(9.0 if rect.height() < 400 else 10.0)
    area = QRectF(rect).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    corners = text.corners
    lines = (font, font.key(), QFontMetrics(font).height())
    _block(painter, area, corners.top_left, lines, top=True, left=True)
    _block(painter, area, corners.top_right, lines, top=True, left=False)
    _block(painter, area, corners.bottom_left, lines, top=False, left=True)
    _block(painter, area, corners.bottom_right, lines, top=False, left=False)
    if text.edges is not None:
        bold = QFont(font)
        bold.setBold(True)
        labels = {
            edge: line_image(getattr(text.edges, edge), bold, LABEL_COLOUR)
            for edge in ("top", "bottom", "left", "right")
        }
        centre_x, centre_y = area.center().x(), area.center().y()
        _draw(painter, labels["top"], centre_x - labels["top"].width() / 2, area.top())
        _draw(
            painter,
            labels["bottom"],
            centre_x - labels["bottom"].width() / 2,
            area.bottom() - labels["bottom"].height(),
        )
        _draw(painter, labels["left"], area.left(), centre_y - labels["left"].height() / 2)
        _draw(painter, labels["right"], area.right() - labels["right"].width(), centre_y - labels["right"].height() / 2)
    bar = text.scale_bar
    if bar is not None and bar.length_px >= 4:
        y = area.bottom() - lines[2] - 6
        x0 = area.center().x() - bar.length_px / 2
        x1 = x0 + bar.length_px
        for colour, width in ((SHADOW, 3), (TEXT_COLOUR, 1)):
            painter.setPen(QPen(colour, width))
            painter.drawLine(QPointF(x0, y), QPointF(x1, y))
            painter.drawLine(QPointF(x0, y - 4), QPointF(x0, y + 4))
            painter.drawLine(QPointF(x1, y - 4), QPointF(x1, y + 4))
        label = line_image(bar.label, font, TEXT_COLOUR, lines[1])
        _draw(painter, label, area.center().x() - label.width() / 2, y - 4 - label.height())


def paint_message(painter: QPainter, rect: QRect, message: str) -> None:
    """A centred message (loading, errors)."""
    painter.setPen(QColor(230, 230, 230))
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), message)
