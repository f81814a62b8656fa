"""Text objects and DISPLAY-unit graphics burnt into the composite, against geometry computed here.

The image is a flat black frame, so every pixel that is not black was drawn by a layer. The
expected places are computed independently of the code under test: box and area masks are
built in image pixels and turned with ``np.rot90`` / flipped with slicing, DISPLAY positions
are fractions of the output's own shape.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import GrayscaleSoftcopyPresentationStateStorage

from app.imaging.render import render_frame
from app.imaging.text_layer import MIN_SIZE
from tests.unit.imaging.synth import image

ROWS, COLUMNS = 200, 260


def _black() -> Dataset:
    return image(np.zeros((ROWS, COLUMNS), dtype=np.int64), bits_allocated=8, WindowCenter=128, WindowWidth=256)


def _state(
    img: Dataset,
    layers: list[tuple[str, int, int]],
    items: list[tuple[str, list[Dataset], list[Dataset]]],
    rotation: int = 0,
    flip: bool = False,
    area: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> Dataset:
    ps = Dataset()
    ps.SOPClassUID = GrayscaleSoftcopyPresentationStateStorage
    ps.PresentationLUTShape = "IDENTITY"
    ps.ImageRotation, ps.ImageHorizontalFlip = rotation, "Y" if flip else "N"
    if area is not None:
        selection = Dataset()
        selection.DisplayedAreaTopLeftHandCorner = list(area[0])
        selection.DisplayedAreaBottomRightHandCorner = list(area[1])
        selection.PresentationSizeMode = "SCALE TO FIT"
        ps.DisplayedAreaSelectionSequence = Sequence([selection])
    ps.GraphicLayerSequence = Sequence()
    for name, order, grey in layers:
        layer = Dataset()
        layer.GraphicLayer, layer.GraphicLayerOrder = name, order
        layer.GraphicLayerRecommendedDisplayGrayscaleValue = grey
        ps.GraphicLayerSequence.append(layer)
    ps.GraphicAnnotationSequence = Sequence()
    for name, graphics, texts in items:
        item = Dataset()
        item.GraphicLayer = name
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = img.SOPClassUID, img.SOPInstanceUID
        item.ReferencedImageSequence = Sequence([ref])
        if graphics:
            item.GraphicObjectSequence = Sequence(graphics)
        if texts:
            item.TextObjectSequence = Sequence(texts)
        ps.GraphicAnnotationSequence.append(item)
    return ps


def _graphic(kind: str, data: list[float], units: str) -> Dataset:
    g = Dataset()
    g.GraphicAnnotationUnits, g.GraphicDimensions = units, 2
    g.NumberOfGraphicPoints, g.GraphicData = len(data) // 2, data
    g.GraphicType, g.GraphicFilled = kind, "N"
    return g


def _text(
    value: str,
    box: tuple[list[float], list[float]] | None = None,
    anchor: list[float] | None = None,
    justification: str = "LEFT",
    units: str = "PIXEL",
    visible: bool = False,
) -> Dataset:
    t = Dataset()
    t.UnformattedTextValue = value
    if box is not None:
        t.BoundingBoxAnnotationUnits = units
        t.BoundingBoxTopLeftHandCorner, t.BoundingBoxBottomRightHandCorner = box
        t.BoundingBoxTextHorizontalJustification = justification
    if anchor is not None:
        t.AnchorPointAnnotationUnits = units
        t.AnchorPoint = anchor
        t.AnchorPointVisibility = "Y" if visible else "N"
    return t


def _turn(mask: np.ndarray, rotation: int, flip: bool) -> np.ndarray:
    """Clockwise quarter turns by transposing and mirroring, then the horizontal flip."""
    for _ in range(rotation // 90):
        mask = mask.T[:, ::-1]
    return mask[:, ::-1] if flip else mask


def _box_mask(left: float, top: float, right: float, bottom: float) -> np.ndarray:
    """Image pixels whose centre lies in the box (column/row pixel coordinates, corner at 0.0)."""
    r, c = np.mgrid[0:ROWS, 0:COLUMNS] + 0.5
    return (c >= left) & (c <= right) & (r >= top) & (r <= bottom)


# -- text in a bounding box ---------------------------------------------------------------
@pytest.mark.parametrize(("rotation", "flip"), [(0, False), (90, False), (180, True), (270, False)])
@pytest.mark.parametrize("justification", ["LEFT", "CENTER", "RIGHT"])
def test_text_stays_in_its_box(rotation: int, flip: bool, justification: str) -> None:
    img = _black()
    box = ([30.0, 40.0], [230.0, 150.0])
    ps = _state(
        img,
        [("T", 1, 65535)],
        [("T", [], [_text("Fracture", box, justification=justification)])],
        rotation,
        flip,
    )
    out = render_frame(img, 0, ps).composite()
    allowed = _turn(_box_mask(30, 40, 230, 150), rotation, flip)
    assert out.shape == allowed.shape
    ink = out > 0
    assert ink.sum() > 200, "the text was not drawn"
    assert not ink[~allowed].any(), "text outside its bounding box"
    cols = np.nonzero(allowed)[1]
    ink_cols = np.nonzero(ink.any(axis=0))[0]
    slack = 6  # side bearing of the glyphs
    if justification == "LEFT":
        assert ink_cols.min() - cols.min() <= slack
    elif justification == "RIGHT":
        assert cols.max() - ink_cols.max() <= slack
    else:
        assert abs((ink_cols.min() + ink_cols.max()) / 2 - (cols.min() + cols.max()) / 2) <= slack / 2
    if justification != "CENTER":  # the box is wider than the word: the other side is empty
        assert (ink_cols.max() - ink_cols.min()) < (cols.max() - cols.min()) - 2 * slack


def test_text_wraps_and_fits_a_narrow_box_legibly() -> None:
    img = _black()
    box = ([10.0, 10.0], [70.0, 190.0])
    ps = _state(img, [("T", 1, 65535)], [("T", [], [_text("left lower lobe nodule", box)])])
    out = render_frame(img, 0, ps).composite()
    ink = out > 0
    assert not ink[~_box_mask(10, 10, 70, 190)].any()
    ink_rows = np.nonzero(ink.any(axis=1))[0]
    # several lines, since the words do not fit side by side
    gaps = np.diff(ink_rows)
    assert (gaps > 1).sum() >= 2, "expected the text on at least three lines"
    # letters at least MIN_SIZE high: the tallest run of inked rows is a line of text
    runs = np.split(ink_rows, np.nonzero(gaps > 1)[0] + 1)
    assert max(len(run) for run in runs) >= MIN_SIZE * 0.6


def test_text_size_follows_the_frame_not_only_the_box() -> None:
    img = _black()
    box = ([0.0, 0.0], [260.0, 200.0])  # the whole image: the text must not become giant
    ps = _state(img, [("T", 1, 65535)], [("T", [], [_text("A", box)])])
    ink_rows = np.nonzero((render_frame(img, 0, ps).composite() > 0).any(axis=1))[0]
    height = ink_rows.max() - ink_rows.min() + 1
    assert MIN_SIZE * 0.6 <= height <= ROWS / 16 + 2


# -- anchor points ----------------------------------------------------------------------
def _reaches(ink: np.ndarray, start: tuple[int, int], goal: np.ndarray) -> bool:
    """True when an 8-connected path of inked pixels leads from ``start`` to a ``goal`` pixel."""
    seen = np.zeros_like(ink)
    todo = deque([start])
    seen[start] = True
    while todo:
        r, c = todo.popleft()
        if goal[r, c]:
            return True
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                if 0 <= rr < ink.shape[0] and 0 <= cc < ink.shape[1] and ink[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    todo.append((rr, cc))
    return False


@pytest.mark.parametrize("rotation", [0, 90])
def test_visible_anchor_line_joins_box_and_anchor(rotation: int) -> None:
    img = _black()
    box, anchor = ([20.0, 20.0], [120.0, 60.0]), [200.5, 160.5]
    ps = _state(img, [("T", 1, 65535)], [("T", [], [_text("Cyst", box, anchor, visible=True)])], rotation)
    ink = render_frame(img, 0, ps).composite() > 0
    inside = _turn(_box_mask(20, 20, 120, 60), rotation, False)
    anchor_mask = np.zeros((ROWS, COLUMNS), dtype=bool)
    anchor_mask[160, 200] = True
    (ar,), (ac,) = np.nonzero(_turn(anchor_mask, rotation, False))
    assert ink[ar, ac], "the line does not reach the anchor"
    touching_box = np.zeros_like(inside)  # the box and its one-pixel rim
    r, c = np.nonzero(inside)
    touching_box[max(r.min() - 1, 0) : r.max() + 2, max(c.min() - 1, 0) : c.max() + 2] = True
    assert _reaches(ink, (ar, ac), touching_box)
    # and nothing else outside the box: a thin line, about one pixel per step along its longer side
    rr, cc = np.nonzero(ink & ~inside)
    assert rr.size <= 2 * max(np.ptp(rr), np.ptp(cc)) + 4

    ps_hidden = _state(img, [("T", 1, 65535)], [("T", [], [_text("Cyst", box, anchor, visible=False)])], rotation)
    hidden = render_frame(img, 0, ps_hidden).composite() > 0
    assert not hidden[~inside].any()


def test_anchor_only_text_lies_beside_the_anchor_inside_the_frame() -> None:
    img = _black()
    for anchor in ([50.0, 50.0], [255.0, 195.0]):  # near the top left, and in the bottom right corner
        ps = _state(img, [("T", 1, 65535)], [("T", [], [_text("Liver", anchor=anchor)])])
        ink = render_frame(img, 0, ps).composite() > 0
        rows, cols = np.nonzero(ink)
        assert rows.size > 30
        centre = (rows.mean(), cols.mean())
        assert np.hypot(centre[0] - anchor[1], centre[1] - anchor[0]) < ROWS / 8


# -- DISPLAY-unit graphics --------------------------------------------------------------
@pytest.mark.parametrize(("rotation", "flip"), [(0, False), (90, False), (270, True)])
def test_display_graphics_follow_the_displayed_area_as_shown(rotation: int, flip: bool) -> None:
    img = _black()
    area = ((41, 21), (240, 120))  # columns 41..240, rows 21..120: 100 rows x 200 columns
    line = _graphic("POLYLINE", [0.1, 0.25, 0.9, 0.25], "DISPLAY")
    pixel = _graphic("POLYLINE", [60.5, 100.5, 60.5, 100.5], "PIXEL")  # one image pixel: row 100, column 60
    ps = _state(img, [("G", 1, 65535)], [("G", [line, pixel], [])], rotation, flip, area)
    out = render_frame(img, 0, ps).composite()
    rows, columns = (200, 100) if rotation in (90, 270) else (100, 200)
    assert out.shape == (rows, columns)
    expected = np.zeros((rows, columns), dtype=bool)
    expected[int(0.25 * rows), int(0.1 * columns) : int(0.9 * columns) + 1] = True
    image_pixel = np.zeros((ROWS, COLUMNS), dtype=bool)
    image_pixel[100, 60] = True
    expected |= _turn(image_pixel[20:120, 40:240], rotation, flip)
    np.testing.assert_array_equal(out > 0, expected)


def test_display_graphics_in_the_middle_of_a_padded_area() -> None:
    img = _black()
    area = ((-39, 1), (300, 200))  # 340 columns: the image with 40 padding columns on each side
    cross = _graphic("POLYLINE", [0.5, 0.0, 0.5, 1.0], "DISPLAY")
    ps = _state(img, [("G", 1, 65535)], [("G", [cross], [])], area=area)
    out = render_frame(img, 0, ps).composite()
    assert out.shape == (200, 340)
    assert np.array_equal(np.nonzero((out > 0).any(axis=0))[0], [170])


# -- layer order and colour ---------------------------------------------------------------
@pytest.mark.parametrize(("low", "high"), [("A", "B"), ("B", "A")])
def test_layer_order_decides_what_is_on_top(low: str, high: str) -> None:
    img = _black()
    greys = {"A": 100 * 257, "B": 200 * 257}
    horizontal = _graphic("POLYLINE", [0.0, 0.5, 1.0, 0.5], "DISPLAY")  # row 100
    vertical = _graphic("POLYLINE", [130.5, 0.5, 130.5, 199.5], "PIXEL")  # column 130
    layers = [(low, 1, greys[low]), (high, 2, greys[high])]
    ps = _state(img, layers, [("A", [horizontal], []), ("B", [vertical], [])])
    out = render_frame(img, 0, ps).composite()
    assert out[100, 10] == 100 and out[10, 130] == 200
    assert out[100, 130] == greys[high] // 257


def test_recommended_colour_on_colour_output_grey_otherwise() -> None:
    img = _black()
    ps = _state(img, [("C", 1, 0)], [("C", [_graphic("POLYLINE", [0.0, 0.5, 1.0, 0.5], "DISPLAY")], [])])
    del ps.GraphicLayerSequence[0].GraphicLayerRecommendedDisplayGrayscaleValue
    # sRGB red is L* 54.29, a* 80.80, b* 69.89 in CIELab D50 (the DICOM PCS), scaled as PS3.3 C.10.7.1.1 says
    l_star, a_star, b_star = 54.29, 80.80, 69.89
    lab = [round(l_star / 100 * 65535), round((a_star + 128) / 255 * 65535), round((b_star + 128) / 255 * 65535)]
    ps.GraphicLayerSequence[0].GraphicLayerRecommendedDisplayCIELabValue = lab
    rendered = render_frame(img, 0, ps)
    rgb = rendered.composite(colour=True)
    assert rgb.shape == (ROWS, COLUMNS, 3)
    red, green, blue = (int(v) for v in rgb[100, 50])
    assert red >= 250 and green <= 5 and blue <= 5
    assert (rgb[10, 50] == 0).all()  # the image itself stays grey
    grey = rendered.composite()
    # on grey output the layer shows the grey of its lightness: sRGB of Y = ((L* + 16) / 116) ** 3
    y = ((l_star + 16) / 116) ** 3
    expected = 255 * (1.055 * y ** (1 / 2.4) - 0.055)
    assert grey.ndim == 2 and abs(int(grey[100, 50]) - expected) <= 1.5


@pytest.mark.parametrize(("rotation", "flip"), [(0, False), (90, True)])
def test_display_unit_text_box_is_not_turned(rotation: int, flip: bool) -> None:
    img = _black()
    box = ([0.1, 0.6], [0.7, 0.9])
    ps = _state(img, [("T", 1, 65535)], [("T", [], [_text("Report", box, units="DISPLAY")])], rotation, flip)
    out = render_frame(img, 0, ps).composite()
    rows, columns = out.shape
    assert (rows, columns) == ((COLUMNS, ROWS) if rotation == 90 else (ROWS, COLUMNS))
    r, c = np.mgrid[0:rows, 0:columns] + 0.5  # pixel centres in the displayed frame
    allowed = (c >= 0.1 * columns) & (c <= 0.7 * columns) & (r >= 0.6 * rows) & (r <= 0.9 * rows)
    ink = out > 0
    assert ink.sum() > 100 and not ink[~allowed].any()
    # upright, left justified: the ink starts at the box's left edge
    assert np.nonzero(ink.any(axis=0))[0].min() - 0.1 * columns <= 6
