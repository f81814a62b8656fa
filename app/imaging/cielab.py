"""DICOM CIELab colours to and from sRGB (PS3.3 C.10.7.1.1).

DICOM encodes a colour (Shutter Presentation Color CIELab Value (0018,1624), Graphic Layer
Recommended Display CIELab Value (0070,0401), ...) as three US values: L* scaled from 0..100
to 0..FFFFH, a* and b* shifted by +128 and scaled from 0..255 to 0..FFFFH (so 0 is 8080H).
These are PCS values of the ICC Profile Connection Space, whose illuminant is D50. sRGB
(IEC 61966-2-1) is defined for D65, so the conversion goes Lab -> XYZ (D50) -> linear sRGB
through the Bradford-adapted sRGB matrix (the one the ICC sRGB profiles use) -> sRGB transfer
curve. highdicom's own converter takes Lab relative to D65, which is not what DICOM says.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.core.errors import DicomInputError

#: The D50 white of the ICC PCS (X, Y, Z).
D50_WHITE = np.array([0.96422, 1.0, 0.82521])

#: Linear sRGB -> XYZ (D50), Bradford-adapted from the D65 sRGB primaries (IEC 61966-2-1).
RGB_TO_XYZ_D50 = np.array(
    [
        [0.4360747, 0.3850649, 0.1430804],
        [0.2225045, 0.7168786, 0.0606169],
        [0.0139322, 0.0971045, 0.7141733],
    ]
)
XYZ_D50_TO_RGB = np.linalg.inv(RGB_TO_XYZ_D50)

_EPSILON = 6.0 / 29.0  # CIE 1976 threshold of the cube-root segment


def lab_from_dicom(value: Sequence[int]) -> tuple[float, float, float]:
    """L*, a*, b* of a DICOM-scaled CIELab triplet (PS3.3 C.10.7.1.1)."""
    if len(value) != 3:
        raise DicomInputError(f"A CIELab value needs three numbers (L*\\a*\\b*), got {len(value)}.")
    l_, a, b = (int(v) for v in value)
    if not all(0 <= v <= 0xFFFF for v in (l_, a, b)):
        raise DicomInputError(f"CIELab values must lie in 0..65535, got {l_}\\{a}\\{b} (PS3.3 C.10.7.1.1).")
    return l_ / 65535.0 * 100.0, a / 65535.0 * 255.0 - 128.0, b / 65535.0 * 255.0 - 128.0


def dicom_from_lab(l_star: float, a_star: float, b_star: float) -> tuple[int, int, int]:
    """The DICOM-scaled triplet (three US values) of L*, a*, b* (PS3.3 C.10.7.1.1)."""

    def scale(x: float, lo: float, span: float) -> int:
        return int(np.clip(round((x - lo) / span * 65535.0), 0, 65535))

    return scale(l_star, 0.0, 100.0), scale(a_star, -128.0, 255.0), scale(b_star, -128.0, 255.0)


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _srgb_decode(encoded: np.ndarray) -> np.ndarray:
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)


def lab_to_srgb(l_star: float, a_star: float, b_star: float) -> tuple[int, int, int]:
    """8-bit sRGB of a CIELab (D50) colour; colours outside the sRGB gamut are clipped."""
    fy = (l_star + 16.0) / 116.0
    f = np.array([fy + a_star / 500.0, fy, fy - b_star / 200.0])
    xyz = np.where(f > _EPSILON, f**3, 3 * _EPSILON**2 * (f - 4.0 / 29.0)) * D50_WHITE
    rgb = np.rint(_srgb_encode(XYZ_D50_TO_RGB @ xyz) * 255.0).astype(int)
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def srgb_to_lab(red: int, green: int, blue: int) -> tuple[float, float, float]:
    """CIELab (D50) of an 8-bit sRGB colour."""
    rgb = _srgb_decode(np.array([red, green, blue], dtype=np.float64) / 255.0)
    t = (RGB_TO_XYZ_D50 @ rgb) / D50_WHITE
    f = np.where(t > _EPSILON**3, np.cbrt(t), t / (3 * _EPSILON**2) + 4.0 / 29.0)
    return float(116.0 * f[1] - 16.0), float(500.0 * (f[0] - f[1])), float(200.0 * (f[1] - f[2]))


def dicom_lab_to_srgb(value: Sequence[int]) -> tuple[int, int, int]:
    """8-bit sRGB of a DICOM-scaled CIELab triplet (e.g. Shutter Presentation Color CIELab Value)."""
    return lab_to_srgb(*lab_from_dicom(value))


def srgb_to_dicom_lab(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The DICOM-scaled CIELab triplet of an 8-bit sRGB colour."""
    return dicom_from_lab(*srgb_to_lab(*rgb))
