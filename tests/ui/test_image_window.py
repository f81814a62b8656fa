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
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.ui.uihelpers import ct_series, to_bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One server for the module (per index backend): each test stores a series of its own
    (new series and instance UIDs, CT_small's study) and opens that series."""
    tmp = tmp_path_factory.mktemp("image-window")
    running = start_server(write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url),
                           tmp / "data")
    yield running
    assert stop_server(running) == 0


@pytest.fixture
def viewer(qtbot: QtBot, service: StudyService) -> Iterator[tuple[ImageWindow, list]]:
    images = ct_series(3)
    assert service.store_files([to_bytes(ds) for ds in reversed(images)]).stored == 3
    [study] = [s for s in service.list_studies() if s.study_instance_uid == images[0].StudyInstanceUID]
    [series] = [s for s in service.list_series(study.study_instance_uid)
                if s.series_instance_uid == images[0].SeriesInstanceUID]
    pool = WorkerPool()
    win = ImageWindow(service, study, series, pool)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.series_loaded, timeout=15000):
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


def test_first_image_is_the_pipelines_output(qtbot: QtBot, viewer: tuple[ImageWindow, list]) -> None:
    win, images = viewer
    shown = win.canvas.displayed_array()
    assert shown is not None and shown.dtype == np.uint8
    np.testing.assert_array_equal(shown, _expected(images[0]))  # instance 1, its own window W 400 L 40
    np.testing.assert_array_equal(win.rendered_image(), _expected(images[0]))
    assert "W 400 L 40" in win.canvas.corner_text("bottom_right")
    assert "Image 1 / 3" in win.canvas.corner_text("bottom_left")
    qtbot.waitUntil(lambda: win.matrix.thumbnail(win.series.series_instance_uid) is not None, timeout=10000)
    assert win.matrix.count() == 1


def test_window_level_right_drag_and_reset(qtbot: QtBot, viewer: tuple[ImageWindow, list]) -> None:
    win, images = viewer
    vp = win.active_viewport()
    before = win.canvas.displayed_array().copy()
    canvas = win.canvas
    start = QPointF(canvas.width() / 2, canvas.height() / 2)
    right, none = Qt.MouseButton.RightButton, Qt.MouseButton.NoButton
    _mouse(canvas, QMouseEvent.Type.MouseButtonPress, start, right, right)
    _mouse(canvas, QMouseEvent.Type.MouseMove, start + QPointF(80, 30), none, right)
    _mouse(canvas, QMouseEvent.Type.MouseButtonRelease, start + QPointF(80, 30), right, none)
    after = canvas.displayed_array()
    window = vp.state.window
    assert window is not None
    assert window.width > 400 and window.center > 40  # right = wider, down = higher center
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, _expected(images[0], window))
    assert "W 400 L 40" not in canvas.corner_text("bottom_right")

    # the user's window stays when scrolling, R resets it
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1], window))
    qtbot.keyClick(canvas, Qt.Key.Key_R)
    assert vp.state.window is None
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1]))


def test_scrolling_wheel_keys_scroll_bar(qtbot: QtBot, viewer: tuple[ImageWindow, list]) -> None:
    win, images = viewer
    vp = win.active_viewport()
    canvas = win.canvas
    pos = QPointF(10, 10)
    wheel = QWheelEvent(
        pos, canvas.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, wheel)
    assert vp.position == 1 and vp.scroll_bar.value() == 1
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1]))
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    assert vp.position == 2
    assert "Image 3 / 3" in canvas.corner_text("bottom_left")
    qtbot.keyClick(canvas, Qt.Key.Key_Down)  # clamped at the end
    assert vp.position == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Home)
    assert vp.position == 0
    qtbot.keyClick(canvas, Qt.Key.Key_End)
    assert vp.position == 2
    qtbot.keyClick(canvas, Qt.Key.Key_PageUp)
    assert vp.position == 0
    vp.scroll_bar.setValue(1)
    assert vp.position == 1
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[1]))
    # a left-button drag (no tool) moves through the stack: down = next
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    start = QPointF(50, 50)
    _mouse(canvas, QMouseEvent.Type.MouseButtonPress, start, left, left)
    _mouse(canvas, QMouseEvent.Type.MouseMove, start + QPointF(0, 7), none, left)
    _mouse(canvas, QMouseEvent.Type.MouseButtonRelease, start + QPointF(0, 7), left, none)
    assert vp.position == 2
    np.testing.assert_array_equal(canvas.displayed_array(), _expected(images[2]))
