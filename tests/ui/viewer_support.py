"""Helpers of the viewer tests: a viewer on in-memory series, pixel grabs, pipeline expectations."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import QPointF, Qt, QThreadPool
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.imaging.pipeline import GreyPipeline
from app.imaging.voi_lut import Window
from app.services.series_source import DatasetSource
from app.ui.image_canvas import qimage_to_array
from app.ui.viewer_window import ViewerWindow
from app.ui.viewport import Viewport


@pytest.fixture(name="viewer")
def viewer_fixture(qtbot: QtBot) -> Iterator[ViewerWindow]:
    """A shown viewer with its own thread pool (import this fixture into the test module)."""
    pool = QThreadPool()
    win = ViewerWindow(pool)
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    pool.waitForDone(5000)


def open_series(qtbot: QtBot, win: ViewerWindow, datasets: list[Dataset], viewport: Viewport | None = None) -> Viewport:
    """Open ``datasets`` and wait until all of them are in the stack."""
    target = viewport or win.active_viewport()
    with qtbot.waitSignal(target.loaded, timeout=15000):
        win.open_source(DatasetSource(tuple(datasets), str(datasets[0].SeriesDescription)), target)
    return target


def expected(ds: Dataset, window: Window | None = None) -> np.ndarray:
    """What the pipeline renders for ``ds`` (no overlays, no shutter)."""
    pipe = GreyPipeline.from_dataset(ds)
    index = pipe.index(ds.pixel_array)
    return pipe.render(index, window if window is not None else pipe.default_voi(index))


def grab(widget: QWidget) -> np.ndarray:
    """What is on screen in ``widget`` (RGB)."""
    QApplication.processEvents()
    return qimage_to_array(widget.grab().toImage())


def grey_at(vp: Viewport, column: float, row: float) -> int:
    """The grey on screen at the centre of image pixel (column, row) of viewport ``vp``."""
    shot = grab(vp.canvas)
    point = vp.canvas.image_to_widget(column + 0.5, row + 0.5)
    ratio = shot.shape[1] / vp.canvas.width()  # device pixel ratio of the grab
    r, g, b = shot[int(point.y() * ratio), int(point.x() * ratio)]
    assert r == g == b, "a grey image shows grey"
    return int(r)


def mouse(
    widget: QWidget, kind: QMouseEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton
) -> None:
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, start: QPointF, delta: QPointF, button: Qt.MouseButton) -> None:
    """Press, move by ``delta`` in one step, release."""
    none = Qt.MouseButton.NoButton
    mouse(widget, QMouseEvent.Type.MouseButtonPress, start, button, button)
    mouse(widget, QMouseEvent.Type.MouseMove, start + delta, none, button)
    mouse(widget, QMouseEvent.Type.MouseButtonRelease, start + delta, button, none)
