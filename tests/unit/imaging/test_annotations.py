"""Graphic annotations of a GSPS: layers, references, order and rasterised masks."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage

from app.imaging.annotations import GraphicObject, annotation_layers, rasterise
from app.imaging.render import render_frame
from app.imaging.shutters import polygonal
from tests.unit.imaging.synth import image, ramp


def _graphic(kind: str, data: list[float], filled: bool = False, units: str = "PIXEL") -> Dataset:
    g = Dataset()
    g.GraphicAnnotationUnits, g.GraphicDimensions = units, 2
    g.NumberOfGraphicPoints, g.GraphicData = len(data) // 2, data
    g.GraphicType, g.GraphicFilled = kind, "Y" if filled else "N"
    return g


def _state(img: Dataset, items: list[tuple[str, list[Dataset], list[int] | None]]) -> Dataset:
    ps = Dataset()
    ps.SOPClassUID = GrayscaleSoftcopyPresentationStateStorage
    ps.PresentationLUTShape = "IDENTITY"
    ps.GraphicLayerSequence = Sequence()
    for order, name, grey in [(2, "TOP", 65535), (1, "BOTTOM", 0)]:
        layer = Dataset()
        layer.GraphicLayer, layer.GraphicLayerOrder = name, order
        layer.GraphicLayerRecommendedDisplayGrayscaleValue = grey
        ps.GraphicLayerSequence.append(layer)
    ps.GraphicAnnotationSequence = Sequence()
    for name, graphics, frames in items:
        item = Dataset()
        item.GraphicLayer = name
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = img.SOPClassUID, img.SOPInstanceUID
        if frames is not None:
            ref.ReferencedFrameNumber = frames
        item.ReferencedImageSequence = Sequence([ref])
        item.GraphicObjectSequence = Sequence(graphics)
        text = Dataset()
        text.UnformattedTextValue, text.AnchorPoint, text.AnchorPointAnnotationUnits = "note", [3, 4], "PIXEL"
        text.AnchorPointVisibility = "Y"
        item.TextObjectSequence = Sequence([text])
        ps.GraphicAnnotationSequence.append(item)
    return ps


def test_polyline_pixels() -> None:
    mask = rasterise(GraphicObject("POLYLINE", ((2.5, 3.5), (8.5, 3.5), (8.5, 6.5))), (10, 12))
    expected = np.zeros((10, 12), dtype=bool)
    expected[3, 2:9] = True
    expected[3:7, 8] = True
    np.testing.assert_array_equal(mask, expected)


def test_circle_ring_and_filled() -> None:
    ring = rasterise(GraphicObject("CIRCLE", ((20.5, 20.5), (30.5, 20.5))), (41, 41))
    rows, cols = np.nonzero(ring)
    distance = np.hypot(rows + 0.5 - 20.5, cols + 0.5 - 20.5)
    assert np.all(np.abs(distance - 10) <= 1.0) and ring.sum() > 50
    disc = rasterise(GraphicObject("CIRCLE", ((20.5, 20.5), (30.5, 20.5)), filled=True), (41, 41))
    r, c = np.mgrid[0:41, 0:41]
    assert disc[np.hypot(r + 0.5 - 20.5, c + 0.5 - 20.5) < 9].all()
    assert not disc[np.hypot(r + 0.5 - 20.5, c + 0.5 - 20.5) > 11].any()


def test_ellipse_axes() -> None:
    mask = rasterise(GraphicObject("ELLIPSE", ((5.5, 10.5), (25.5, 10.5), (15.5, 6.5), (15.5, 14.5))), (21, 31))
    rows, cols = np.nonzero(mask)
    assert cols.min() == 5 and cols.max() == 25 and rows.min() == 6 and rows.max() == 14


def test_filled_polygon_matches_polygonal() -> None:
    pts = ((2.5, 2.5), (12.5, 2.5), (12.5, 9.5), (2.5, 2.5))
    filled = rasterise(GraphicObject("POLYLINE", pts, filled=True), (12, 16))
    inside = ~polygonal((12, 16), [(y + 0.5, x + 0.5) for x, y in pts])
    assert (filled | ~inside).all() and filled[inside].all()


def test_layers_by_reference_frame_and_order() -> None:
    stored = np.stack([ramp(16, 16, 0, 255, seed=i) for i in range(2)])
    img = image(stored, bits_allocated=8)
    line = _graphic("POLYLINE", [0.5, 0.5, 15.5, 0.5])
    point = _graphic("POINT", [4.5, 4.5])
    display = _graphic("POINT", [0.5, 0.5], units="DISPLAY")
    ps = _state(img, [("TOP", [line], None), ("BOTTOM", [point, display], [2])])
    first = annotation_layers(ps, img, 0)
    assert [la.name for la in first] == ["TOP"] and first[0].grey == 255
    second = annotation_layers(ps, img, 1)
    assert [la.name for la in second] == ["BOTTOM", "TOP"]  # lowest order drawn first
    assert second[0].texts[0].text == "note" and second[0].texts[0].anchor == (3.0, 4.0)
    assert second[0].mask((16, 16)).sum() == 1  # PIXEL units only; the DISPLAY point is in display_mask
    assert second[0].display_mask((16, 16))[8, 8]  # (0.5, 0.5) of a 16 x 16 displayed frame
    other = image(ramp(16, 16, 0, 255), bits_allocated=8)
    assert annotation_layers(ps, other, 0) == []


def test_render_draws_layers_over_pixels() -> None:
    img = image(ramp(16, 16, 0, 255), bits_allocated=8, WindowCenter=128, WindowWidth=256)
    ps = _state(img, [("BOTTOM", [_graphic("POLYLINE", [0.5, 8.5, 15.5, 8.5])], None)])
    rendered = render_frame(img, 0, ps)
    out = rendered.composite()
    assert (out[8] == 0).all() and not (rendered.pixels[8] == 0).all()
    np.testing.assert_array_equal(rendered.composite(annotations=False), rendered.pixels)


def test_filled_rotated_ellipse_against_its_foci() -> None:
    # major axis from (10, 10) to (40, 40) (half length a = 15*sqrt(2)), minor axis half length b = 8
    a, b = 15 * np.sqrt(2), 8.0
    d = b / np.sqrt(2)
    points = ((10.0, 10.0), (40.0, 40.0), (25.0 - d, 25.0 + d), (25.0 + d, 25.0 - d))
    mask = rasterise(GraphicObject("ELLIPSE", points, filled=True), (50, 50))
    focus = np.sqrt(a * a - b * b) / np.sqrt(2)
    f1, f2 = (25.0 - focus, 25.0 - focus), (25.0 + focus, 25.0 + focus)
    r, c = np.mgrid[0:50, 0:50] + 0.5
    distance = np.hypot(c - f1[0], r - f1[1]) + np.hypot(c - f2[0], r - f2[1])
    assert mask[distance < 2 * a - 1.5].all()  # well inside: filled
    assert not mask[distance > 2 * a + 1.5].any()  # well outside: untouched
    assert mask.sum() > 500 and mask[0:12, 38:50].sum() == 0  # filled; the corner away from it empty
