"""CIELab (DICOM PCS, D50) to sRGB, and the coloured display shutter (PS3.3 C.10.7.1.1, C.7.6.11).

The expected values are derived here independently of :mod:`app.imaging.cielab`: from the
IEC 61966-2-1 sRGB (D65) matrix and an explicit Bradford adaptation D65 -> D50, and from the
published sRGB red in D50 Lab (B. Lindbloom's tables: 54.2905, 80.8049, 69.8910).
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging.cielab import dicom_from_lab, dicom_lab_to_srgb, lab_from_dicom, lab_to_srgb, srgb_to_lab
from app.imaging.render import render_frame
from app.imaging.shutters import ShutterLayer, shutter_layer
from tests.unit.imaging.synth import image, ramp

SRGB_D65_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
D65 = np.array([0.95047, 1.0, 1.08883])
D50 = np.array([0.96422, 1.0, 0.82521])


def reference_lab(rgb: tuple[int, int, int]) -> np.ndarray:
    """sRGB -> XYZ (D65) -> Bradford to D50 -> CIE 1976 L*a*b*, written out from the definitions."""
    c = np.array(rgb, dtype=np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz65 = SRGB_D65_TO_XYZ @ linear
    cone = np.diag((BRADFORD @ D50) / (BRADFORD @ D65))
    xyz50 = np.linalg.inv(BRADFORD) @ cone @ BRADFORD @ xyz65
    t = xyz50 / D50
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_dicom_scaling() -> None:
    assert lab_from_dicom([0xFFFF, 0x8080, 0x8080]) == pytest.approx((100.0, 0.0, 0.0), abs=1e-9)
    assert lab_from_dicom([0, 0, 0xFFFF]) == pytest.approx((0.0, -128.0, 127.0))
    assert dicom_from_lab(100.0, 0.0, 0.0) == (0xFFFF, 0x8080, 0x8080)
    with pytest.raises(DicomInputError, match="three"):
        lab_from_dicom([1, 2])


def test_white_black_mid_grey() -> None:
    assert dicom_lab_to_srgb([0xFFFF, 0x8080, 0x8080]) == (255, 255, 255)
    assert dicom_lab_to_srgb([0, 0x8080, 0x8080]) == (0, 0, 0)
    y = ((50 + 16) / 116) ** 3  # L* = 50: relative luminance, the same for every illuminant
    grey = round((1.055 * y ** (1 / 2.4) - 0.055) * 255)
    assert grey == 119
    assert dicom_lab_to_srgb(dicom_from_lab(50.0, 0.0, 0.0)) == (grey, grey, grey)


@pytest.mark.parametrize("rgb", [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 200, 0), (40, 160, 120)])
def test_saturated_colours_against_independent_lab(rgb: tuple[int, int, int]) -> None:
    expected = reference_lab(rgb)
    assert np.allclose(srgb_to_lab(*rgb), expected, atol=0.05)
    back = dicom_lab_to_srgb(dicom_from_lab(*expected))
    assert max(abs(a - b) for a, b in zip(back, rgb, strict=True)) <= 1


def test_published_srgb_red() -> None:
    assert np.allclose(srgb_to_lab(255, 0, 0), (54.2905, 80.8049, 69.8910), atol=0.02)
    assert lab_to_srgb(54.2905, 80.8049, 69.8910) == (255, 0, 0)


def _shuttered_image(**attributes: object) -> Dataset:
    ds = image(ramp(20, 30, 0, 255), bits_allocated=8, WindowCenter=128, WindowWidth=256, ShutterShape="RECTANGULAR")
    ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = 4, 26
    ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = 3, 15
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def _shuttered(**attributes: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rendered = render_frame(_shuttered_image(**attributes))
    inside = np.zeros((20, 30), dtype=bool)
    inside[2:15, 3:26] = True  # rows 3..15, columns 4..26, 1-based inclusive
    return rendered.composite(), rendered.pixels, ~inside


def _shutter_of(**attributes: object) -> ShutterLayer:
    ds = _shuttered_image(**attributes)
    layer = render_frame(ds).shutter
    assert layer is not None
    return layer


def test_grey_image_with_coloured_shutter_renders_rgb() -> None:
    red = dicom_from_lab(*reference_lab((255, 0, 0)))
    out, pixels, outside = _shuttered(ShutterPresentationColorCIELabValue=list(red), ShutterPresentationValue=0)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    assert (out[outside] == (255, 0, 0)).all()
    for channel in range(3):  # the open part keeps the grey image
        np.testing.assert_array_equal(out[~outside, channel], pixels[~outside])
    layer = _shutter_of(ShutterPresentationColorCIELabValue=list(red), ShutterPresentationValue=0x8080)
    grey = layer.apply(pixels, colour=False)  # grey output (a grey printer): the shutter's grey value
    assert grey.ndim == 2 and (grey[outside] == 128).all()
    rgb = layer.apply(pixels, colour=True)
    assert rgb.shape == (20, 30, 3) and (rgb[outside] == (255, 0, 0)).all()


def test_grey_shutters_keep_grey_output() -> None:
    out, pixels, outside = _shuttered(ShutterPresentationValue=0xFFFF)
    assert out.ndim == 2 and (out[outside] == 255).all()
    np.testing.assert_array_equal(out[~outside], pixels[~outside])
    grey = list(dicom_from_lab(50.0, 0.0, 0.0))
    out, pixels, outside = _shuttered(ShutterPresentationColorCIELabValue=grey)  # a grey colour alone
    assert out.ndim == 2 and (out[outside] == 119).all()


def test_coloured_shutter_on_rgb_display() -> None:
    ds = image(ramp(8, 8, 0, 255), bits_allocated=8, ShutterShape="CIRCULAR")
    ds.CenterOfCircularShutter, ds.RadiusOfCircularShutter = [4, 4], 3
    blue = reference_lab((0, 0, 255))
    ds.ShutterPresentationColorCIELabValue = list(dicom_from_lab(*blue))
    layer = shutter_layer(ds, (8, 8))
    y = ((blue[0] + 16) / 116) ** 3  # without a Shutter Presentation Value, grey output shows the colour's L*
    assert layer is not None and layer.colour == (0, 0, 255)
    assert layer.value == round((1.055 * y ** (1 / 2.4) - 0.055) * 255)
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    out = layer.apply(rgb)
    assert (out[layer.mask] == (0, 0, 255)).all() and (out[~layer.mask] == 0).all()
