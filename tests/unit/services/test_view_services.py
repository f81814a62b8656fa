"""Qt-free parts of the viewer: view state geometry, cine rate, text layer, slice sync, matrix badges."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from pydicom.dataset import Dataset

from app.imaging.calibration import calibration_from
from app.imaging.corner_text import corner_text, uses_view_fields
from app.imaging.spatial import SpatialTransform
from app.imaging.view_geometry import ViewGeometry
from app.imaging.voi_lut import Window
from app.services.image_stack import ImageStack
from app.services.slice_sync import matching_position
from app.services.study_matrix import badges, referenced_series
from app.services.view_state import ViewState, cine_rate, placement, scale_for, to_image
from app.services.view_text import CornerTextCache, round_length, scale_bar, view_text
from tests.ui.viewer_data import ct_stack


@pytest.mark.parametrize(("rotation", "flip"), list(itertools.product((0, 90, 180, 270), (False, True))))
def test_displayed_points_map_back_to_image_points(rotation: int, flip: bool) -> None:
    geometry = ViewGeometry((40, 60), None, SpatialTransform(rotation, flip))
    for point in [(0.0, 0.0), (59.5, 0.5), (12.25, 33.75), (60.0, 40.0)]:
        shown = geometry.from_pixel(*point)
        assert to_image(geometry, *shown) == pytest.approx(point)
    # the pixel at image (column 5, row 7) is where the transformed array has it
    image = np.zeros((40, 60), dtype=np.uint8)
    image[7, 5] = 1
    shown = geometry.to_display(image)
    x, y = geometry.from_pixel(5.5, 7.5)
    assert shown[int(y), int(x)] == 1


def test_scale_modes_and_placement() -> None:
    fit = ViewState()
    assert scale_for(fit, (512, 512), (800, 600), (0.7, 0.7), 0.25) == pytest.approx(600 / 512)
    assert scale_for(fit, (512, 256), (800, 600), None, None, aspect=2.0) == pytest.approx(600 / 1024)
    true = ViewState(size_mode="true")
    assert scale_for(true, (512, 512), (800, 600), (0.7, 0.7), 0.25) == pytest.approx(2.8)  # 0.7 mm on 0.25 mm dots
    assert scale_for(true, (512, 512), (800, 600), None, 0.25) == pytest.approx(600 / 512)  # uncalibrated: fit
    zoom = fit.zoomed(1.25, 2.0)
    assert zoom.size_mode == "zoom" and scale_for(zoom, (1, 1), (1, 1), None, None) == 2.5
    where = placement((100, 200), (400, 300), 1.5, (10.0, -5.0), 1.0)
    assert where.to_widget(0, 0) == (50.0 + 10.0, 75.0 - 5.0)
    assert where.from_widget(*where.to_widget(33.0, 44.0)) == pytest.approx((33.0, 44.0))


def test_rotation_on_screen_after_a_flip_and_overlay_choice() -> None:
    state = ViewState().rotated(90)
    assert state.rotation == 90
    assert state.flipped().rotated(90).rotation == 0  # a mirrored picture turns the other way
    assert ViewState(rotation=90, invert=True, window=Window(1, 2)).reset() == ViewState()
    some = ViewState().with_overlay(0x6002, False, (0x6000, 0x6002))
    assert some.overlays == frozenset({0x6000}) and not some.overlay_shown(0x6002)
    assert some.with_overlay(0x6002, True, (0x6000, 0x6002)).overlays is None


def test_cine_rate_from_the_cine_module() -> None:
    ds = Dataset()
    assert cine_rate(ds) == 10.0
    ds.FrameTime = 33.3333
    assert cine_rate(ds) == pytest.approx(30.0, abs=0.01)
    ds.CineRate = 15
    assert cine_rate(ds) == 15.0
    ds.RecommendedDisplayFrameRate = 25
    assert cine_rate(ds) == 25.0
    ds.RecommendedDisplayFrameRate = 0  # not a rate: the next one wins
    assert cine_rate(ds) == 15.0


def test_corner_text_cache_matches_corner_text_and_warms_on_another_thread() -> None:
    series = ct_stack(3, 32)
    cache = CornerTextCache()
    worker = threading.Thread(target=lambda: [cache.prepare(ds) for ds in series])
    worker.start()
    worker.join()
    for ds, window, zoom in [(series[0], (40.0, 400.0), 1.5), (series[2], (-600.0, 1500.0), None)]:
        assert cache.corner_text(ds, 0, window, zoom) == corner_text(ds, frame=0, window=window, zoom=zoom)
    assert uses_view_fields("W {WindowWidth:.0f} L {WindowCenter:.0f}") and not uses_view_fields("Im {InstanceNumber}")


def test_text_layer_position_line_state_label_and_scale_bar() -> None:
    ds = ct_stack(1, 64)[0]
    text = view_text(ds, 0, voi=Window(40, 400), zoom=2.0, position=(3, 9), presentation_label="Findings",
                     scale=2.0, width_px=500)  # fmt: skip
    assert text.corners.bottom_left[-1] == "Image 3 / 9"
    assert text.corners.top_right[-1] == "PR: Findings"
    assert "W 400 L 40" in text.corners.bottom_right and "120 kV" in text.corners.bottom_left
    assert text.edges is not None and (text.edges.top, text.edges.left) == ("A", "R")
    assert text.scale_bar is not None  # 500 px / 5 = 100 px at 0.35 mm per widget px: 35 mm -> 20 mm
    assert text.scale_bar.length_mm == 20 and text.scale_bar.length_px == pytest.approx(20 / 0.35)
    assert [round_length(x) for x in (0.9, 1.0, 3.7, 9.99, 49)] == [0.5, 1.0, 2.0, 5.0, 20.0]
    rotated = scale_bar(calibration_from(ds), SpatialTransform(90), 2.0, 500)
    assert rotated is not None and rotated.length_mm == 20
    del ds.PixelSpacing
    assert view_text(ds, 0, scale=2.0, width_px=500).scale_bar is None  # uncalibrated: no bar


def test_matching_position_by_location_in_the_patient() -> None:
    reference = "1.2.3.4"
    thin = ImageStack(ct_stack(10, 16, spacing=2.0, frame_of_reference=reference))
    thick = ImageStack(ct_stack(5, 16, spacing=4.0, frame_of_reference=reference))
    assert matching_position(thick, thin.dataset(4), 0) == 2  # z 8 mm
    assert matching_position(thin, thick.dataset(3), 0) == 6  # z 12 mm
    far = ct_stack(1, 16, frame_of_reference=reference, start=500.0)[0]
    assert matching_position(thin, far, 0) is None  # beyond the stack
    other = ct_stack(1, 16)[0]
    assert matching_position(thin, other, 0) is None  # another frame of reference


def test_badges_count_objects_by_referenced_series() -> None:
    pr, ko = Dataset(), Dataset()
    item = Dataset()
    item.SeriesInstanceUID = "1.2.1"
    pr.ReferencedSeriesSequence = [item]
    study = Dataset()
    a, b = Dataset(), Dataset()
    a.SeriesInstanceUID, b.SeriesInstanceUID = "1.2.1", "1.2.2"
    study.ReferencedSeriesSequence = [a, b]
    ko.CurrentRequestedProcedureEvidenceSequence = [study]
    assert referenced_series(ko) == {"1.2.1", "1.2.2"}
    assert badges([("PR", pr), ("PR", pr), ("KO", ko)]) == {"1.2.1": {"PR": 2, "KO": 1}, "1.2.2": {"KO": 1}}


def test_a_parsed_part_does_not_keep_its_bytes() -> None:
    """A WADO-RS part becomes a data set that holds its pixels once (not also the part it came from)."""
    from app.services.series_source import parse_part
    from tests.ui.viewer_data import part10

    source = ct_stack(1, 64)[0]
    ds = parse_part(part10(source), str(source.SeriesInstanceUID))
    assert getattr(ds, "buffer", None) is None
    np.testing.assert_array_equal(ds.pixel_array, source.pixel_array)
