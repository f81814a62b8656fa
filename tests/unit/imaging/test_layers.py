"""Overlays, shutters and geometry as layers, against independently computed masks."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.overlays import get_overlay_array

from app.core.errors import DicomInputError
from app.imaging.frames import decode_frame
from app.imaging.overlays import combined_mask, overlay_layers, overlays_from
from app.imaging.pipeline import GreyPipeline
from app.imaging.shutters import ShutterLayer, circular, polygonal, rectangular, shutter_layer
from app.imaging.spatial import DisplayedArea, SpatialTransform
from tests.unit.imaging.synth import image, ramp


def _pack(bits: np.ndarray) -> bytes:
    flat = bits.astype(np.uint8).ravel()
    packed = np.packbits(flat, bitorder="little").tobytes()
    return packed + b"\0" * (len(packed) % 2)


def _add_overlay(ds: Dataset, group: int, plane: np.ndarray, origin: tuple[int, int] = (1, 1), **more: object) -> None:
    frames = 1 if plane.ndim == 2 else plane.shape[0]
    ds.add_new((group, 0x0010), "US", plane.shape[-2])
    ds.add_new((group, 0x0011), "US", plane.shape[-1])
    ds.add_new((group, 0x0040), "CS", "G")
    ds.add_new((group, 0x0050), "SS", list(origin))
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    if frames > 1:
        ds.add_new((group, 0x0015), "IS", frames)
    for element, (vr, value) in more.items():  # type: ignore[misc]
        ds.add_new((group, int(element, 16)), vr, value)
    ds.add_new((group, 0x3000), "OW", _pack(plane))


def _blob(rows: int, columns: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((rows, columns)) > 0.7


# -- overlays ----------------------------------------------------------------------------
def test_siemens_overlay_matches_pydicom() -> None:
    ds = dcmread(get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm", download=False))
    layers = overlay_layers(ds)
    assert [layer.group for layer in layers] == [0x6000]
    np.testing.assert_array_equal(layers[0].mask, get_overlay_array(ds, 0x6000).astype(bool))
    # never baked into the pixels: the grey rendering ignores the overlay
    stored, _ = decode_frame(ds)
    assert stored.max() < 2**12


def test_several_overlays_toggled_singly_or_all() -> None:
    ds = image(ramp(20, 30, 0, 255), bits_allocated=8)
    a, b = _blob(20, 30, 1), _blob(20, 30, 2)
    _add_overlay(ds, 0x6000, a)
    _add_overlay(ds, 0x6004, b)
    assert [o.group for o in overlays_from(ds)] == [0x6000, 0x6004]
    only_b = overlay_layers(ds, shown=[0x6004])
    assert len(only_b) == 1 and np.array_equal(only_b[0].mask, b)
    assert overlay_layers(ds, shown=[]) == []
    np.testing.assert_array_equal(combined_mask(overlay_layers(ds), (20, 30)), a | b)


@pytest.mark.parametrize("origin", [(1, 1), (5, 7), (-3, -4), (18, 25)])
def test_overlay_origin_offsets(origin: tuple[int, int]) -> None:
    ds = image(ramp(20, 30, 0, 255), bits_allocated=8)
    plane = _blob(8, 9, 3)
    _add_overlay(ds, 0x6002, plane, origin)
    expected = np.zeros((20, 30), dtype=bool)
    for r in range(8):
        for c in range(9):
            rr, cc = r + origin[0] - 1, c + origin[1] - 1
            if 0 <= rr < 20 and 0 <= cc < 30:
                expected[rr, cc] = plane[r, c]
    np.testing.assert_array_equal(overlay_layers(ds)[0].mask, expected)


def test_multiframe_overlay_with_frame_origin() -> None:
    stored = np.stack([ramp(10, 12, 0, 255, seed=i) for i in range(5)])
    ds = image(stored, bits_allocated=8)
    planes = np.stack([_blob(10, 12, 10 + i) for i in range(3)])
    _add_overlay(ds, 0x6000, planes, **{"0051": ("US", 2)})  # overlay frames on image frames 2..4
    for frame in range(5):
        mask = overlay_layers(ds, frame)[0].mask
        k = frame - 1
        np.testing.assert_array_equal(mask, planes[k] if 0 <= k < 3 else np.zeros((10, 12), bool))


def test_overlay_in_unused_high_bits() -> None:
    stored = ramp(16, 16, 0, 4095)
    bit = _blob(16, 16, 5)
    ds = image(stored, bits_stored=12)
    words = np.frombuffer(ds.PixelData, dtype=np.uint16) | (bit.ravel().astype(np.uint16) << 14)
    ds.PixelData = words.astype(np.uint16).tobytes()
    for element, vr, value in [(0x10, "US", 16), (0x11, "US", 16), (0x40, "CS", "G"), (0x50, "SS", [1, 1])]:
        ds.add_new((0x6000, element), vr, value)
    ds.add_new((0x6000, 0x0100), "US", 16)
    ds.add_new((0x6000, 0x0102), "US", 14)
    layers = overlay_layers(ds)
    np.testing.assert_array_equal(layers[0].mask, bit)
    arr, _ = decode_frame(ds)  # the grey pixels keep only Bits Stored
    np.testing.assert_array_equal(arr, stored)
    assert GreyPipeline.from_dataset(ds).render_stored(arr).shape == (16, 16)


# -- shutters ----------------------------------------------------------------------------
def _brute_rect(shape: tuple[int, int], left: int, right: int, upper: int, lower: int) -> np.ndarray:
    out = np.ones(shape, dtype=bool)
    for r in range(shape[0]):
        for c in range(shape[1]):
            if upper <= r + 1 <= lower and left <= c + 1 <= right:
                out[r, c] = False
    return out


def test_rectangular_shutter_with_value() -> None:
    ds = image(ramp(20, 30, 0, 255), bits_allocated=8, ShutterShape="RECTANGULAR")
    ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = 3, 25
    ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = 2, 17
    ds.ShutterPresentationValue = 65535
    layer = shutter_layer(ds, (20, 30))
    assert isinstance(layer, ShutterLayer) and layer.value == 255
    np.testing.assert_array_equal(layer.mask, _brute_rect((20, 30), 3, 25, 2, 17))
    grey = GreyPipeline.from_dataset(ds).render_stored(ramp(20, 30, 0, 255))
    shown = layer.apply(grey)
    assert (shown[layer.mask] == 255).all() and np.array_equal(shown[~layer.mask], grey[~layer.mask])
    assert not np.array_equal(grey, shown)  # the pixels themselves were not touched


def test_circular_shutter() -> None:
    mask = circular((21, 21), (11, 11), 5)
    r, c = np.mgrid[1:22, 1:22]
    np.testing.assert_array_equal(mask, np.hypot(r - 11, c - 11) > 5)
    assert not mask[10, 15] and mask[10, 16]


def test_polygonal_triangle_against_barycentric() -> None:
    shape = (30, 40)
    verts = [(3.0, 5.0), (25.0, 10.0), (12.0, 35.0)]
    mask = polygonal(shape, verts)
    (r1, c1), (r2, c2), (r3, c3) = verts
    r, c = np.mgrid[1 : shape[0] + 1, 1 : shape[1] + 1].astype(float)
    det = (r2 - r3) * (c1 - c3) + (c3 - c2) * (r1 - r3)
    l1 = ((r2 - r3) * (c - c3) + (c3 - c2) * (r - r3)) / det
    l2 = ((r3 - r1) * (c - c3) + (c1 - c3) * (r - r3)) / det
    l3 = 1 - l1 - l2
    eps = 1e-9
    strictly_in = (l1 > eps) & (l2 > eps) & (l3 > eps)
    strictly_out = (l1 < -eps) | (l2 < -eps) | (l3 < -eps)
    assert not mask[strictly_in].any() and mask[strictly_out].all()


def test_polygon_equal_to_rectangle() -> None:
    np.testing.assert_array_equal(
        polygonal((12, 12), [(2, 3), (2, 9), (10, 9), (10, 3)]), rectangular((12, 12), 3, 9, 2, 10)
    )


def test_combined_shutters_intersect() -> None:
    ds = Dataset()
    ds.ShutterShape = ["RECTANGULAR", "CIRCULAR", "POLYGONAL"]
    ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = 2, 18
    ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = 2, 18
    ds.CenterOfCircularShutter, ds.RadiusOfCircularShutter = [10, 10], 8
    ds.VerticesOfThePolygonalShutter = [1, 1, 1, 20, 15, 20, 15, 1]
    layer = shutter_layer(ds, (20, 20))
    assert layer is not None and layer.value == 0 and layer.shapes == ("RECTANGULAR", "CIRCULAR", "POLYGONAL")
    expected = (
        rectangular((20, 20), 2, 18, 2, 18) | circular((20, 20), (10, 10), 8) | rectangular((20, 20), 1, 20, 1, 15)
    )
    np.testing.assert_array_equal(layer.mask, expected)


def test_bitmap_shutter_from_overlay() -> None:
    ds = image(ramp(10, 10, 0, 255), bits_allocated=8, ShutterShape="BITMAP")
    plane = _blob(10, 10, 7)
    _add_overlay(ds, 0x6006, plane)
    ds.ShutterOverlayGroup = 0x6006
    ds.ShutterPresentationValue = 32768
    layer = shutter_layer(ds, (10, 10))
    assert layer is not None and layer.value == 128
    np.testing.assert_array_equal(layer.mask, plane)
    ds.ShutterOverlayGroup = 0x6008
    with pytest.raises(DicomInputError, match="6008"):
        shutter_layer(ds, (10, 10))


def test_no_shutter_and_incomplete_shutter() -> None:
    assert shutter_layer(Dataset(), (4, 4)) is None
    ds = Dataset()
    ds.ShutterShape = "CIRCULAR"
    with pytest.raises(DicomInputError, match="CIRCULAR"):
        shutter_layer(ds, (4, 4))


# -- geometry ----------------------------------------------------------------------------
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("flip", [False, True])
def test_spatial_transform(rotation: int, flip: bool) -> None:
    a = np.arange(12).reshape(3, 4)
    t = SpatialTransform(rotation, flip)
    out = t.apply(a)
    assert out.shape == t.shape((3, 4))
    # independent: rotate clockwise step by step, then flip, as the standard orders it
    expected = a
    for _ in range(rotation // 90):
        expected = expected.T[:, ::-1]  # one clockwise quarter turn
    expected = expected[:, ::-1] if flip else expected
    np.testing.assert_array_equal(out, expected)
    for r in range(3):
        for c in range(4):
            rr, cc = t.point(r, c, (3, 4))
            assert out[int(rr), int(cc)] == a[r, c]


def test_transform_from_dataset_and_masks() -> None:
    ds = Dataset()
    ds.ImageRotation, ds.ImageHorizontalFlip = 270, "Y"
    t = SpatialTransform.from_dataset(ds)
    assert t == SpatialTransform(270, True)
    mask = rectangular((4, 6), 1, 2, 1, 1)
    assert t.apply(mask).shape == (6, 4)
    with pytest.raises(DicomInputError):
        SpatialTransform(45)


def test_displayed_area_crop_and_pad() -> None:
    a = np.arange(1, 21).reshape(4, 5)
    area = DisplayedArea((2, 2), (4, 3))  # column\row
    np.testing.assert_array_equal(area.crop(a), a[1:3, 1:4])
    outside = DisplayedArea((0, 0), (6, 5)).crop(a, fill=-1)
    assert outside.shape == (6, 7) and (outside[0] == -1).all() and (outside[:, 0] == -1).all()
    np.testing.assert_array_equal(outside[1:5, 1:6], a)


def test_displayed_area_scale_modes() -> None:
    item = Dataset()
    item.DisplayedAreaTopLeftHandCorner, item.DisplayedAreaBottomRightHandCorner = [1, 1], [200, 100]
    item.PresentationSizeMode = "SCALE TO FIT"
    assert DisplayedArea.from_item(item, (100, 200)).scale((400, 400)) == 2.0
    item.PresentationSizeMode, item.PresentationPixelMagnificationRatio = "MAGNIFY", 3.0
    assert DisplayedArea.from_item(item, (100, 200)).scale((400, 400)) == 3.0
    item.PresentationSizeMode, item.PresentationPixelSpacing = "TRUE SIZE", [0.5, 0.5]
    assert DisplayedArea.from_item(item, (100, 200)).scale((400, 400), screen_pixel_mm=0.25) == 2.0
    assert DisplayedArea.whole((100, 200)).bottom_right == (200, 100)
