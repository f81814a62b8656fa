"""Annotation tools in the viewer: each tool's value on a calibrated synthetic image, the
uncalibrated warning, editing and deleting, export; asserted on the screen's pixels and the values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from pytestqt.qtbot import QtBot

from app.imaging.calibration import calibration_from
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.ui.annotation_layer import UNCALIBRATED, WARNING_BACKGROUND
from app.ui.viewer_window import ViewerWindow
from tests.ui.annotation_support import amber, at, click, key, open_annotated, phantom_images, press_drag, screen
from tests.ui.viewer_support import mouse, viewer_fixture  # noqa: F401
from tests.unit.services.calibrated import COLUMN_MM, ROW_MM, stored_values

# each tool: the image points pressed (a drag from the first to the second, then clicks/drags), and
# the value expected from the known spacing (0.5 mm rows, 0.25 mm columns)
CASES = {
    Kind.DISTANCE: ([(10, 10), (50, 10)], 40 * COLUMN_MM),
    Kind.ANGLE: ([(50, 10), (10, 10), (50, 30)], 45.0),
    Kind.COBB: ([(10, 5), (50, 5), (10, 20), (50, 40)], 45.0),
    Kind.RECTANGLE: ([(10, 20), (20, 30)], 10 * COLUMN_MM * 10 * ROW_MM),
    Kind.ELLIPSE: ([(40, 20), (60, 40)], math.pi * 10 * COLUMN_MM * 10 * ROW_MM),
    Kind.POLYLINE: ([(10, 50), (50, 50), (50, 60)], 40 * COLUMN_MM + 10 * ROW_MM),
    Kind.ARROW: ([(70, 50), (85, 35)], None),
}


def _draw(vp, kind: Kind, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    press_drag(vp, points[0], points[1])
    if kind == Kind.ANGLE:
        click(vp, points[2])
    elif kind == Kind.COBB:
        press_drag(vp, points[2], points[3])
    elif kind == Kind.POLYLINE:
        click(vp, points[2])
        key(vp, Qt.Key.Key_Return)


@pytest.mark.parametrize("kind", list(CASES))
def test_each_tool_measures_on_a_calibrated_image_and_draws_on_screen(
    qtbot: QtBot, viewer: ViewerWindow, kind: Kind
) -> None:
    images = phantom_images()
    controller, vp = open_annotated(qtbot, viewer, images)
    controller.set_kind(kind)
    points, value = CASES[kind]
    _draw(vp, kind, points)
    assert len(controller.annotations) == 1
    (annotation,) = controller.annotations
    assert annotation.kind == kind and annotation.complete
    np.testing.assert_allclose(annotation.points, points, atol=0.3)  # where the mouse pressed, in image pixels
    found = controller.measurement(annotation)
    if kind in (Kind.DISTANCE, Kind.POLYLINE):
        assert found.length is not None and found.length.unit == "mm"
        assert found.length.value == pytest.approx(value, rel=0.02)
    elif kind in (Kind.ANGLE, Kind.COBB):
        assert found.angle is not None and found.angle.value == pytest.approx(value, abs=1.0)
    elif kind in (Kind.RECTANGLE, Kind.ELLIPSE):
        stats = found.roi
        assert stats is not None and stats.area.unit == "mm2" and stats.area.value == pytest.approx(value, rel=0.05)
        exact = measure(UserAnnotation(kind, tuple(points), annotation.sop_instance_uid), stored_values(),
                        images[0], calibration_from(images[0])).roi
        assert exact is not None and stats.mean == pytest.approx(exact.mean, abs=2.5) and stats.unit == "HU"
    # drawn on screen: the middle of its first segment is amber (once no longer selected)
    controller.select(None)
    shot, ratio = screen(vp)
    line = annotation.outline()[0]
    middle = ((line[0][0] + line[1][0]) / 2, (line[0][1] + line[1][1]) / 2)
    assert amber(shot, at(vp, *middle), ratio)
    assert not amber(screen(vp)[0], at(vp, 90, 60), ratio)  # away from it: the image


def test_text_annotation_asks_for_its_note(qtbot: QtBot, viewer: ViewerWindow) -> None:
    controller, vp = open_annotated(qtbot, viewer, phantom_images())
    controller.ask_text = lambda current: "Lesion"  # type: ignore[method-assign]
    controller.set_kind(Kind.TEXT)
    click(vp, (30, 30))
    (note,) = controller.annotations
    assert note.text == "Lesion" and controller.measurement(note).label == "Lesion"
    controller.select(None)
    shot, ratio = screen(vp)
    anchor = at(vp, 30, 30)
    assert amber(shot, anchor, ratio)  # the anchor handle
    # right click on it: "Edit text..." changes the note (and its label)
    controller.ask_text = lambda current: current + " (cyst)"  # type: ignore[method-assign]
    controller.exec_menu = lambda menu, _at: next(a for a in menu.actions() if a.text() == "Edit text...")  # type: ignore[method-assign]
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonPress, anchor, Qt.MouseButton.RightButton, Qt.MouseButton.RightButton)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonRelease, anchor, Qt.MouseButton.RightButton, Qt.MouseButton.NoButton)
    (edited,) = controller.annotations
    assert edited.text == "Lesion (cyst)" and edited.points == note.points
    assert controller.measurement(edited).label == "Lesion (cyst)"


def test_uncalibrated_image_measures_in_pixels_with_a_warning(qtbot: QtBot, viewer: ViewerWindow) -> None:
    controller, vp = open_annotated(qtbot, viewer, phantom_images(calibrated=False))

    def red_banner() -> int:
        shot, _ = screen(vp)
        colour = np.array([WARNING_BACKGROUND.red(), WARNING_BACKGROUND.green(), WARNING_BACKGROUND.blue()])
        return int(np.all(shot == colour, axis=2).sum())

    assert red_banner() == 0
    controller.set_kind(Kind.DISTANCE)
    press_drag(vp, (10, 10), (40, 50))
    (line,) = controller.annotations
    found = controller.measurement(line)
    assert found.length is not None and found.length.unit == "px" and found.length.value == pytest.approx(50, abs=0.5)
    assert found.lines[0].endswith(" px")
    assert red_banner() > 200 and controller.uncalibrated_warning(vp)
    assert UNCALIBRATED.startswith("Uncalibrated")


def test_calibrated_image_has_no_warning(qtbot: QtBot, viewer: ViewerWindow) -> None:
    controller, vp = open_annotated(qtbot, viewer, phantom_images())
    controller.set_kind(Kind.DISTANCE)
    press_drag(vp, (10, 10), (40, 50))
    shot, _ = screen(vp)
    colour = np.array([WARNING_BACKGROUND.red(), WARNING_BACKGROUND.green(), WARNING_BACKGROUND.blue()])
    assert not np.all(shot == colour, axis=2).any() and not controller.uncalibrated_warning(vp)


def test_drag_a_handle_to_edit_then_delete_by_key_and_by_menu(qtbot: QtBot, viewer: ViewerWindow) -> None:
    controller, vp = open_annotated(qtbot, viewer, phantom_images())
    before, ratio = screen(vp)
    controller.set_kind(Kind.DISTANCE)
    press_drag(vp, (10, 10), (50, 10))
    controller.set_kind(None)  # the edit tool
    press_drag(vp, (50, 10), (50, 40))  # the end handle, dragged down 30 rows
    (line,) = controller.annotations
    np.testing.assert_allclose(line.points, [(10, 10), (50, 40)], atol=0.3)
    found = controller.measurement(line)
    assert found.length is not None
    assert found.length.value == pytest.approx(math.hypot(40 * COLUMN_MM, 30 * ROW_MM), rel=0.02)
    controller.select(None)
    shot, _ = screen(vp)
    assert amber(shot, at(vp, 30, 25), ratio) and not amber(shot, at(vp, 30, 10), ratio)
    press_drag(vp, (30, 25), (40, 25))  # on the line: moves it whole, 10 columns right (and selects it)
    (moved,) = controller.annotations
    np.testing.assert_allclose(moved.points, [(20, 10), (60, 40)], atol=0.5)
    key(vp, Qt.Key.Key_Delete)
    assert controller.annotations == []
    np.testing.assert_array_equal(screen(vp)[0], before)  # nothing left drawn

    controller.set_kind(Kind.RECTANGLE)
    press_drag(vp, (10, 20), (30, 40))
    controller.exec_menu = lambda menu, _at: next(a for a in menu.actions() if a.text() == "Delete")  # type: ignore[method-assign]
    edge = at(vp, 20, 20)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonPress, edge, Qt.MouseButton.RightButton, Qt.MouseButton.RightButton)
    mouse(vp.canvas, QMouseEvent.Type.MouseButtonRelease, edge, Qt.MouseButton.RightButton, Qt.MouseButton.NoButton)
    assert controller.annotations == []
    assert vp.state.window is None  # the right click on an annotation opened its menu, it did not window


def test_export_writes_the_displayed_image_with_annotations(
    qtbot: QtBot, viewer: ViewerWindow, tmp_path: Path
) -> None:
    controller, vp = open_annotated(qtbot, viewer, phantom_images())
    controller.set_kind(Kind.DISTANCE)
    press_drag(vp, (10, 20.5), (80, 20.5))
    png = controller.export_to(tmp_path / "view.png")
    exported = np.asarray(Image.open(png))
    np.testing.assert_array_equal(exported, vp.rendered_image())  # the viewer's own rendered image agrees
    assert exported.shape == (64, 96, 3)
    assert (np.abs(exported[20, 15:75].astype(int) - (255, 214, 0)).max(axis=1) <= 1).all()
    assert exported[40, 5].tolist()[0] == exported[40, 5].tolist()[1]  # away from it: the grey image
    jpeg = np.asarray(Image.open(controller.export_to(tmp_path / "view.jpg"))).astype(int)
    assert np.abs(jpeg - exported.astype(int)).mean() < 5
