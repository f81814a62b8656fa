"""Viewer layouts, stacks, cine, sort, synchronised scrolling, the matrix and progressive loading."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.core.errors import ConfigError
from app.core.viewer_config import ViewerConfig
from app.imaging.stacks import SortKey
from app.services.cancel import CancelToken
from app.services.image_stack import ImageStack
from app.services.viewer_settings import apply_viewer_settings
from app.ui.image_canvas import SETTLE_MS
from app.ui.layouts import LAYOUTS, parse_layout
from app.ui.magnifier import FACTOR, SIZE, Magnifier
from app.ui.viewer_window import ViewerWindow
from app.ui.viewport import Viewport
from tests.ui.viewer_data import ct_stack
from tests.ui.viewer_support import drag, expected, grab, mouse, open_series, viewer_fixture  # noqa: F401


def test_layouts_show_several_series_side_by_side(qtbot: QtBot, viewer: ViewerWindow) -> None:
    first = ct_stack(3, 128, overlay=False, start=0.0)
    second = ct_stack(3, 128, overlay=False, start=80.0)  # other slices: other pixels
    open_series(qtbot, viewer, first)
    for rows, columns in LAYOUTS:
        viewer.set_layout(rows, columns)
        assert len(viewer.viewports()) == rows * columns
        assert all(vp.isVisible() for vp in viewer.viewports())
        assert viewer.toolbar.layouts.currentText() == f"{rows}x{columns}"  # type: ignore[attr-defined]
    viewer.set_layout(1, 2)
    left, right = viewer.viewports()
    assert left.stack is not None and len(left.stack) == 3  # kept across layout changes
    open_series(qtbot, viewer, second, right)
    assert viewer.active_viewport() is right
    assert "2px solid #e0a000" in right.styleSheet() and "#e0a000" not in left.styleSheet()
    shot = grab(viewer.grid)
    for vp, images in ((left, first), (right, second)):
        np.testing.assert_array_equal(vp.rendered_image(), expected(images[0]))
        corner = vp.canvas.mapTo(viewer.grid, vp.canvas.image_rect().center().toPoint())
        ratio = shot.shape[1] / viewer.grid.width()
        want = expected(images[0])[64, 64]
        assert abs(int(shot[int(corner.y() * ratio), int(corner.x() * ratio), 0]) - int(want)) <= 1
    assert left.canvas.width() < viewer.grid.width() / 2 + 1
    assert parse_layout("3x4") == (3, 4)
    with pytest.raises(ConfigError):
        parse_layout("0x2")
    viewer.set_layout(*parse_layout("3x4"))
    assert len(viewer.viewports()) == 12


def test_stack_drag_scroll_bar_and_sort_methods(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = ct_stack(6, 64, overlay=False)
    for ds, location in zip(images, [5.0, 3.0, 1.0, 6.0, 4.0, 2.0], strict=True):
        ds.SliceLocation = location
    vp = open_series(qtbot, viewer, images)
    assert [int(vp.stack.dataset(i).InstanceNumber) for i in range(6)] == [1, 2, 3, 4, 5, 6]
    drag(vp.canvas, QPointF(30, 30), QPointF(0, 13), Qt.MouseButton.LeftButton)  # 6 px per image
    assert vp.position == 2
    vp.scroll_bar.setValue(3)
    np.testing.assert_array_equal(vp.rendered_image(), expected(images[3]))
    sort = viewer.toolbar.sort  # type: ignore[attr-defined]
    assert [sort.itemData(i) for i in range(sort.count())] == list(SortKey)
    sort.setCurrentIndex(list(SortKey).index(SortKey.SLICE_LOCATION))
    sort.activated.emit(sort.currentIndex())
    assert [float(vp.stack.dataset(i).SliceLocation) for i in range(6)] == [1, 2, 3, 4, 5, 6]
    assert vp.current_dataset() is images[3]  # the image shown stays, at its new position
    assert vp.position == 5
    vp.go_to(0)
    np.testing.assert_array_equal(vp.rendered_image(), expected(images[2]))  # slice location 1
    vp.set_sort(SortKey.IMAGE_POSITION, descending=True)
    assert vp.current_dataset() is images[2] and vp.position == 3  # z 10, 8, 6, 4 (its), 2, 0


def _slices(vp: Viewport) -> list[float]:
    assert vp.stack is not None
    return [float(vp.stack.dataset(i).SliceLocation) for i in range(len(vp.stack))]


def test_sort_box_follows_the_active_viewport_and_the_configured_default(qtbot: QtBot, viewer: ViewerWindow) -> None:
    sort, descending = viewer.toolbar.sort, viewer.toolbar.descending  # type: ignore[attr-defined]
    assert sort.currentData() is SortKey.INSTANCE_NUMBER and not descending.isChecked()
    first = ct_stack(6, 64, overlay=False)
    for ds, location in zip(first, [5.0, 3.0, 1.0, 6.0, 4.0, 2.0], strict=True):
        ds.SliceLocation = location
    viewer.set_layout(1, 2)
    left, right = viewer.viewports()
    open_series(qtbot, viewer, first, left)
    sort.setCurrentIndex(sort.findData(SortKey.SLICE_LOCATION))
    sort.activated.emit(sort.currentIndex())  # the user picks slice location
    assert _slices(left) == [1, 2, 3, 4, 5, 6]
    descending.trigger()  # then descending
    assert descending.isChecked() and _slices(left) == [6, 5, 4, 3, 2, 1]
    left.go_to(0)
    np.testing.assert_array_equal(left.rendered_image(), expected(first[3]))  # slice location 6 first

    open_series(qtbot, viewer, ct_stack(4, 64, overlay=False), right)  # active: a stack in its own order
    assert viewer.active_viewport() is right
    assert sort.currentData() is SortKey.INSTANCE_NUMBER and not descending.isChecked()
    mouse(left.canvas, QMouseEvent.Type.MouseButtonPress, QPointF(20, 20), Qt.MouseButton.LeftButton,
          Qt.MouseButton.LeftButton)  # fmt: skip
    mouse(left.canvas, QMouseEvent.Type.MouseButtonRelease, QPointF(20, 20), Qt.MouseButton.LeftButton,
          Qt.MouseButton.NoButton)  # fmt: skip
    assert viewer.active_viewport() is left  # a click makes it active: the box shows its order again
    assert sort.currentData() is SortKey.SLICE_LOCATION and descending.isChecked()
    viewer.set_active(right)
    descending.trigger()  # applies to the active viewport only
    assert [int(right.stack.dataset(i).InstanceNumber) for i in range(4)] == [4, 3, 2, 1]  # type: ignore[union-attr]
    assert _slices(left) == [6, 5, 4, 3, 2, 1]

    apply_viewer_settings(ViewerConfig(sort="SLICE_LOCATION"))  # [workstation.viewer] sort
    try:
        other = ViewerWindow(viewer.thread_pool)
        qtbot.addWidget(other)
        assert other.toolbar.sort.currentData() is SortKey.SLICE_LOCATION  # type: ignore[attr-defined]
        other.close()
        shuffled = ct_stack(6, 64, overlay=False)
        for ds, location in zip(shuffled, [2.0, 6.0, 1.0, 5.0, 3.0, 4.0], strict=True):
            ds.SliceLocation = location
        open_series(qtbot, viewer, shuffled, right)  # a series opens in the configured order
        assert _slices(right) == [1, 2, 3, 4, 5, 6]
        assert sort.currentData() is SortKey.SLICE_LOCATION and not descending.isChecked()
    finally:
        apply_viewer_settings(ViewerConfig())
    assert ImageStack.default_key is SortKey.INSTANCE_NUMBER


def test_cine_plays_at_the_objects_rate_and_stops(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = ct_stack(4, 64, overlay=False)
    for ds in images:
        ds.FrameTime = 25.0  # ms: 40 frames per second (PS3.3 C.7.6.5)
    vp = open_series(qtbot, viewer, images)
    assert vp.cine.effective_rate() == 40.0
    seen: set[int] = set()
    vp.position_changed.connect(seen.add)
    qtbot.keyClick(vp.canvas, Qt.Key.Key_Space)
    assert vp.cine.running and vp.cine.timer.interval() == 25
    qtbot.waitUntil(lambda: seen >= {0, 1, 2, 3}, timeout=5000)  # looped past the last image
    viewer.toolbar.fps.setValue(10.0)  # type: ignore[attr-defined]
    assert vp.cine.timer.interval() == 100
    qtbot.keyClick(vp.canvas, Qt.Key.Key_Space)
    assert not vp.cine.running
    np.testing.assert_array_equal(vp.rendered_image(), expected(images[vp.position]))


def test_synchronised_scrolling_by_position_in_the_patient(qtbot: QtBot, viewer: ViewerWindow) -> None:
    reference = "1.2.826.0.1.3680043.8.498.1"
    thin = ct_stack(20, 64, spacing=2.0, frame_of_reference=reference, overlay=False)
    thick = ct_stack(10, 64, spacing=4.0, frame_of_reference=reference, overlay=False)
    other = ct_stack(20, 64, spacing=2.0, overlay=False)  # another frame of reference: never follows
    viewer.set_layout(1, 3)
    a, b, c = viewer.viewports()
    open_series(qtbot, viewer, thin, a)
    open_series(qtbot, viewer, thick, b)
    open_series(qtbot, viewer, other, c)
    viewer.set_active(a)
    a.go_to(10)  # z = 20 mm
    assert b.position == 0  # not synchronised yet
    viewer.toolbar.sync.trigger()  # type: ignore[attr-defined]
    assert viewer.sync_scrolling
    assert b.position == 5 and c.position == 0  # z = 20 mm in the 4 mm series
    np.testing.assert_array_equal(b.rendered_image(), expected(thick[5]))
    a.go_to(15)  # z = 30: the 4 mm series has 28 and 32, 28 comes first
    assert b.position == 7
    b.go_to(9)  # z = 36: the other way round
    assert a.position == 18 and c.position == 0


def test_drag_from_matrix_and_double_click_open(qtbot: QtBot, viewer: ViewerWindow) -> None:
    first = ct_stack(2, 64, overlay=False, description="First")
    second = ct_stack(3, 64, start=60.0, description="Second")
    open_series(qtbot, viewer, first)
    open_series(qtbot, viewer, second)  # replaces it in the active viewport; both are in the matrix
    assert viewer.matrix.count() == 2
    qtbot.waitUntil(lambda: viewer.matrix.thumbnail(viewer.matrix.series_keys()[1]) is not None)
    viewer.set_layout(1, 2)
    target = viewer.viewports()[1]
    key = viewer.matrix.series_keys()[0]
    data = viewer.matrix.mimeData([viewer.matrix.item_for(key)])
    centre = QPointF(target.width() / 2, target.height() / 2)
    copy, left, none = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(centre.toPoint(), copy, data, left, none)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()  # the viewport takes series from the matrix
    with qtbot.waitSignal(target.loaded, timeout=10000):
        QApplication.sendEvent(target, QDropEvent(centre, copy, data, left, none))
    assert viewer.active_viewport() is target
    np.testing.assert_array_equal(target.rendered_image(), expected(first[0]))
    viewer.set_active(viewer.viewports()[0])
    item = viewer.matrix.item_for(key)
    with qtbot.waitSignal(viewer.viewports()[0].loaded, timeout=10000):
        viewer.matrix.itemDoubleClicked.emit(item)
    np.testing.assert_array_equal(viewer.viewports()[0].rendered_image(), expected(first[0]))
    icon = viewer.matrix.icon_image(key)
    assert icon is not None and not icon.isNull()


def test_tool_slot_gets_the_left_button(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp = open_series(qtbot, viewer, ct_stack(4, 64, overlay=False))
    viewer.toolbar.magnify.trigger()  # type: ignore[attr-defined]
    assert isinstance(vp.canvas.tool, Magnifier)
    grab(vp.canvas)  # the layout settles
    qtbot.wait(SETTLE_MS + 50)  # and the frame is drawn interpolated (it stays so: nothing new is shown)
    before = grab(vp.canvas)
    start = QPointF(vp.canvas.width() / 2, vp.canvas.height() / 2)
    left = Qt.MouseButton.LeftButton
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonPress, start, left, left)
    mouse(vp.canvas, QMouseEvent.Type.MouseMove, start + QPointF(0, 20), Qt.MouseButton.NoButton, left)
    during = grab(vp.canvas)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonRelease, start + QPointF(0, 20), left, Qt.MouseButton.NoButton)
    assert vp.position == 0  # the tool had the button: no scrolling
    loupe = (during[..., 0] == 255) & (during[..., 1] == 220) & (during[..., 2] == 80)  # its frame
    assert loupe.sum() > 200 and not np.array_equal(before, during)
    np.testing.assert_array_equal(grab(vp.canvas), before)  # gone on release


def _bilinear(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``image`` sampled at columns ``xs`` x rows ``ys`` (displayed-frame coordinates; pixel centres at
    .5), interpolated linearly between pixel centres like Qt's smooth scaling, edges clamped."""
    fx, fy = np.clip(xs - 0.5, 0, image.shape[1] - 1), np.clip(ys - 0.5, 0, image.shape[0] - 1)
    x0, y0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    x1, y1 = np.minimum(x0 + 1, image.shape[1] - 1), np.minimum(y0 + 1, image.shape[0] - 1)
    wx, wy = (fx - x0)[None, :], (fy - y0)[:, None]
    top = image[np.ix_(y0, x0)] * (1 - wx) + image[np.ix_(y0, x1)] * wx
    bottom = image[np.ix_(y1, x0)] * (1 - wx) + image[np.ix_(y1, x1)] * wx
    return np.rint(top * (1 - wy) + bottom * wy).astype(int)


def test_magnifier_shows_the_image_under_it_enlarged(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp = open_series(qtbot, viewer, ct_stack(3, 128, overlay=False))
    viewer.toolbar.magnify.trigger()  # type: ignore[attr-defined]
    grab(vp.canvas)  # the layout settles
    qtbot.wait(SETTLE_MS + 50)  # and the frame is drawn interpolated, as the user sees it
    before = grab(vp.canvas)[..., 0].astype(int)
    at = vp.canvas.image_to_widget(64.0, 89.5)  # on the spine (bright) with soft tissue around it
    left = Qt.MouseButton.LeftButton
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonPress, at, left, left)
    during = grab(vp.canvas)[..., 0].astype(int)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonRelease, at, left, Qt.MouseButton.NoButton)
    where, shown = vp.canvas.placement, vp.canvas.displayed_array()
    assert where is not None and shown is not None
    x0, y0 = where.from_widget(at.x(), at.y())  # the displayed-frame point under the cursor
    inner = SIZE // 2 - 4  # inside the loupe's frame
    us = np.arange(int(at.x()) - inner, int(at.x()) + inner)
    vs = np.arange(int(at.y()) - inner, int(at.y()) + inner)
    # what the loupe should show: the displayed frame around (x0, y0), FACTOR times the screen scale
    xs = x0 + (us + 0.5 - at.x()) / (FACTOR * where.scale_x)
    ys = y0 + (vs + 0.5 - at.y()) / (FACTOR * where.scale_y)
    want = _bilinear(shown.astype(float), xs, ys)
    got = during[np.ix_(vs, us)]
    assert np.mean(np.abs(got - want) <= 2) > 0.99  # pixel for pixel, interpolated as the canvas draws
    unmagnified = _bilinear(shown.astype(float), x0 + (us + 0.5 - at.x()) / where.scale_x,
                            y0 + (vs + 0.5 - at.y()) / where.scale_y)  # fmt: skip
    assert np.mean(np.abs(got - unmagnified) <= 2) < 0.9  # not the picture at the screen's own scale
    # enlarged: the spine covers FACTOR^2 times the area it covers in the same square without the loupe
    spine_in_loupe = int((got == 255).sum())
    spine_before = int((before[np.ix_(vs, us)] == 255).sum())
    assert spine_before > 500 and abs(spine_in_loupe / spine_before - FACTOR**2) < 0.15 * FACTOR**2
    assert not np.array_equal(got, before[np.ix_(vs, us)])


class _SlowSource:
    """Yields the first data set at once, the rest when released (checks cancel in between)."""

    def __init__(self, datasets: list[Dataset]) -> None:
        self.datasets = datasets
        self.title = "Slow"
        self.release = threading.Event()
        self.cancelled = threading.Event()

    def count_hint(self) -> int:
        return len(self.datasets)

    def load(self, cancel: CancelToken) -> Iterator[Dataset]:
        yield self.datasets[0]
        while not self.release.wait(0.01):
            if cancel.cancelled:
                self.cancelled.set()
                cancel.raise_if_cancelled()
        yield from self.datasets[1:]


def test_first_image_shows_while_the_rest_loads_and_cancel(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = ct_stack(5, 64, overlay=False)
    slow = _SlowSource(images)
    vp = viewer.active_viewport()
    with qtbot.waitSignal(vp.first_image, timeout=5000):
        viewer.open_source(slow)
    assert vp.loading and len(vp.stack) == 1 and vp.progress.isVisible()
    np.testing.assert_array_equal(vp.rendered_image(), expected(images[0]))
    assert "Image 1 / 1" in vp.canvas.corner_text("bottom_left")
    with qtbot.waitSignal(vp.loaded, timeout=5000):
        slow.release.set()
    assert len(vp.stack) == 5 and not vp.progress.isVisible()

    stuck = _SlowSource(ct_stack(5, 64, overlay=False))
    with qtbot.waitSignal(vp.first_image, timeout=5000):
        viewer.open_source(stuck)
    vp.cancel_button.click()
    qtbot.waitUntil(stuck.cancelled.is_set, timeout=5000)
    assert not vp.loading and len(vp.stack) == 1  # what arrived stays shown
