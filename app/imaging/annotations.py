"""Graphic annotations of a presentation state as layers (PS3.3 C.10.5, C.10.7).

Graphic Annotation Sequence (0070,0001) items reference images (and frames) and a Graphic
Layer (0070,0002); Graphic Layer Sequence (0070,0060) gives each layer its order (drawn
lowest first) and recommended grey. Graphic objects (POINT, POLYLINE, INTERPOLATED, CIRCLE,
ELLIPSE, optionally filled) are rasterised here as bool masks: in PIXEL units over the image
(coordinates are column\\row with the image's top left corner at 0.0, so pixel (r, c)
covers [c, c+1) x [r, r+1)), in DISPLAY units (0..1 of the displayed area as shown) over the
displayed frame (:meth:`AnnotationLayer.display_mask`). Text objects are drawn by
:mod:`app.imaging.text_layer`; :mod:`app.imaging.burn_in` puts it all together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

from app.imaging.cielab import dicom_lab_to_srgb
from app.imaging.presentation_state import references_frame
from app.imaging.shutters import polygonal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphicObject:
    """One graphic object (PS3.3 C.10.5.1.2); ``points`` as (column, row) pairs."""

    graphic_type: str
    points: tuple[tuple[float, float], ...]
    units: str = "PIXEL"
    filled: bool = False


Justification = Literal["LEFT", "RIGHT", "CENTER"]


@dataclass(frozen=True)
class TextObject:
    """One text object (PS3.3 C.10.5.1.1): text, optional bounding box and anchor point.

    Points are (column, row) pairs in ``box_units`` / ``anchor_units`` (PIXEL or DISPLAY);
    ``justification`` is Bounding Box Text Horizontal Justification (0070,0012).
    """

    text: str
    box_units: str = "PIXEL"
    bounding_box: tuple[tuple[float, float], tuple[float, float]] | None = None
    anchor: tuple[float, float] | None = None
    anchor_visible: bool = False
    anchor_units: str = "PIXEL"
    justification: Justification = "LEFT"


@dataclass
class AnnotationLayer:
    """A graphic layer with the objects that apply to one frame, in drawing order."""

    name: str
    order: int
    grey: int  # recommended display grey, 0..255
    description: str = ""
    graphics: list[GraphicObject] = field(default_factory=list)
    texts: list[TextObject] = field(default_factory=list)
    rgb: tuple[int, int, int] | None = None  # recommended display colour (sRGB of its CIELab value)

    def value(self, colour: bool) -> int | tuple[int, int, int]:
        """What the layer draws with: its recommended colour on colour output when it has one, else grey."""
        if colour:
            return self.rgb if self.rgb is not None else (self.grey, self.grey, self.grey)
        return self.grey

    def mask(self, shape: tuple[int, int], origin: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """The layer's PIXEL-unit graphics rasterised over an image of ``shape``.

        Parameters
        ----------
        origin
            Image (column, row) of the mask's top left corner: the displayed area's, to draw
            straight into it, also where it reaches beyond the image.
        """
        out = np.zeros(shape, dtype=bool)
        for graphic in self.graphics:
            if graphic.units == "PIXEL":
                if origin != (0.0, 0.0):
                    points = tuple((x - origin[0], y - origin[1]) for x, y in graphic.points)
                    graphic = GraphicObject(graphic.graphic_type, points, "PIXEL", graphic.filled)
                out |= rasterise(graphic, shape)
        return out

    def display_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The layer's DISPLAY-unit graphics over the displayed frame of ``shape`` (rows, columns).

        DISPLAY units run from 0.0 (top left) to 1.0 (bottom right) of the displayed area as
        shown, after the spatial transform (PS3.3 C.10.5.1.2): they are scaled to its pixels.
        """
        out = np.zeros(shape, dtype=bool)
        rows, columns = shape
        for graphic in self.graphics:
            if graphic.units == "DISPLAY":
                points = tuple((x * columns, y * rows) for x, y in graphic.points)
                out |= rasterise(GraphicObject(graphic.graphic_type, points, "PIXEL", graphic.filled), shape)
        return out


def _pairs(values: object) -> tuple[tuple[float, float], ...]:
    flat = [float(v) for v in values] if values not in (None, "") else []  # type: ignore[attr-defined]
    return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2))


def _outline(points: list[tuple[float, float]], shape: tuple[int, int]) -> np.ndarray:
    """Pixels the segments between consecutive points cross, sampled at quarter-pixel steps.

    All segments are sampled at once (one ``t`` per sample, as ``np.linspace(0, 1, steps)``
    gives per segment) and set in one assignment: a 361-point ellipse costs one pass, not 360.
    """
    out = np.zeros(shape, dtype=bool)
    if not points:
        return out
    pts = np.asarray(points, dtype=np.float64)
    a, b = (pts[:-1], pts[1:]) if len(pts) > 1 else (pts, pts)
    delta = b - a
    steps = np.ceil(np.abs(delta).max(axis=1) * 4).astype(np.int64) + 1
    segment = np.repeat(np.arange(len(a)), steps)
    first = np.repeat(np.cumsum(steps) - steps, steps)
    position = np.arange(segment.size) - first
    t = position * (1.0 / np.maximum(steps - 1, 1))[segment]
    t[np.cumsum(steps) - 1] = np.where(steps > 1, 1.0, 0.0)  # each segment ends exactly on its end point
    cols = np.floor(a[segment, 0] + delta[segment, 0] * t).astype(np.int64)
    rows = np.floor(a[segment, 1] + delta[segment, 1] * t).astype(np.int64)
    keep = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    out[rows[keep], cols[keep]] = True
    return out


def _inside_ellipse(
    shape: tuple[int, int], centre: tuple[float, float], axis_a: tuple[float, float], axis_b: tuple[float, float]
) -> np.ndarray:
    """Pixels whose centre lies inside the ellipse of perpendicular half-axes ``axis_a``, ``axis_b``."""
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64) + 0.5
    dx, dy = x - centre[0], y - centre[1]
    la = axis_a[0] ** 2 + axis_a[1] ** 2
    lb = axis_b[0] ** 2 + axis_b[1] ** 2
    if la == 0 or lb == 0:
        return np.zeros(shape, dtype=bool)
    u = (dx * axis_a[0] + dy * axis_a[1]) / la
    v = (dx * axis_b[0] + dy * axis_b[1]) / lb
    inside: np.ndarray = u * u + v * v <= 1.0
    return inside


def _ellipse_points(
    centre: tuple[float, float], axis_a: tuple[float, float], axis_b: tuple[float, float]
) -> list[tuple[float, float]]:
    t = np.linspace(0.0, 2 * np.pi, 361)
    return [
        (
            centre[0] + axis_a[0] * np.cos(a) + axis_b[0] * np.sin(a),
            centre[1] + axis_a[1] * np.cos(a) + axis_b[1] * np.sin(a),
        )
        for a in t
    ]


def rasterise(graphic: GraphicObject, shape: tuple[int, int]) -> np.ndarray:
    """Bool mask of a PIXEL-unit graphic object over an image of ``shape`` (PS3.3 C.10.5.1.2)."""
    pts = list(graphic.points)
    kind = graphic.graphic_type
    ellipse: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None
    if kind == "CIRCLE" and len(pts) == 2:
        (cx, cy), (px, py) = pts
        r = float(np.hypot(px - cx, py - cy))
        ellipse = ((cx, cy), (r, 0.0), (0.0, r))
    elif kind == "ELLIPSE" and len(pts) == 4:
        (x1, y1), (x2, y2), (x3, y3), (x4, y4) = pts  # major axis end points, then minor
        ellipse = (((x1 + x2) / 2, (y1 + y2) / 2), ((x2 - x1) / 2, (y2 - y1) / 2), ((x4 - x3) / 2, (y4 - y3) / 2))
    elif kind not in ("POINT", "POLYLINE", "INTERPOLATED"):
        logger.warning("Graphic Type %r with %d points is not drawn", kind, len(pts))
        return np.zeros(shape, dtype=bool)
    if ellipse is not None:
        pts = _ellipse_points(*ellipse)
    out = _outline(pts, shape)
    if graphic.filled and ellipse is not None:
        out |= _inside_ellipse(shape, *ellipse)
    elif graphic.filled and len(pts) > 2 and pts[0] == pts[-1]:
        # pixel (r, c) has its centre at (c + 0.5, r + 0.5); polygonal() takes 1-based pixel positions
        out |= ~polygonal(shape, [(y + 0.5, x + 0.5) for x, y in pts])
    return out


def annotation_layers(state: Dataset, image: Dataset, frame: int = 0) -> list[AnnotationLayer]:
    """The graphic layers of ``state`` that apply to frame ``frame`` (0-based) of ``image``, by order."""
    layers: dict[str, AnnotationLayer] = {}
    for item in state.get("GraphicLayerSequence") or []:
        grey_p = item.get("GraphicLayerRecommendedDisplayGrayscaleValue")
        lab = item.get("GraphicLayerRecommendedDisplayCIELabValue")
        rgb = dicom_lab_to_srgb([int(v) for v in lab]) if lab not in (None, "") else None
        if grey_p not in (None, ""):
            grey = round(int(grey_p) / 65535 * 255)
        elif lab not in (None, ""):  # a colour only (PS3.3 C.10.7.1.1): on grey output, the grey of its L*
            grey = dicom_lab_to_srgb([int(lab[0]), 0x8080, 0x8080])[0]
        else:
            grey = 255
        layers[str(item.GraphicLayer)] = AnnotationLayer(
            name=str(item.GraphicLayer),
            order=int(item.get("GraphicLayerOrder", 0) or 0),
            grey=grey,
            description=str(item.get("GraphicLayerDescription", "")),
            rgb=rgb,
        )
    uid = str(image.get("SOPInstanceUID", ""))
    for item in state.get("GraphicAnnotationSequence") or []:
        if not references_frame(item, uid, frame + 1):
            continue
        name = str(item.get("GraphicLayer", ""))
        layer = layers.setdefault(name, AnnotationLayer(name=name, order=len(layers) + 1000, grey=255))
        for g in item.get("GraphicObjectSequence") or []:
            layer.graphics.append(
                GraphicObject(
                    graphic_type=str(g.get("GraphicType", "")).strip().upper(),
                    points=_pairs(g.get("GraphicData")),
                    units=str(g.get("GraphicAnnotationUnits", "PIXEL")).strip().upper(),
                    filled=str(g.get("GraphicFilled", "N")).strip().upper() == "Y",
                )
            )
        for t in item.get("TextObjectSequence") or []:
            box = _pairs(
                [*(t.get("BoundingBoxTopLeftHandCorner") or []), *(t.get("BoundingBoxBottomRightHandCorner") or [])]
            )
            anchor = _pairs(t.get("AnchorPoint"))
            justification = str(t.get("BoundingBoxTextHorizontalJustification", "LEFT") or "LEFT").strip().upper()
            layer.texts.append(
                TextObject(
                    text=str(t.get("UnformattedTextValue", "")),
                    box_units=str(t.get("BoundingBoxAnnotationUnits") or "PIXEL").strip().upper(),
                    bounding_box=(box[0], box[1]) if len(box) == 2 else None,
                    anchor=anchor[0] if anchor else None,
                    anchor_visible=str(t.get("AnchorPointVisibility", "N")).strip().upper() == "Y",
                    anchor_units=str(t.get("AnchorPointAnnotationUnits") or "PIXEL").strip().upper(),
                    justification=justification if justification in ("RIGHT", "CENTER") else "LEFT",  # type: ignore[arg-type]
                )
            )
    return sorted((layer for layer in layers.values() if layer.graphics or layer.texts), key=lambda la: la.order)

