"""Each tool's value on a calibrated synthetic image (known spacing, known modality values), the
uncalibrated fallback in pixels, editing, and the round trip through a written GSPS."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.imaging.annotations import annotation_layers
from app.imaging.calibration import calibration_from
from app.imaging.gsps_writer import write_gsps
from app.imaging.render import render_frame
from app.services.annotations_gsps import annotations_from_state, graphic_objects
from app.services.annotations_model import Kind, UserAnnotation, measure
from app.services.presentation_display import without_own_items
from app.services.presentation_save import ViewSettings, presentation_model
from tests.unit.services.calibrated import COLUMN_MM, ROW_MM, calibrated_image, hounsfield, stored_values


def _measure(kind: Kind, *points: tuple[float, float], calibrated: bool = True, text: str = ""):  # type: ignore[no-untyped-def]
    ds = calibrated_image(calibrated)
    annotation = UserAnnotation(kind, tuple(points), str(ds.SOPInstanceUID), 0, text)
    return measure(annotation, stored_values(), ds, calibration_from(ds))


def test_distance_uses_row_and_column_spacing() -> None:
    horizontal = _measure(Kind.DISTANCE, (10, 10), (30, 10))
    vertical = _measure(Kind.DISTANCE, (10, 10), (10, 30))
    diagonal = _measure(Kind.DISTANCE, (0, 0), (40, 30))
    assert horizontal.length is not None and horizontal.length.unit == "mm"
    assert horizontal.length.value == pytest.approx(20 * COLUMN_MM)
    assert vertical.length is not None and vertical.length.value == pytest.approx(20 * ROW_MM)
    assert diagonal.length is not None
    assert diagonal.length.value == pytest.approx(math.hypot(40 * COLUMN_MM, 30 * ROW_MM))
    assert horizontal.lines == (f"{20 * COLUMN_MM:.2f} mm",)


def test_angle_is_measured_in_physical_space() -> None:
    # 40 columns x 0.25 mm = 10 mm across, 20 rows x 0.5 mm = 10 mm down: 45 degrees (26.6 in pixels)
    found = _measure(Kind.ANGLE, (50, 10), (10, 10), (50, 30))
    assert found.angle is not None and found.angle.value == pytest.approx(45.0)
    assert found.lines == ("45.0°",)


def test_cobb_angle_is_the_acute_angle_between_the_lines_either_way_drawn() -> None:
    one = _measure(Kind.COBB, (0, 0), (40, 0), (0, 40), (40, 60))  # second line 10 mm across, 10 mm down
    reversed_line = _measure(Kind.COBB, (0, 0), (40, 0), (40, 60), (0, 40))
    assert one.angle is not None and one.angle.value == pytest.approx(45.0)
    assert reversed_line.angle is not None and reversed_line.angle.value == pytest.approx(45.0)
    assert one.lines == ("Cobb 45.0°",)


def test_polyline_length_adds_its_segments() -> None:
    found = _measure(Kind.POLYLINE, (0, 0), (40, 0), (40, 20))
    assert found.length is not None and found.length.value == pytest.approx(40 * COLUMN_MM + 20 * ROW_MM)


def test_rectangle_roi_area_and_modality_statistics() -> None:
    found = _measure(Kind.RECTANGLE, (10, 20), (20, 30))
    stats = found.roi
    assert stats is not None
    # pixel centres (c + 0.5, r + 0.5) inside [10, 20] x [20, 30]: columns 10..19, rows 20..29
    expected = hounsfield(stored_values()[20:30, 10:20])
    assert stats.area.value == pytest.approx(10 * COLUMN_MM * 10 * ROW_MM) and stats.area.unit == "mm2"
    assert stats.pixel_count == expected.size
    assert stats.mean == pytest.approx(expected.mean())
    assert stats.sd == pytest.approx(expected.std(ddof=1))
    assert (stats.minimum, stats.maximum) == (expected.min(), expected.max())
    assert stats.unit == "HU"
    assert found.lines[0] == f"Area {10 * COLUMN_MM * 10 * ROW_MM:.2f} mm²"
    assert found.lines[1].endswith("HU") and f"{expected.mean():.0f}" in found.lines[1]


def test_ellipse_roi_area_and_statistics() -> None:
    found = _measure(Kind.ELLIPSE, (10, 20), (30, 40))  # centre (20, 30), semi-axes 10 and 10 pixels
    stats = found.roi
    assert stats is not None
    rows, columns = np.mgrid[0:64, 0:96] + 0.5
    inside = ((columns - 20) / 10) ** 2 + ((rows - 30) / 10) ** 2 <= 1.0
    expected = hounsfield(stored_values())[inside]
    assert stats.area.value == pytest.approx(math.pi * 10 * COLUMN_MM * 10 * ROW_MM)
    assert stats.pixel_count == expected.size
    assert stats.mean == pytest.approx(expected.mean())
    assert stats.sd == pytest.approx(expected.std(ddof=1))
    assert (stats.minimum, stats.maximum) == (expected.min(), expected.max())


def test_uncalibrated_image_measures_in_pixels() -> None:
    found = _measure(Kind.DISTANCE, (10, 10), (40, 50), calibrated=False)
    area = _measure(Kind.RECTANGLE, (10, 20), (20, 30), calibrated=False)
    assert found.length is not None and found.length.unit == "px" and found.length.value == pytest.approx(50.0)
    assert found.lines == ("50.0 px",)
    assert area.roi is not None and area.roi.area.unit == "px2" and area.roi.area.value == pytest.approx(100.0)


def test_editing_moves_one_handle_or_the_whole_annotation() -> None:
    a = UserAnnotation(Kind.DISTANCE, ((0.0, 0.0), (10.0, 0.0)), "1.2.3")
    assert a.with_point(1, (20, 0)).points == ((0.0, 0.0), (20.0, 0.0))
    assert a.moved(5, 5).points == ((5.0, 5.0), (15.0, 5.0))
    assert a.distance_to((5, 3)) == pytest.approx(3.0)
    assert not UserAnnotation(Kind.ANGLE, ((0.0, 0.0), (1.0, 1.0)), "1.2.3").complete


def _all_kinds(uid: str) -> list[UserAnnotation]:
    return [
        UserAnnotation(Kind.DISTANCE, ((10.0, 10.0), (30.0, 10.0)), uid),
        UserAnnotation(Kind.ANGLE, ((50.0, 10.0), (10.0, 10.0), (50.0, 30.0)), uid),
        UserAnnotation(Kind.COBB, ((0.0, 0.0), (40.0, 0.0), (0.0, 40.0), (40.0, 60.0)), uid),
        UserAnnotation(Kind.RECTANGLE, ((10.0, 20.0), (20.0, 30.0)), uid),
        UserAnnotation(Kind.ELLIPSE, ((10.0, 20.0), (30.0, 30.0)), uid),
        UserAnnotation(Kind.POLYLINE, ((0.0, 0.0), (40.0, 0.0), (40.0, 20.0), (60.0, 50.0)), uid),
        UserAnnotation(Kind.ARROW, ((70.0, 50.0), (60.0, 40.0)), uid),
        UserAnnotation(Kind.TEXT, ((5.0, 50.0),), uid, 0, "Lesion"),
    ]


def test_every_kind_survives_a_written_presentation_state() -> None:
    ds = calibrated_image()
    annotations = _all_kinds(str(ds.SOPInstanceUID))
    calibration = calibration_from(ds)
    pairs = [(a, measure(a, stored_values(), ds, calibration)) for a in annotations]
    state = write_gsps(presentation_model(ViewSettings(), pairs, [ds]), [ds])
    back = annotations_from_state(state, ds)
    assert sorted(back, key=lambda a: a.kind) == sorted(annotations, key=lambda a: a.kind)
    # the labels are in the state as text objects, so other viewers show the values too
    texts = [t.text for layer in annotation_layers(state, ds) for t in layer.texts]
    assert f"{20 * COLUMN_MM:.2f} mm" in texts and "Lesion" in texts and "Cobb 45.0°" in texts


def test_written_graphics_are_drawn_by_the_pipeline_and_stripped_for_editing() -> None:
    ds = calibrated_image()
    line = UserAnnotation(Kind.DISTANCE, ((10.0, 40.5), (80.0, 40.5)), str(ds.SOPInstanceUID))
    pair = (line, measure(line, stored_values(), ds, calibration_from(ds)))
    state = write_gsps(presentation_model(ViewSettings(), [pair], [ds]), [ds])
    plain = render_frame(ds, 0, state).composite(annotations=False)
    drawn = render_frame(ds, 0, state).composite()
    assert (drawn[40, 20:70] == 255).all() and not (plain[40, 20:70] == 255).all()
    stripped = render_frame(ds, 0, without_own_items(state)).composite()
    np.testing.assert_array_equal(stripped, plain)
    assert "GraphicAnnotationSequence" in state  # the original is untouched


def test_ellipse_is_written_major_axis_first() -> None:
    tall = UserAnnotation(Kind.ELLIPSE, ((0.0, 0.0), (10.0, 40.0)), "1.2.3")
    (ellipse,) = graphic_objects(tall)
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = ellipse.points
    assert math.dist((x1, y1), (x2, y2)) == pytest.approx(40.0) and math.dist((x3, y3), (x4, y4)) == pytest.approx(10.0)
