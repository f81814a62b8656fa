"""Helpers of the annotation UI tests: a viewer with annotations on the calibrated test image."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.annotation_controller import AnnotationController
from app.ui.viewer_window import ViewerWindow
from app.ui.viewport import Viewport
from tests.ui.viewer_support import grab, mouse, open_series
from tests.unit.services.calibrated import calibrated_image

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.MouseButton.NoButton


def phantom_images(count: int = 2, calibrated: bool = True) -> list[Dataset]:
    """``count`` calibrated CT-like images of one series (:mod:`tests.unit.services.calibrated`)."""
    first = calibrated_image(calibrated)
    out = [first] + [
        calibrated_image(calibrated, str(first.StudyInstanceUID), str(first.SeriesInstanceUID), i + 1)
        for i in range(1, count)
    ]
    for ds in out:
        ds.SeriesDescription = "Calibrated phantom"
    return out


def open_annotated(qtbot: QtBot, win: ViewerWindow, images: list[Dataset]) -> tuple[AnnotationController, Viewport]:
    controller = getattr(win, "annotations", None) or AnnotationController(win)
    vp = open_series(qtbot, win, images)
    controller.attach(vp)
    controller.picker.set_states([])
    return controller, vp


def at(vp: Viewport, x: float, y: float) -> QPointF:
    """Widget point of image point (column x, row y)."""
    return vp.canvas.image_to_widget(x, y)


def press_drag(vp: Viewport, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Left press at image point ``start``, move in steps, release at ``end``."""
    a, b = at(vp, *start), at(vp, *end)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonPress, a, LEFT, LEFT)
    for t in (0.3, 0.7, 1.0):
        mouse(vp.canvas, QMouseEvent.Type.MouseMove, a + (b - a) * t, NONE, LEFT)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonRelease, b, LEFT, NONE)


def click(vp: Viewport, point: tuple[float, float]) -> None:
    press_drag(vp, point, point)


def key(vp: Viewport, code: Qt.Key) -> None:
    QApplication.sendEvent(vp.canvas, QKeyEvent(QKeyEvent.Type.KeyPress, code, Qt.KeyboardModifier.NoModifier))


def amber(shot: np.ndarray, point: QPointF, ratio: float) -> bool:
    """True when the screen pixel at widget ``point`` (or a neighbour) is the annotation amber."""
    x, y = int(point.x() * ratio), int(point.y() * ratio)
    patch = shot[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].reshape(-1, 3).astype(int)
    r, g, b = patch[:, 0], patch[:, 1], patch[:, 2]
    return bool(((r > 150) & (g > 110) & (b < 90) & (r > g) & (g > b + 60)).any())  # anti-aliased amber


def screen(vp: Viewport) -> tuple[np.ndarray, float]:
    shot = grab(vp.canvas)
    return shot, shot.shape[1] / vp.canvas.width()
