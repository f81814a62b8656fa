"""Viewer interactions that change the view, checked on the pixels on screen and the rendered image."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.imaging.presets import presets_for
from app.ui.viewer_window import ViewerWindow
from tests.ui.viewer_data import add_overlay, ct_stack
from tests.ui.viewer_support import drag, expected, grab, grey_at, open_series, viewer_fixture  # noqa: F401

SPINE = (64, 89)  # image (column, row) inside the 700 HU spine of a 128 x 128 phantom
BODY = (64, 30)  # 40 HU soft tissue
LUNG = (85, 61)  # -800 HU
OVERLAY = (50, 13)  # on the overlay's rectangle outline


def _wheel(widget, steps: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
        modifiers, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_window_level_right_drag_and_presets_on_number_keys(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = ct_stack(5, 128, overlay=False)
    vp = open_series(qtbot, viewer, images)
    assert grey_at(vp, *BODY) == 128 and grey_at(vp, *SPINE) == 255  # W 400 L 40
    drag(vp.canvas, QPointF(100, 100), QPointF(120, 0), Qt.MouseButton.RightButton)  # wider window
    window = vp.state.window
    assert window is not None and window.width > 400 and window.center == 40
    np.testing.assert_array_equal(vp.canvas.displayed_array(), expected(images[0], window))
    assert f"W {window.width:.0f} L 40" in vp.canvas.corner_text("bottom_right")

    bone = list(presets_for("CT")).index("bone") + 1
    qtbot.keyClick(vp.canvas, getattr(Qt.Key, f"Key_{bone}"))
    assert vp.state.window == presets_for("CT")["bone"]
    np.testing.assert_array_equal(vp.rendered_image(), expected(images[0], presets_for("CT")["bone"]))
    assert grey_at(vp, *BODY) < 128  # soft tissue darker under the bone window (L 400)
    assert "W 1800 L 400" in vp.canvas.corner_text("bottom_right")
    qtbot.keyClick(vp.canvas, Qt.Key.Key_0)  # back to the image's own window
    assert vp.state.window is None and grey_at(vp, *BODY) == 128


def test_invert_and_reset(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp = open_series(qtbot, viewer, ct_stack(3, 128, overlay=False))
    before = vp.rendered_image()
    assert before is not None
    qtbot.keyClick(vp.canvas, Qt.Key.Key_I)
    np.testing.assert_array_equal(vp.rendered_image(), 255 - before)
    assert grey_at(vp, *SPINE) == 0 and grey_at(vp, *LUNG) == 255
    qtbot.keyClick(vp.canvas, Qt.Key.Key_R)
    np.testing.assert_array_equal(vp.rendered_image(), before)


def test_zoom_fit_true_size_and_pan(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp = open_series(qtbot, viewer, ct_stack(3, 128, overlay=False))
    grab(vp.canvas)  # the layout settles (the progress bar went away)
    fit = vp.scale
    assert abs(fit - min(vp.canvas.width(), vp.canvas.height()) / 128) < 1e-6
    _wheel(vp.canvas, 1, Qt.KeyboardModifier.ControlModifier)  # Ctrl+wheel zooms about the cursor
    assert abs(vp.scale - fit * 1.25) < 1e-6 and vp.position == 0
    centre = vp.canvas.widget_to_image(vp.canvas.width() / 2, vp.canvas.height() / 2)
    assert abs(centre[0] - 64) < 0.5 and abs(centre[1] - 64) < 0.5  # the point under the cursor stayed
    for point in (SPINE, BODY, LUNG):  # what is on screen at each mapped point is that image pixel
        x, y = vp.canvas.widget_to_image(vp.canvas.image_to_widget(*point).x(), vp.canvas.image_to_widget(*point).y())
        assert abs(x - point[0]) < 1e-6 and abs(y - point[1]) < 1e-6
    assert grey_at(vp, *SPINE) == 255 and grey_at(vp, *LUNG) == 0
    rect = vp.canvas.image_rect()
    assert abs(rect.width() - 128 * fit * 1.25) < 1e-3

    vp.screen_pixel_mm = 0.35  # a 72.6 dpi screen: 1:1 shows a 0.7 mm pixel as 2 screen pixels
    qtbot.keyClick(vp.canvas, Qt.Key.Key_T)
    assert vp.scale == 2.0 and abs(vp.canvas.image_rect().width() - 256) < 1e-6
    drag(vp.canvas, QPointF(50, 50), QPointF(30, -20), Qt.MouseButton.MiddleButton)  # pan
    assert vp.state.pan == (30.0, -20.0)
    assert grey_at(vp, *SPINE) == 255
    qtbot.keyClick(vp.canvas, Qt.Key.Key_F)
    assert abs(vp.scale - min(vp.canvas.width(), vp.canvas.height()) / 128) < 1e-6 and vp.state.pan == (0.0, 0.0)


def test_rotate_and_flip(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp = open_series(qtbot, viewer, ct_stack(3, 128, overlay=False))
    before = vp.rendered_image()
    assert before is not None
    assert vp.canvas.view_text is not None and vp.canvas.view_text.edges.top == "A"
    qtbot.keyClick(vp.canvas, Qt.Key.Key_BracketRight)  # 90 degrees clockwise
    np.testing.assert_array_equal(vp.rendered_image(), np.rot90(before, -1))
    shot = grab(vp.canvas)
    middle = shot[shot.shape[0] // 2]
    bright = np.flatnonzero(middle[:, 0] == 255)
    assert bright.size and bright.mean() < shot.shape[1] / 2  # the posterior spine is now on the left
    assert vp.canvas.view_text.edges.top == "R" and vp.canvas.view_text.edges.left == "P"
    assert grey_at(vp, *SPINE) == 255  # mapping follows the rotation
    qtbot.keyClick(vp.canvas, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(vp.canvas, Qt.Key.Key_H)  # flip left-right
    np.testing.assert_array_equal(vp.rendered_image(), before[:, ::-1])
    assert vp.canvas.view_text.edges.left == "L"
    assert grey_at(vp, *LUNG) == 0
    vp.set_state(vp.state.rotated(90))  # a clockwise turn of the mirrored picture
    np.testing.assert_array_equal(vp.rendered_image(), np.rot90(before[:, ::-1], -1))


def test_overlay_and_shutter_toggles(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = ct_stack(3, 128, shutter=True)
    vp = open_series(qtbot, viewer, images)
    plain = expected(images[0])
    shown = vp.rendered_image()
    assert shown is not None
    assert shown[0, 0] == 0 and plain[0, 0] == 0  # air under the shutter
    assert shown[64, 64] == plain[64, 64]  # inside the shutter
    qtbot.keyClick(vp.canvas, Qt.Key.Key_S)  # shutters off: the overlay outline shows
    assert not vp.state.shutters
    assert vp.rendered_image()[OVERLAY[1], OVERLAY[0]] == 255 and grey_at(vp, *OVERLAY) == 255
    qtbot.keyClick(vp.canvas, Qt.Key.Key_O)  # overlays off
    np.testing.assert_array_equal(vp.rendered_image(), plain)
    assert grey_at(vp, *OVERLAY) == plain[OVERLAY[1], OVERLAY[0]]
    vp.set_state(vp.state.with_overlay(0x6000, True, (0x6000,)))  # the one group back on
    assert vp.state.overlays is None and vp.rendered_image()[OVERLAY[1], OVERLAY[0]] == 255
    qtbot.keyClick(vp.canvas, Qt.Key.Key_S)  # shutters on: the outline is outside the shutter
    shuttered = vp.rendered_image()
    assert shuttered[10, 10] == 0 and shuttered[64, 64] == plain[64, 64]
    assert shuttered[OVERLAY[1], OVERLAY[0]] == 255  # overlays are drawn over the shutter (render.py)


CROSS = (64, 64)  # on the second overlay's bar (soft tissue between the lungs)


def _with_second_overlay(images: list[Dataset]) -> list[Dataset]:
    """Add overlay group 6002 (PS3.3 C.9.2): a horizontal bar 3 rows high across the middle."""
    for ds in images:
        size = int(ds.Rows)
        mask = np.zeros((size, size), dtype=bool)
        mask[size // 2 - 1 : size // 2 + 2, size // 4 : size - size // 4] = True
        add_overlay(ds, mask, 0x6002)
    return images


def _choose(qtbot: QtBot, viewer: ViewerWindow, text: str) -> dict[str, bool]:
    """Open the toolbar's Overlays menu, click ``text`` in it; returns the check marks shown before."""
    menu = viewer.toolbar.overlays_menu  # type: ignore[attr-defined]
    menu.popup(viewer.mapToGlobal(QPoint(200, 100)))
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    actions = {a.text(): a for a in menu.actions()}
    checks = {t: a.isChecked() for t, a in actions.items() if a.isCheckable()}
    assert list(actions)[:2] == ["All", "None"]
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(actions[text]).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=5000)
    return checks


def test_overlay_menu_shows_and_hides_each_group(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = _with_second_overlay(ct_stack(3, 128))  # group 6000: a rectangle outline; 6002: a bar
    vp = open_series(qtbot, viewer, images)
    plain = expected(images[0])
    assert plain[OVERLAY[1], OVERLAY[0]] == 0 and plain[CROSS[1], CROSS[0]] == 128  # air, soft tissue
    assert grey_at(vp, *OVERLAY) == 255 and grey_at(vp, *CROSS) == 255  # both drawn at first

    checks = _choose(qtbot, viewer, "Overlay 6000")  # the outline off, the bar stays
    assert checks == {"Overlay 6000": True, "Overlay 6002": True}
    assert grey_at(vp, *OVERLAY) == 0 and grey_at(vp, *CROSS) == 255
    shot = vp.rendered_image()
    assert shot is not None and not (shot[:20] == 255).any()  # no outline row left at the top

    checks = _choose(qtbot, viewer, "Overlay 6002")  # the bar off too: the plain image
    assert checks == {"Overlay 6000": False, "Overlay 6002": True}
    assert grey_at(vp, *OVERLAY) == 0 and grey_at(vp, *CROSS) == 128
    np.testing.assert_array_equal(vp.rendered_image(), plain)

    checks = _choose(qtbot, viewer, "Overlay 6000")  # the outline back alone
    assert checks == {"Overlay 6000": False, "Overlay 6002": False}
    assert grey_at(vp, *OVERLAY) == 255 and grey_at(vp, *CROSS) == 128

    _choose(qtbot, viewer, "All")
    assert grey_at(vp, *OVERLAY) == 255 and grey_at(vp, *CROSS) == 255
    checks = _choose(qtbot, viewer, "None")
    assert checks == {"Overlay 6000": True, "Overlay 6002": True}  # All had turned both on
    assert grey_at(vp, *OVERLAY) == 0 and grey_at(vp, *CROSS) == 128
