"""The user's view and annotations saved as a GSPS: the model from the view settings, and the
round trip through the real server (STOW-RS in, QIDO/WADO-RS back, newest offered first),
validated by dicom3tools' ``dciodvfy``."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from app.imaging.calibration import calibration_from
from app.imaging.gsps_writer import write_gsps
from app.imaging.render import render_frame
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.state_choice import state_choices
from app.imaging.voi_lut import Window
from app.services.annotations_gsps import annotations_from_state
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.services.presentation_display import presentation_states
from app.services.presentation_save import (
    PresentationSaver,
    ViewSettings,
    presentation_model,
    referenced_images,
    shutter_setting,
)
from app.services.studies import StudyService
from tests.conftest import require_tool
from tests.unit.services.calibrated import calibrated_image, stored_values


def _series(count: int = 2):  # type: ignore[no-untyped-def]
    study, series = str(generate_uid()), str(generate_uid())
    return [calibrated_image(study_uid=study, series_uid=series, instance=i + 1) for i in range(count)]


def _bytes(ds) -> bytes:  # type: ignore[no-untyped-def]
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_view_settings_become_the_states_window_transform_area_and_polarity() -> None:
    images = _series()
    settings = ViewSettings(
        window=Window(1040.0, 120.0),
        transform=SpatialTransform(90, True),
        displayed_area=DisplayedArea((11, 5), (60, 44)),
        invert=True,
    )
    state = write_gsps(presentation_model(settings, [], images), images)
    shown = render_frame(images[1], 0, state)
    assert shown.voi == Window(1040.0, 120.0)
    assert shown.transform == SpatialTransform(90, True)
    assert shown.displayed_area is not None and shown.displayed_area.top_left in ((11, 5), (11, 44), (60, 5), (60, 44))
    # inverted: the lowest values are white (window 980..1100 HU; the image's top left is 976 HU)
    assert shown.pixels[0, 0] == 255


def test_own_windows_are_kept_per_image_when_the_user_set_none() -> None:
    images = _series()
    images[1].WindowCenter, images[1].WindowWidth = 900, 100
    model = presentation_model(ViewSettings(), [], images)
    assert {(v.window.center, v.window.width) for v in model.vois} == {(1100.0, 400.0), (900.0, 100.0)}
    assert all(v.applies_to for v in model.vois)


def test_the_images_shutter_is_carried_and_other_sizes_are_left_out() -> None:
    images = _series(3)
    images[0].ShutterShape = "RECTANGULAR"
    images[0].ShutterLeftVerticalEdge, images[0].ShutterRightVerticalEdge = 5, 80
    images[0].ShutterUpperHorizontalEdge, images[0].ShutterLowerHorizontalEdge = 4, 50
    other = calibrated_image(study_uid=str(images[0].StudyInstanceUID), stored=stored_values(32, 32))
    chosen = referenced_images([*images, other], images[1])
    assert [str(d.SOPInstanceUID) for d in chosen] == [str(images[i].SOPInstanceUID) for i in (1, 0, 2)]
    shutter = shutter_setting(images[0])
    assert shutter is not None and shutter.rectangle == (5, 80, 4, 50)
    state = write_gsps(presentation_model(ViewSettings(shutter=shutter), [], images), images)
    layer = render_frame(images[2], 0, state).shutter
    assert layer is not None and layer.mask[0, 0] and not layer.mask[10, 10]


def test_save_stores_a_new_instance_each_change_and_reload_offers_the_newest(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    images = _series()
    studies = StudyService.connect(server.http_url)
    try:
        assert studies.store_files([_bytes(ds) for ds in images]).stored == 2
        uid = str(images[0].SOPInstanceUID)
        line = UserAnnotation(Kind.DISTANCE, ((10.0, 10.0), (30.0, 10.0)), uid)
        calibration = calibration_from(images[0])
        pair = (line, measure(line, stored_values(), images[0], calibration))
        saver = PresentationSaver(studies, referenced_images(images, images[0]))
        first = saver.save(ViewSettings(window=Window(1000, 200)), [pair])
        again = saver.save(ViewSettings(window=Window(1000, 200)), [pair])
        moved = line.with_point(1, (50.0, 10.0))
        moved_pair = (moved, measure(moved, stored_values(), images[0], calibration))
        second = saver.save(ViewSettings(window=Window(1000, 200)), [moved_pair])
        assert first.stored and not again.stored and second.stored
        assert first.sop_instance_uid != second.sop_instance_uid

        states = presentation_states(studies, str(images[0].StudyInstanceUID))
        assert {str(s.SOPInstanceUID) for s in states} == {first.sop_instance_uid, second.sop_instance_uid}
        choices = state_choices(images[0], states)
        assert choices[0].sop_instance_uid == second.sop_instance_uid  # newest first: it applies by default
        assert annotations_from_state(choices[0].dataset, images[0]) == [moved]
        shown = render_frame(images[0], 0, choices[0].dataset).composite()
        assert (shown[10, 12:48] == 255).all()  # the saved line is drawn by the pipeline from the stored state

        path = tmp_path / "saved.dcm"
        choices[0].dataset.save_as(path, enforce_file_format=True)
        done = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, text=True, timeout=60)
        lines = (done.stdout + done.stderr).splitlines()
        assert "GrayscaleSoftcopyPresentationState" in lines
        assert not [x for x in lines if x.startswith("Error")], lines
    finally:
        studies.close()


def test_overlay_choice_activates_the_images_overlay(server) -> None:  # type: ignore[no-untyped-def]
    images = _series(1)
    ds = images[0]
    ds.add_new(0x60000010, "US", 64)
    ds.add_new(0x60000011, "US", 96)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    plane = np.zeros((64, 96), dtype=np.uint8)
    plane[5, :] = 1
    ds.add_new(0x60003000, "OW", np.packbits(plane.ravel(), bitorder="little").tobytes())
    studies = StudyService.connect(server.http_url)
    try:
        studies.store_files([_bytes(ds)])
        shown = PresentationSaver(studies, images).save(ViewSettings(overlays=None), []).dataset
        hidden = PresentationSaver(studies, images).save(ViewSettings(overlays=()), []).dataset
        assert render_frame(ds, 0, shown).overlays and not render_frame(ds, 0, hidden).overlays
        assert render_frame(ds, 0, shown).composite()[5, 40] == 255
    finally:
        studies.close()


def test_model_leaves_out_annotations_on_other_images() -> None:
    images = _series()
    a = UserAnnotation(Kind.ARROW, ((1.0, 1.0), (9.0, 9.0)), "9.9.9")
    model = presentation_model(ViewSettings(), [(a, measure(a, None, images[0], calibration_from(images[0])))], images)
    assert not model.layers


def test_circular_and_polygonal_shutters_are_carried_and_a_bitmap_one_is_not() -> None:
    (ds,) = _series(1)
    ds.ShutterShape = ["CIRCULAR", "POLYGONAL"]
    ds.CenterOfCircularShutter, ds.RadiusOfCircularShutter = [32, 48], 30
    ds.VerticesOfThePolygonalShutter = [1, 1, 1, 96, 64, 48]
    ds.ShutterPresentationValue = 0xFFFF
    shutter = shutter_setting(ds)
    assert shutter is not None
    assert shutter.circle == ((32, 48), 30) and shutter.polygon == ((1, 1), (1, 96), (64, 48)) and shutter.grey == 255
    state = write_gsps(presentation_model(ViewSettings(shutter=shutter), [], [ds]), [ds])
    layer = render_frame(ds, 0, state).shutter
    assert layer is not None and layer.value == 255
    assert layer.mask[63, 0] and not layer.mask[10, 48]  # outside the circle / inside both shapes
    ds.ShutterShape = "BITMAP"
    assert shutter_setting(ds) is None
