"""The viewer's text layer checked on screen: corner text, orientation labels and the scale bar.

Each test grabs the canvas (what is painted) and looks for the text layer's colours
(:data:`app.ui.text_overlay.TEXT_COLOUR`, :data:`~app.ui.text_overlay.LABEL_COLOUR`): the phantom
is grey, so a pixel of those colours can only come from the text layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QColor, QFont, QFontMetrics
from pytestqt.qtbot import QtBot

from app.core.viewer_config import ViewerConfig
from app.ui.text_overlay import LABEL_COLOUR, MARGIN, TEXT_COLOUR
from app.ui.viewer_window import ViewerWindow
from app.ui.viewport import Viewport
from tests.ui.viewer_data import ct_stack
from tests.ui.viewer_support import grab, open_series, viewer_fixture  # noqa: F401

PIXEL_MM = 0.7  # the phantom's Pixel Spacing


def _mask(shot: np.ndarray, colour: QColor) -> np.ndarray:
    return (shot[..., 0] == colour.red()) & (shot[..., 1] == colour.green()) & (shot[..., 2] == colour.blue())


def _shown(qtbot: QtBot, viewer: ViewerWindow) -> tuple[Viewport, np.ndarray]:
    vp = open_series(qtbot, viewer, ct_stack(3, 128, overlay=False))
    grab(vp.canvas)  # the layout settles (the progress bar went away: the canvas grew)
    shot = grab(vp.canvas)
    assert shot.shape[1] == vp.canvas.width()  # one grabbed pixel per widget pixel (offscreen)
    return vp, shot


def _corners(mask: np.ndarray) -> dict[str, np.ndarray]:
    """The four corner regions (30% of the width, 35% of the height each)."""
    h, w = mask.shape
    ch, cw = int(h * 0.35), int(w * 0.3)
    return {
        "top_left": mask[:ch, :cw], "top_right": mask[:ch, w - cw:],
        "bottom_left": mask[h - ch:, :cw], "bottom_right": mask[h - ch:, w - cw:],
    }  # fmt: skip


def _line_height(vp: Viewport) -> int:
    font = QFont(vp.canvas.font())
    font.setPointSizeF(9.0 if vp.canvas.height() < 400 else 10.0)
    return QFontMetrics(font).height()


@pytest.fixture
def short_text() -> Iterator[None]:
    """Viewers opened meanwhile use CT corner text of one top-left line and no bottom-left lines (the
    image number stays there)."""
    ViewerWindow.configure(
        ViewerConfig(corner_text={"templates": {"CT": {"top_left": ["ID {PatientID}"], "bottom_left": []}}})
    )
    try:
        yield
    finally:
        ViewerWindow.configure(ViewerConfig())


def test_corner_text_is_painted_in_the_corners_and_follows_the_template(
    qtbot: QtBot, viewer: ViewerWindow, short_text: None
) -> None:
    vp, shot = _shown(qtbot, viewer)
    text = _mask(shot, TEXT_COLOUR)
    h, w = text.shape
    corners = _corners(text)
    for corner, region in corners.items():
        lines = vp.canvas.view_text.corners.corner(corner)  # type: ignore[union-attr]
        assert lines and region.sum() > 5 * len(lines), (corner, int(region.sum()))  # painted in its corner
    for corner in ("top_left", "bottom_left"):  # the default CT template: several lines
        rows = np.flatnonzero(corners[corner].any(axis=1))
        assert rows.max() - rows.min() > 2 * _line_height(vp), corner
    assert np.flatnonzero(corners["top_left"].any(axis=1)).min() >= MARGIN - 1
    # nothing of the text colour between the corners, except the scale bar at the bottom centre
    assert not text[int(h * 0.35): int(h * 0.65), :].any()
    assert not text[: int(h * 0.35), int(w * 0.3): int(w * 0.7)].any()

    # a viewer opened after the templates changed paints other corner text
    pool = QThreadPool()
    other = ViewerWindow(pool)
    qtbot.addWidget(other)
    other.resize(viewer.width(), viewer.height())
    other.show()
    qtbot.waitExposed(other)
    try:
        ovp, oshot = _shown(qtbot, other)
        assert ovp.canvas.size() == vp.canvas.size()
        assert ovp.canvas.view_text.corners.top_left == ("ID VIEW1",)  # type: ignore[union-attr]
        assert ovp.canvas.view_text.corners.bottom_left == ("Image 1 / 3",)  # type: ignore[union-attr]
        ocorners = _corners(_mask(oshot, TEXT_COLOUR))
        for corner in ("top_left", "bottom_left"):  # one line each (bottom left: the image number only)
            rows = np.flatnonzero(ocorners[corner].any(axis=1))
            assert rows.size and rows.max() - rows.min() < _line_height(ovp), corner
        assert ocorners["bottom_left"].sum() < corners["bottom_left"].sum() / 3
        assert not np.array_equal(ocorners["top_left"], corners["top_left"])
        np.testing.assert_array_equal(ocorners["top_right"], corners["top_right"])  # kept (not configured)
    finally:
        other.close()
        pool.waitForDone(5000)


def _label_box(mask: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Centre (x, y) of the label pixels in ``mask`` and their bounding-box crop."""
    ys, xs = np.nonzero(mask)
    assert xs.size > 10, "a label is painted there"
    crop = mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    return float(xs.mean()), float(ys.mean()), crop


def test_orientation_labels_are_painted_at_the_edges(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp, shot = _shown(qtbot, viewer)
    edges = vp.canvas.view_text.edges  # type: ignore[union-attr]
    assert edges is not None and (edges.top, edges.bottom, edges.left, edges.right) == ("A", "P", "R", "L")
    labels = _mask(shot, LABEL_COLOUR)
    h, w = labels.shape
    band = 40
    top, bottom = _label_box(labels[:band]), _label_box(labels[h - band:])
    left, right = _label_box(labels[:, :band]), _label_box(labels[:, w - band:])
    assert abs(top[0] - w / 2) < 10 and abs(bottom[0] - w / 2) < 10  # centred on the top and bottom edges
    assert abs(left[1] - h / 2) < 10 and abs(right[1] - h / 2) < 10  # centred on the left and right edges
    inner = labels[band: h - band, band: w - band]
    assert not inner.any()  # labels only at the edges
    assert not np.array_equal(top[2], left[2])  # "A" and "R" are different glyphs

    vp.set_state(vp.state.rotated(90))  # clockwise: the patient's right comes to the top
    turned = _mask(grab(vp.canvas), LABEL_COLOUR)
    new_top, new_right = _label_box(turned[:band]), _label_box(turned[:, w - band:])
    np.testing.assert_array_equal(new_top[2], left[2])  # the "R" painted at the left is now at the top
    np.testing.assert_array_equal(new_right[2], top[2])  # and the "A" on the right
    assert abs(new_top[0] - w / 2) < 10


def _bar_run(shot: np.ndarray) -> tuple[int, int]:
    """The row and length of the longest horizontal run of text-coloured pixels in the bottom quarter."""
    text = _mask(shot, TEXT_COLOUR)
    h = text.shape[0]
    best = (0, 0)
    for y in range(int(h * 0.75), h):
        row = np.concatenate(([0], text[y].astype(np.int8), [0]))
        starts, ends = np.flatnonzero(np.diff(row) == 1), np.flatnonzero(np.diff(row) == -1)
        if starts.size:
            length = int((ends - starts).max())
            if length > best[1]:
                best = (y, length)
    return best


def _check_bar(vp: Viewport) -> float:
    """The scale bar painted on ``vp`` is as long as its label says at the viewport's scale; returns
    its length in mm."""
    shot = grab(vp.canvas)
    bar = vp.canvas.view_text.scale_bar  # type: ignore[union-attr]
    assert bar is not None
    found = re.fullmatch(r"(\d+(?:\.\d+)?) mm", bar.label)
    assert found, bar.label
    millimetres = float(found.group(1))
    want = millimetres / PIXEL_MM * vp.scale  # screen pixels the label's length takes at this scale
    y, painted = _bar_run(shot)
    assert abs(painted - want) <= 2, (painted, want, bar.label)
    assert y > vp.canvas.height() * 0.75  # at the bottom
    # the bar is centred and about a fifth of the width at most
    xs = np.flatnonzero(_mask(shot, TEXT_COLOUR)[y])
    middle = xs[(xs > vp.canvas.width() * 0.3) & (xs < vp.canvas.width() * 0.7)]
    assert abs((middle.min() + middle.max()) / 2 - vp.canvas.width() / 2) <= 2
    assert painted <= vp.canvas.width() * 0.2 + 1
    assert f"Zoom {vp.scale:.2f}" in vp.canvas.corner_text("bottom_right")  # the zoom shown is the scale
    return millimetres


@pytest.mark.parametrize("zoom", [2.0, 3.5, 6.0])
def test_scale_bar_length_matches_its_label(qtbot: QtBot, viewer: ViewerWindow, zoom: float) -> None:
    vp, _ = _shown(qtbot, viewer)
    _check_bar(vp)  # fitted to the canvas
    vp.set_state(replace(vp.state, size_mode="zoom", zoom=zoom))
    assert vp.scale == zoom  # one image pixel (0.7 mm) is `zoom` screen pixels
    _check_bar(vp)


def test_scale_bar_follows_a_resized_window(qtbot: QtBot, viewer: ViewerWindow) -> None:
    vp, _ = _shown(qtbot, viewer)
    fitted = vp.scale
    _check_bar(vp)
    viewer.resize(1400, 1100)  # fit: a bigger canvas shows the image larger
    qtbot.waitUntil(lambda: vp.scale > fitted * 1.3, timeout=5000)
    grab(vp.canvas)
    _check_bar(vp)
