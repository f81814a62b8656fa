"""The image window against a real server: first image, window/level drag, scrolling, reset."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.imaging.pipeline import GreyPipeline
from app.services.studies import StudyService
from app.ui.image_window import ImageWindow
from app.ui.workers import WorkerPool
from tests.ui.uihelpers import ct_series, to_bytes


@pytest.fixture
def viewer(qtbot: QtBot, service: StudyService) -> Iterator[tuple[ImageWindow, list]]:
    images = ct_series(3)
    assert service.store_files([to_bytes(ds) for ds in reversed(images)]).stored == 3
    study = service.list_studies()[0]
    series = service.list_series(study.study_instance_uid)[0]
    pool = WorkerPool()
    win = ImageWindow(service, study, series, pool)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.loaded, timeout=15000):
        win.load()
    yield win, images
    win.close()
    pool.shutdown()


def _expected(ds, window=None) -> np.ndarray:  # type: ignore[no-untyped-def]
    pipe = GreyPipeline.from_dataset(ds)
    return pipe.render_stored(ds.pixel_array, window)


def _mouse(widget, kind, pos: QPointF, button, buttons) -> None:  # type: ignore[no-untyped-def]
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_first_image_is_the_pipelines_output(viewer: tuple[ImageWindow, list]) -> None:
    win, images = viewer
    shown = win.canvas.displayed_array()
    assert shown is not None and shown.dtype == np.uint8
    np.testing.assert_array_equal(shown, _expected(images[0]))  # instance 1, its own window W 400 L 40
    assert win.canvas.corner_text("bottom_right") == "W 400 L 40"
    assert "Image 1 / 3" in win.canvas.corner_text("bottom_left")


def test_window_level_drag_and_reset(qtbot: QtBot, viewer: tuple[ImageWindow, list]) -> None:
    win, images = viewer
    before = win.canvas.displayed_array().copy()
    canvas = win.canvas
    start = QPointF(canvas.width() / 2, canvas.height() / 2)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _mouse(canvas, QMouseEvent.Type.MouseButtonPress, start, left, left)
    _mouse(canvas, QMouseEvent.Type.MouseMove, start + QPointF(80, 30), none, left)
    _mouse(canvas, QMouseEvent.Type.MouseButtonRelease, start + QPointF(80, 30), left, none)
    after = canvas.displayed_array()
    assert win.user_voi is not None
    assert win.user_voi.width > 400 and win.user_voi.center > 40  # right = wider, down = higher center
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, _expected(images[0], win.user_voi))
    assert canvas.corner_text("bottom_right") != "W 400 L 40"

    # the user's window stays when scrolling, R resets it
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1], win.user_voi))
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    assert win.user_voi is None
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1]))
    win.on_drag(-30, 0)
    win.reset_action.trigger()
    assert canvas.corner_text("bottom_right") == "W 400 L 40"


def test_scrolling_wheel_keys_scroll_bar(qtbot: QtBot, viewer: tuple[ImageWindow, list]) -> None:
    win, images = viewer
    canvas = win.canvas
    pos = QPointF(10, 10)
    wheel = QWheelEvent(
        pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, wheel)
    assert win.position == 1 and win.scroll_bar.value() == 1
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1]))
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    assert win.position == 2
    assert "Image 3 / 3" in canvas.corner_text("bottom_left")
    qtbot.keyClick(canvas, Qt.Key.Key_Down)  # clamped at the end
    assert win.position == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Home)
    assert win.position == 0
    qtbot.keyClick(canvas, Qt.Key.Key_End)
    assert win.position == 2
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    assert win.position == 0
    win.scroll_bar.setValue(1)
    assert win.position == 1
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1]))
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert win.position == 0
