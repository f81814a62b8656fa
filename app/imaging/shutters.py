"""Display shutters as a layer: a bool mask of the shuttered pixels and their grey value.

PS3.3 C.7.6.11 (Display Shutter Module) and C.7.6.15 (Bitmap Display Shutter Module):
Shutter Shape (0018,1600) lists one or more of RECTANGULAR, CIRCULAR, POLYGONAL (in the
image or a presentation state) and BITMAP (presentation state only, an overlay group named by
Shutter Overlay Group (0018,1623)). With several shapes, only the pixels inside all of them
are seen. Coordinates are 1-based row/column of the image pixel matrix. The shuttered area
shows Shutter Presentation Value (0018,1622), a P-value 0..FFFFH (default black), or on a
colour display Shutter Presentation Color CIELab Value (0018,1624) (PS3.3 C.10.7.1.1, converted
to sRGB by :mod:`app.imaging.cielab`): a grey image under a coloured shutter is shown as RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from app.core.errors import DicomInputError
from app.imaging.cielab import dicom_lab_to_srgb
from app.imaging.overlays import overlays_from


@dataclass(frozen=True, eq=False)
class ShutterLayer:
    """The shuttered pixels (``mask`` True), the grey they show (``value``, uint8) and, when the
    shutter has a CIELab colour, its sRGB ``colour``."""

    mask: np.ndarray
    value: int
    shapes: tuple[str, ...]
    colour: tuple[int, int, int] | None = None

    @property
    def coloured(self) -> bool:
        """True when the shutter has a colour that is not a grey (it then needs an RGB display)."""
        return self.colour is not None and len(set(self.colour)) > 1

    def apply(self, display: np.ndarray, colour: bool | None = None) -> np.ndarray:
        """A copy of uint8 display pixels (grey or RGB) with the shutter drawn (for export/print).

        Parameters
        ----------
        colour
            None: a grey image under a coloured shutter comes back as RGB, otherwise the shape
            is kept. False: grey output, the shutter drawn with its grey ``value`` (a grey
            image stays grey). True: RGB output, the shutter in its colour (else its grey).
        """
        if colour is False and display.ndim == 2:
            out = display.copy()
            out[self.mask] = self.value
            return out
        to_rgb = display.ndim == 2 and (colour is True or (colour is None and self.coloured))
        out = np.repeat(display[:, :, None], 3, axis=2) if to_rgb else display.copy()
        if self.colour is not None and out.ndim == 3:
            out[self.mask] = self.colour
        else:
            out[self.mask] = self.value
        return out


def rectangular(shape: tuple[int, int], left: int, right: int, upper: int, lower: int) -> np.ndarray:
    """Pixels outside the open rectangle: columns ``left..right``, rows ``upper..lower`` (1-based, inclusive)."""
    rows = np.arange(1, shape[0] + 1)[:, None]
    cols = np.arange(1, shape[1] + 1)[None, :]
    inside = (rows >= upper) & (rows <= lower) & (cols >= left) & (cols <= right)
    return ~inside


def circular(shape: tuple[int, int], center: tuple[float, float], radius: float) -> np.ndarray:
    """Pixels outside the open circle (``center`` = 1-based row, column; distance <= radius is open)."""
    rows = np.arange(1, shape[0] + 1, dtype=np.float64)[:, None]
    cols = np.arange(1, shape[1] + 1, dtype=np.float64)[None, :]
    inside = (rows - center[0]) ** 2 + (cols - center[1]) ** 2 <= radius**2
    return ~inside


def polygonal(shape: tuple[int, int], vertices: list[tuple[float, float]]) -> np.ndarray:
    """Pixels outside the open polygon (vertices as 1-based row, column; pixels on an edge are open).

    Even-odd rule on the pixel positions, plus the pixels lying on an edge.
    """
    rows = np.arange(1, shape[0] + 1, dtype=np.float64)[:, None]
    cols = np.arange(1, shape[1] + 1, dtype=np.float64)[None, :]
    inside = np.zeros(shape, dtype=bool)
    on_edge = np.zeros(shape, dtype=bool)
    n = len(vertices)
    for i in range(n):
        (r1, c1), (r2, c2) = vertices[i], vertices[(i + 1) % n]
        if r1 != r2:
            straddle = (r1 > rows) != (r2 > rows)
            crossing = c1 + (rows - r1) * (c2 - c1) / (r2 - r1)
            inside ^= straddle & (cols < crossing)
        cross = (r2 - r1) * (cols - c1) - (c2 - c1) * (rows - r1)
        within = (
            (np.minimum(r1, r2) <= rows)
            & (rows <= np.maximum(r1, r2))
            & (np.minimum(c1, c2) <= cols)
            & (cols <= np.maximum(c1, c2))
        )
        on_edge |= (np.abs(cross) < 1e-9) & within
    return ~(inside | on_edge)


def _ints(value: object) -> list[int]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [int(float(value))]
    return [int(float(v)) for v in value]  # type: ignore[attr-defined]


def shutter_layer(
    ds: Dataset, shape: tuple[int, int], image: Dataset | None = None, image_frame: int = 0
) -> ShutterLayer | None:
    """The shutter layer described by ``ds`` (an image or a presentation state), or None.

    Parameters
    ----------
    ds
        Holds the Display Shutter / Bitmap Display Shutter attributes.
    shape
        Rows and columns of the image.
    image
        For a BITMAP shutter: the data set holding its overlay group (default ``ds``; a
        presentation state carries the overlay itself, PS3.3 C.7.6.15).
    image_frame
        0-based image frame (a multi-frame bitmap overlay).
    """
    shapes = tuple(str(s).strip().upper() for s in _as_list(ds.get("ShutterShape")))
    if not shapes:
        return None
    mask = np.zeros(shape, dtype=bool)
    for kind in shapes:
        if kind == "RECTANGULAR":
            left = _ints(ds.get("ShutterLeftVerticalEdge"))
            right = _ints(ds.get("ShutterRightVerticalEdge"))
            upper = _ints(ds.get("ShutterUpperHorizontalEdge"))
            lower = _ints(ds.get("ShutterLowerHorizontalEdge"))
            if not (left and right and upper and lower):
                raise _missing("RECTANGULAR", "the four Shutter ... Edge attributes (0018,1602-1608)")
            mask |= rectangular(shape, left[0], right[0], upper[0], lower[0])
        elif kind == "CIRCULAR":
            center = _ints(ds.get("CenterOfCircularShutter"))
            radius = _ints(ds.get("RadiusOfCircularShutter"))
            if len(center) != 2 or not radius:
                raise _missing("CIRCULAR", "Center of Circular Shutter (0018,1610) and its Radius (0018,1612)")
            mask |= circular(shape, (center[0], center[1]), radius[0])
        elif kind == "POLYGONAL":
            v = _ints(ds.get("VerticesOfThePolygonalShutter"))
            if len(v) < 6 or len(v) % 2:
                raise _missing("POLYGONAL", "at least three row\\column pairs in (0018,1620)")
            mask |= polygonal(shape, [(v[i], v[i + 1]) for i in range(0, len(v), 2)])
        elif kind == "BITMAP":
            mask |= _bitmap(ds, shape, image if image is not None else ds, image_frame)
        else:
            raise DicomInputError(f"Shutter Shape {kind!r} is not RECTANGULAR, CIRCULAR, POLYGONAL or BITMAP.")
    lab = ds.get("ShutterPresentationColorCIELabValue")
    colour = dicom_lab_to_srgb([int(v) for v in lab]) if lab not in (None, "") else None
    value = ds.get("ShutterPresentationValue")
    if value not in (None, ""):
        grey = round(int(value) / 65535 * 255)
    elif lab not in (None, ""):  # a colour only (PS3.3 C.11.12): on grey output, the grey of its L*
        grey = dicom_lab_to_srgb([int(lab[0]), 0x8080, 0x8080])[0]
    else:  # the default, black
        grey = 0
    return ShutterLayer(mask=mask, value=grey, shapes=shapes, colour=colour)


def _bitmap(ds: Dataset, shape: tuple[int, int], holder: Dataset, image_frame: int) -> np.ndarray:
    group = ds.get("ShutterOverlayGroup")
    if group in (None, ""):
        raise _missing("BITMAP", "Shutter Overlay Group (0018,1623)")
    for overlay in overlays_from(holder):
        if overlay.group == int(group):
            # PS3.3 C.7.6.15.1.1: the overlay's set bits are the shuttered pixels
            return overlay.mask(shape, image_frame)
    raise DicomInputError(f"The bitmap shutter names overlay group {int(group):04X}, which is not present.")


def _as_list(value: object) -> list[object]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v for v in value.split("\\") if v]
    return list(value)  # type: ignore[call-overload]


def _missing(kind: str, what: str) -> DicomInputError:
    return DicomInputError(f"A {kind} shutter needs {what} (PS3.3 C.7.6.11); the shutter cannot be drawn.")
