"""Mask subtraction (PS3.3 C.7.6.10, C.11.13) on synthetic multi-frame images; expected values by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging.mask_subtraction import mask_items, shifted, subtracted_frame
from app.imaging.pipeline import GreyPipeline
from app.imaging.render import render_frame
from app.imaging.voi_lut import Window
from tests.unit.imaging.synth import image, mask_item, state_of

FRAMES, ROWS, COLUMNS = 6, 9, 11


def _frames(bits: int = 12, signed: bool = False, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return rng.integers(lo, hi + 1, size=(FRAMES, ROWS, COLUMNS)).astype(np.int64)


def _image(
    stored: np.ndarray, *items: Dataset, mode: str | None = "SUB", bits: int = 12, signed: bool = False
) -> Dataset:
    ds = image(stored, bits_stored=bits, signed=signed)
    ds.MaskSubtractionSequence = list(items)
    if mode is not None:
        ds.RecommendedViewingMode = mode
    return ds


def test_avg_sub_mean_of_mask_frames() -> None:
    f = _frames()
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1, 2]))
    sub = subtracted_frame(ds, 3)  # frame number 4
    assert sub is not None
    expected = np.rint(f[3] - (f[0] + f[1]) / 2)
    np.testing.assert_array_equal(sub.values, expected)
    assert sub.bits_stored == 13 and sub.operation == "AVG_SUB"
    assert sub.mask_frames == (1, 2) and sub.contrast_frames == (4,)
    assert (sub.values < 0).any()  # negative differences are kept, not clipped


def test_contrast_frame_averaging_and_default_range() -> None:
    f = _frames()
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1, 2, 3], ContrastFrameAveraging=2))
    sub = subtracted_frame(ds, 4)  # frames 5 and 6 averaged
    assert sub is not None
    np.testing.assert_array_equal(sub.values, np.rint((f[4] + f[5]) / 2 - (f[0] + f[1] + f[2]) / 3))
    # the default range ends at frames - averaging + 1 = 5
    assert subtracted_frame(ds, 5) is None


def test_applicable_frame_ranges_pick_the_item() -> None:
    f = _frames()
    ds = _image(
        f,
        mask_item("AVG_SUB", MaskFrameNumbers=[1], ApplicableFrameRange=[2, 3]),
        mask_item("TID", TIDOffset=2, ApplicableFrameRange=[5, 6]),
    )
    assert subtracted_frame(ds, 0) is None and subtracted_frame(ds, 3) is None  # frames 1 and 4: in no range
    first, second = subtracted_frame(ds, 2), subtracted_frame(ds, 4)
    assert first is not None and second is not None
    np.testing.assert_array_equal(first.values, f[2] - f[0])
    np.testing.assert_array_equal(second.values, f[4] - f[2])
    assert second.operation == "TID" and second.mask_frames == (3,)


@pytest.mark.parametrize("offset", [2, -1])
def test_tid_default_range(offset: int) -> None:
    f = _frames()
    ds = _image(f, mask_item("TID", TIDOffset=offset))
    for index in range(FRAMES):
        mask = index + 1 - offset
        sub = subtracted_frame(ds, index)
        if 1 <= mask <= FRAMES:
            assert sub is not None
            np.testing.assert_array_equal(sub.values, f[index] - f[mask - 1])
        else:
            assert sub is None


def test_rev_tid() -> None:
    f = _frames()
    ds = _image(f, mask_item("REV_TID", TIDOffset=1, ApplicableFrameRange=[5, 6]))
    masks = {4: 5 - 1, 5: 6 - (1 + 2)}  # k-th frame of the range: TID Offset + 2k
    for index, mask in masks.items():
        sub = subtracted_frame(ds, index)
        assert sub is not None and sub.mask_frames == (mask,)
        np.testing.assert_array_equal(sub.values, f[index] - f[mask - 1])
    with pytest.raises(DicomInputError, match="Applicable Frame Range"):
        subtracted_frame(_image(f, mask_item("REV_TID", TIDOffset=1)), 4)


def _by_hand_shift(mask: np.ndarray, dr: float, dc: float) -> np.ndarray:
    """Bilinear sample of ``mask`` at (r - dr, c - dc), indices clamped to the frame: one pixel at a time."""
    rows, columns = mask.shape
    out = np.zeros(mask.shape)
    for r in range(rows):
        for c in range(columns):
            y, x = r - dr, c - dc
            y0, x0 = math.floor(y), math.floor(x)
            value = 0.0
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    value += wy * wx * mask[min(max(yy, 0), rows - 1), min(max(xx, 0), columns - 1)]
            out[r, c] = value
    return out


@pytest.mark.parametrize("shift", [(1.0, -2.0), (0.5, 0.0), (-0.25, 1.75)])
def test_sub_pixel_shift(shift: tuple[float, float]) -> None:
    f = _frames()
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1, 2], MaskSubPixelShift=list(shift)))
    sub = subtracted_frame(ds, 2)
    assert sub is not None
    mask = _by_hand_shift((f[0] + f[1]) / 2, *shift)
    np.testing.assert_array_equal(sub.values, np.rint(f[2] - mask))
    if shift == (1.0, -2.0):  # whole pixels: mask content moves one row down, two columns left
        moved = shifted(f[0].astype(float), shift)
        np.testing.assert_array_equal(moved[1:, :-2], f[0][:-1, 2:])


@pytest.mark.parametrize(("bits", "signed"), [(8, False), (12, False), (10, True), (16, True)])
def test_difference_range_is_indexable(bits: int, signed: bool) -> None:
    # contrast at the top and mask at the bottom of the stored range (and the reverse) give the
    # extreme differences +-(2**bits - 1); the pipeline of the subtracted frame indexes them exactly
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    f = np.full((2, 2, 2), lo, dtype=np.int64)
    f[1, 0, 0], f[0, 1, 1] = hi, hi
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1]), bits=bits, signed=signed)
    sub = subtracted_frame(ds, 1)
    assert sub is not None
    assert sub.values[0, 0] == 2**bits - 1 and sub.values[1, 1] == -(2**bits - 1)
    pipe = sub.pipeline(GreyPipeline.from_dataset(ds))
    assert pipe.range.bits_stored == bits + 1 and pipe.range.signed
    if not pipe.direct:
        np.testing.assert_array_equal(pipe.index(sub.values).astype(np.int64) + pipe.range.minimum, sub.values)
    out = pipe.render(pipe.index(sub.values), Window(0, 2 ** (bits + 1)))
    assert out[0, 0] == 255 and out[1, 1] == 0


def test_viewing_mode() -> None:
    f = _frames()
    item = mask_item("AVG_SUB", MaskFrameNumbers=[1])
    native = _image(f, item, mode=None)
    assert subtracted_frame(native, 2) is None  # no Recommended Viewing Mode: native
    assert subtracted_frame(native, 2, viewing_mode="SUB") is not None
    assert subtracted_frame(_image(f, item, mode="SUB"), 2, viewing_mode="NAT") is None
    assert subtracted_frame(_image(f, item, mode="NAT"), 2) is None


def test_state_mask_replaces_the_image_mask() -> None:
    f = _frames()
    plain = image(f, bits_stored=12)
    state = state_of(plain, mask_item("TID", TIDOffset=1))
    assert mask_items(plain, state)
    sub = subtracted_frame(plain, 3, state)
    assert sub is not None
    np.testing.assert_array_equal(sub.values, f[3] - f[2])
    # a state without a mask shows native frames, even when the image recommends SUB
    with_mask = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1]))
    assert subtracted_frame(with_mask, 3, state_of(with_mask)) is None


def _linear(x: np.ndarray, window: Window) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 LINEAR onto 0..255, written out."""
    c, w = window.center, window.width
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
    y = np.where(x <= c - 0.5 - (w - 1) / 2, 0, np.where(x > c - 0.5 + (w - 1) / 2, 255, y))
    return np.rint(y)


def test_render_frame_shows_the_subtraction() -> None:
    f = _frames(seed=5)
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1, 2]))
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    window = Window(-100, 3000)
    out = render_frame(ds, 3, window=window).pixels
    expected = _linear(2 * np.rint(f[3] - (f[0] + f[1]) / 2) - 100, window)
    assert np.abs(out.astype(int) - expected).max() <= 1
    ds.RecommendedViewingMode = "NAT"
    np.testing.assert_array_equal(render_frame(ds, 3, window=window).pixels, _linear(2 * f[3] - 100, window))
    ds.RecommendedViewingMode = "SUB"
    # under a state: its mask and its softcopy window
    plain = image(f, bits_stored=12)
    state = state_of(plain, mask_item("TID", TIDOffset=2), window=Window(0, 1000))
    shown = render_frame(plain, 4, presentation_state=state).pixels
    assert np.abs(shown.astype(int) - _linear((f[4] - f[2]).astype(float), Window(0, 1000))).max() <= 1
    # no window given: the default one comes from the subtracted values, not the native range
    default = render_frame(ds, 3).pixels
    assert default.min() < 20 and default.max() > 235


def test_errors() -> None:
    f = _frames()
    with pytest.raises(DicomInputError, match="Mask Operation"):
        subtracted_frame(_image(f, mask_item("MULTI_SUB")), 1)
    with pytest.raises(DicomInputError, match="frame 9"):
        subtracted_frame(_image(f, mask_item("AVG_SUB", MaskFrameNumbers=[9])), 1)
    with pytest.raises(DicomInputError, match="Mask Frame Numbers"):
        subtracted_frame(_image(f, mask_item("AVG_SUB")), 1)


def test_per_frame_pixel_shift_of_enhanced_images() -> None:
    # Frame Pixel Shift functional group (PS3.3 C.7.6.16.2.14): frame 3's own shift for item 7 wins
    f = _frames()
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1], SubtractionItemID=7, MaskSubPixelShift=[0.0, 1.0]))
    per_frame = []
    for index in range(FRAMES):
        other, ours = Dataset(), Dataset()
        other.SubtractionItemID, other.MaskSubPixelShift = 8, [5.0, 5.0]  # another mask item's shift
        ours.SubtractionItemID, ours.MaskSubPixelShift = 7, [float(index), 0.0]
        group = Dataset()
        group.FramePixelShiftSequence = [other, ours]
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    sub = subtracted_frame(ds, 2)
    assert sub is not None
    np.testing.assert_array_equal(sub.values, np.rint(f[2] - _by_hand_shift(f[0].astype(float), 2.0, 0.0)))
    del ds.PerFrameFunctionalGroupsSequence  # the item's own shift
    sub = subtracted_frame(ds, 2)
    assert sub is not None
    np.testing.assert_array_equal(sub.values, np.rint(f[2] - _by_hand_shift(f[0].astype(float), 0.0, 1.0)))


def test_cached_mask_follows_the_pixel_data() -> None:
    # the mask is kept between frames of one run; new Pixel Data (or another image) is never served a stale mask
    f, g = _frames(seed=1), _frames(seed=2)
    ds = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1, 2]))
    for index in (2, 3, 2):
        sub = subtracted_frame(ds, index)
        assert sub is not None
        np.testing.assert_array_equal(sub.values, np.rint(f[index] - (f[0] + f[1]) / 2))
    ds.PixelData = g.astype(np.uint16).tobytes()
    sub = subtracted_frame(ds, 3)
    assert sub is not None
    np.testing.assert_array_equal(sub.values, np.rint(g[3] - (g[0] + g[1]) / 2))
    other = _image(f, mask_item("AVG_SUB", MaskFrameNumbers=[1, 2]))
    other.PixelData = g.astype(np.uint16).tobytes()
    sub = subtracted_frame(other, 2)
    assert sub is not None
    np.testing.assert_array_equal(sub.values, np.rint(g[2] - (g[0] + g[1]) / 2))
