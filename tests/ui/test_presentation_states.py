"""Presentation states in the viewer: the newest applies by default, another or none can be
picked, "graphics only" keeps the user's window; saving the view and annotations as a GSPS on the
real server and reloading it in a new viewer; key image marking. Asserted on rendered pixels."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from io import BytesIO

import numpy as np
import pytest
from pydicom.dataset import Dataset
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.imaging.annotations import GraphicObject
from app.imaging.calibration import calibration_from
from app.imaging.gsps_model import Annotation, AreaSetting, Layer
from app.imaging.gsps_writer import write_gsps
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.voi_lut import Window
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.services.key_images import references_of
from app.services.presentation_display import Mode, PresentationSelection, presentation_states, study_objects
from app.services.presentation_save import ViewSettings, presentation_model
from app.services.studies import StudyService
from app.ui.annotation_controller import AnnotationController
from app.ui.annotation_layer import KEY_BACKGROUND
from app.ui.viewer_window import ViewerWindow
from app.ui.workers import WorkerPool
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.ui.annotation_support import amber, at, open_annotated, phantom_images, press_drag, screen
from tests.ui.viewer_support import expected, open_series, viewer_fixture  # noqa: F401
from tests.unit.services.calibrated import stored_values


def _state(ds: Dataset, label: str, created: str, window: Window, rotation: int, own: bool) -> Dataset:
    pairs = []
    if own:
        line = UserAnnotation(Kind.DISTANCE, ((10.0, 40.5), (80.0, 40.5)), str(ds.SOPInstanceUID))
        pairs.append((line, measure(line, stored_values(), ds, calibration_from(ds))))
    model = presentation_model(ViewSettings(window=window, transform=SpatialTransform(rotation)), pairs, [ds],
                               label=label)
    theirs = Layer("THEIRS", 50, (Annotation((GraphicObject("POLYLINE", ((10.0, 10.5), (80.0, 10.5))),)),))
    state = write_gsps(replace(model, layers=(*model.layers, theirs)), [ds])
    state.PresentationCreationDate, state.PresentationCreationTime = created[:8], created[8:]
    return state


def test_newest_by_default_then_another_none_and_graphics_only(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = phantom_images(1)
    ds = images[0]
    controller, vp = open_annotated(qtbot, viewer, images)
    old = _state(ds, "OLD", "20250101101010", Window(1000.0, 50.0), 0, own=False)
    new = _state(ds, "NEW", "20260101101010", Window(1200.0, 100.0), 90, own=True)
    controller.picker.set_states([old, new])
    frame = vp.render_frame()
    assert frame is not None and frame.voi == Window(1200.0, 100.0) and frame.transform == SpatialTransform(90)
    assert vp.presentation_label == "NEW" and "NEW" in str(vp.canvas.view_text)
    shown = vp.canvas.displayed_array()
    assert shown is not None and shown.shape == (96, 64)  # rotated a quarter turn
    assert (shown[10:80, 63 - 10] == 255).all()  # their line (image row 10) is drawn by the pipeline
    (mine,) = controller.annotations  # our own line became an editable annotation, drawn by the viewer
    assert mine.kind == Kind.DISTANCE and mine.points == ((10.0, 40.5), (80.0, 40.5))
    controller.select(None)
    shot, ratio = screen(vp)
    assert amber(shot, at(vp, 45, 40.5), ratio)

    controller.picker.select(vp, PresentationSelection(Mode.CHOSEN, str(old.SOPInstanceUID)))
    frame = vp.render_frame()
    assert frame is not None and frame.voi == Window(1000.0, 50.0) and vp.presentation_label == "OLD"
    assert controller.annotations == []  # the other state's annotations left with it

    controller.picker.select(vp, PresentationSelection(Mode.NONE))
    np.testing.assert_array_equal(vp.canvas.displayed_array(), expected(ds))
    assert vp.presentation_label == ""

    controller.picker.select(vp, PresentationSelection(Mode.NEWEST, graphics_only=True))
    graphics = vp.canvas.displayed_array()
    own = expected(ds)  # the image's own window (W 400 L 1100), not the state's, and no rotation
    assert graphics is not None and graphics.shape == own.shape
    assert (graphics[10, 15:75] == 255).all()  # their graphics still shown
    rows = np.ones(own.shape[0], dtype=bool)
    rows[10] = False
    np.testing.assert_array_equal(graphics[rows], own[rows])
    assert vp.presentation_label == "NEW (graphics only)"
    (mine,) = controller.annotations

    menu = QMenu()
    controller.picker.fill_menu(menu)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[:2] == ["Newest (default)", "None"] and texts[-1] == "Graphics only (keep my window)"
    assert texts[2].startswith("NEW - ") and texts[3].startswith("OLD - ") and "2025-01-01 10:10" in texts[3]
    next(a for a in menu.actions() if a.text().startswith("OLD")).trigger()
    assert controller.picker.selection(vp).mode == Mode.CHOSEN and controller.picker.selection(vp).graphics_only


def _store(studies: StudyService, images: list[Dataset]) -> None:
    payload = []
    for ds in images:
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        payload.append(buffer.getvalue())
    assert studies.store_files(payload).stored == len(images)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One server for the module (per index backend): each test stores a study of new UIDs
    (phantom_images) and reads back that study's objects only."""
    tmp = tmp_path_factory.mktemp("presentation-states")
    running = start_server(write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url),
                           tmp / "data")
    yield running
    assert stop_server(running) == 0


def _server_viewer(qtbot: QtBot, studies: StudyService, images: list[Dataset]):  # type: ignore[no-untyped-def]
    pool = QThreadPool()
    workers = WorkerPool(max_threads=2)
    win = ViewerWindow(pool)
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    controller = AnnotationController(win, studies, workers)
    vp = open_series(qtbot, win, images)
    qtbot.waitUntil(lambda: controller.picker.loaded and workers.busy == 0, timeout=20000)
    return win, controller, vp, pool, workers


def test_save_as_gsps_on_the_server_and_reload_in_a_new_viewer(qtbot: QtBot, server) -> None:  # type: ignore[no-untyped-def]
    images = phantom_images(2)
    studies = StudyService.connect(server.http_url)
    try:
        _store(studies, images)
        win, controller, vp, pool, workers = _server_viewer(qtbot, studies, images)
        vp.set_state(replace(vp.state, window=Window(1050.0, 300.0), rotation=90))
        controller.set_kind(Kind.DISTANCE)
        press_drag(vp, (10, 10), (50, 10))
        with qtbot.waitSignal(controller.saved, timeout=20000) as first:
            controller.save()
        with qtbot.waitSignal(controller.saved, timeout=20000) as again:
            controller.save()
        assert first.args[0].stored and not again.args[0].stored
        controller.set_kind(None)
        press_drag(vp, (50, 10), (50, 30))  # edit: drag the end handle
        with qtbot.waitSignal(controller.saved, timeout=20000) as second:
            controller.save()
        assert second.args[0].sop_instance_uid != first.args[0].sop_instance_uid
        (edited,) = controller.annotations
        stored = presentation_states(studies, str(images[0].StudyInstanceUID))
        assert {str(s.SOPInstanceUID) for s in stored} == {first.args[0].sop_instance_uid,
                                                            second.args[0].sop_instance_uid}
        win.close()
        pool.waitForDone(5000)
        workers.shutdown()

        win2, controller2, vp2, pool2, workers2 = _server_viewer(qtbot, studies, images)
        frame = vp2.render_frame()
        assert frame is not None and frame.voi == Window(1050.0, 300.0) and frame.transform == SpatialTransform(90)
        assert vp2.presentation_label == "LIGHTBOX"
        assert controller2.annotations == [edited]  # editable again, as saved
        shot, ratio = screen(vp2)
        assert amber(shot, at(vp2, 30, 20), ratio)  # drawn where it was, through the saved rotation
        shown = vp2.canvas.displayed_array()
        assert shown is not None and shown.shape == (96, 64)
        win2.close()
        pool2.waitForDone(5000)
        workers2.shutdown()
    finally:
        studies.close()


def test_key_image_marking_is_stored_as_a_key_object_selection(qtbot: QtBot, server) -> None:  # type: ignore[no-untyped-def]
    images = phantom_images(2)
    studies = StudyService.connect(server.http_url)
    try:
        _store(studies, images)
        win, controller, vp, pool, workers = _server_viewer(qtbot, studies, images)
        colour = np.array([KEY_BACKGROUND.red(), KEY_BACKGROUND.green(), KEY_BACKGROUND.blue()])

        def badge() -> bool:
            return bool(np.all(screen(vp)[0] == colour, axis=2).sum() > 100)

        assert not badge() and not controller.toolbar.key_action.isChecked()
        first = vp.current_dataset()
        assert first is not None
        with qtbot.waitSignal(controller.key_images_changed, timeout=20000):
            controller.toggle_key_image()
        documents = study_objects(studies, str(first.StudyInstanceUID), "KO")
        assert [r.sop_instance_uid for r in references_of(documents[0])] == [str(first.SOPInstanceUID)]
        assert badge() and controller.toolbar.key_action.isChecked()
        vp.go_to(1)
        assert not badge() and not controller.toolbar.key_action.isChecked()
        vp.go_to(0)
        with qtbot.waitSignal(controller.key_images_changed, timeout=20000):
            controller.toggle_key_image()  # unmark the only key image: our document is deleted
        assert study_objects(studies, str(first.StudyInstanceUID), "KO") == []
        assert not badge()
        win.close()
        pool.waitForDone(5000)
        workers.shutdown()
    finally:
        studies.close()


def test_a_states_presentation_pixel_spacing_calibrates_measurements(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = phantom_images(1)
    ds = images[0]
    controller, vp = open_annotated(qtbot, viewer, images)
    controller.set_kind(Kind.DISTANCE)
    press_drag(vp, (10, 10), (50, 10))  # 40 columns
    (line,) = controller.annotations
    assert controller.measurement(line).lines == (f"{40 * 0.25:.2f} mm",)  # the image's Pixel Spacing
    area = DisplayedArea((1, 1), (96, 64), pixel_spacing=(1.0, 1.0))
    model = presentation_model(ViewSettings(), [], [ds])
    state = write_gsps(replace(model, areas=(AreaSetting(area),)), [ds])
    controller.picker.set_states([state])
    found = controller.measurement(line)
    assert found.length is not None and found.length.value == pytest.approx(40.0, rel=0.01)  # the state's spacing
    controller.picker.select(vp, PresentationSelection(Mode.NONE))
    assert controller.measurement(line).lines == (f"{40 * 0.25:.2f} mm",)


def test_zoom_and_pan_are_kept_as_the_displayed_area(qtbot: QtBot, viewer: ViewerWindow) -> None:
    images = phantom_images(1)
    ds = images[0]
    controller, vp = open_annotated(qtbot, viewer, images)
    vp.set_state(replace(vp.state.zoomed(2.0, vp.scale), pan=(40.0, -30.0)))
    settings = controller.picker.view_settings(vp)
    area = settings.displayed_area
    assert area is not None
    # the area is what the widget shows: its corners map to the image points under the widget's corners
    left, top = vp.canvas.widget_to_image(0, 0)
    right, bottom = vp.canvas.widget_to_image(vp.canvas.width(), vp.canvas.height())
    assert area.top_left == (math.floor(left) + 1, math.floor(top) + 1)
    assert area.bottom_right == (math.ceil(right), math.ceil(bottom))
    state = write_gsps(presentation_model(settings, [], [ds]), [ds])
    controller.picker.add_state(state, [])
    assert vp.state.size_mode == "fit"  # the state's area now holds the zoom: fitted, not zoomed again
    shown = vp.canvas.displayed_array()
    (c1, r1), (c2, r2) = area.top_left, area.bottom_right
    assert shown is not None and shown.shape == (r2 - r1 + 1, c2 - c1 + 1)
    assert controller.picker.view_settings(vp).displayed_area == area  # saving again: the same area
