"""The user's measurements and annotations on an image frame, as values, and what they measure.

An annotation is drawn on one frame of one image (SOP Instance UID + 0-based frame); its points
are in the image's PIXEL coordinates of a presentation state (PS3.3 C.10.5.1.2): (column, row)
with the image's top left corner at (0, 0), so pixel (r, c) covers [c, c+1) x [r, r+1). The
values come from :mod:`app.imaging.measurements` with the frame's
:class:`~app.imaging.calibration.Calibration` (mm when the image is calibrated, pixel widths
otherwise) and, for regions, the modality values (PS3.3 C.11.1: e.g. HU for CT).

Each kind of annotation is written to a presentation state in a graphic layer of its own
(:data:`LAYERS`, PS3.3 C.10.7), as :mod:`app.services.annotations_gsps` says.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from pydicom.dataset import Dataset

from app.imaging.calibration import Calibration
from app.imaging.measurements import Quantity, RoiStatistics, angle, distance, ellipse_roi, rectangle_roi

Point = tuple[float, float]  # (column, row) in image PIXEL coordinates


class Kind(StrEnum):
    """The annotation tools."""

    DISTANCE = "distance"
    ANGLE = "angle"
    COBB = "cobb"
    RECTANGLE = "rectangle"
    ELLIPSE = "ellipse"
    POLYLINE = "polyline"
    ARROW = "arrow"
    TEXT = "text"


#: Points each kind is made of (None: any number from two on, the polyline).
POINTS: dict[Kind, int | None] = {
    Kind.DISTANCE: 2,
    Kind.ANGLE: 3,  # first arm end, vertex, second arm end
    Kind.COBB: 4,  # first line (two points), second line (two points)
    Kind.RECTANGLE: 2,  # opposite corners
    Kind.ELLIPSE: 2,  # opposite corners of its bounding box
    Kind.POLYLINE: None,
    Kind.ARROW: 2,  # tail, tip
    Kind.TEXT: 1,  # anchor
}

#: The graphic layer (PS3.3 C.10.7, a CS value) each kind is written in, with its description.
LAYERS: dict[Kind, tuple[str, str]] = {
    Kind.DISTANCE: ("DISTANCE", "Distance measurements"),
    Kind.ANGLE: ("ANGLE", "Angle measurements"),
    Kind.COBB: ("COBB ANGLE", "Cobb angle measurements"),
    Kind.RECTANGLE: ("RECTANGLE ROI", "Rectangular regions of interest"),
    Kind.ELLIPSE: ("ELLIPSE ROI", "Elliptical regions of interest"),
    Kind.POLYLINE: ("POLYLINE", "Polylines and their lengths"),
    Kind.ARROW: ("ARROW", "Arrows"),
    Kind.TEXT: ("TEXT", "Text notes"),
}

ARROW_HEAD = 0.25  # arrow head length as a fraction of the arrow (at most ARROW_HEAD_MAX pixels)
ARROW_HEAD_MAX = 12.0


@dataclass(frozen=True)
class UserAnnotation:
    """One measurement or annotation the user drew on frame ``frame`` (0-based) of an image."""

    kind: Kind
    points: tuple[Point, ...]
    sop_instance_uid: str
    frame: int = 0
    text: str = ""  # the note of a TEXT annotation

    @property
    def complete(self) -> bool:
        """True when it has all its points (a polyline: at least two)."""
        wanted = POINTS[self.kind]
        return len(self.points) >= 2 if wanted is None else len(self.points) == wanted

    def on(self, sop_instance_uid: str, frame: int) -> bool:
        """True when it is drawn on this image frame."""
        return self.sop_instance_uid == sop_instance_uid and self.frame == frame

    def with_point(self, index: int, point: Point) -> UserAnnotation:
        """A copy with point ``index`` moved to ``point`` (dragging a handle)."""
        points = list(self.points)
        points[index] = (float(point[0]), float(point[1]))
        return replace(self, points=tuple(points))

    def moved(self, dx: float, dy: float) -> UserAnnotation:
        """A copy shifted by (dx, dy) image pixels."""
        return replace(self, points=tuple((x + dx, y + dy) for x, y in self.points))

    def outline(self) -> list[list[Point]]:
        """The polylines that draw it, in image coordinates (for drawing and hit testing)."""
        p = list(self.points)
        if self.kind == Kind.RECTANGLE and len(p) == 2:
            (x1, y1), (x2, y2) = p
            return [[(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)]]
        if self.kind == Kind.ELLIPSE and len(p) == 2:
            (cx, cy), (rx, ry) = ellipse_box(p[0], p[1])
            t = np.linspace(0.0, 2 * math.pi, 73)
            return [[(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]]
        if self.kind == Kind.COBB and len(p) >= 2:
            return [p[0:2], p[2:4]] if len(p) > 2 else [p[0:2]]
        if self.kind == Kind.ARROW and len(p) == 2:
            return [p, arrow_head(p[0], p[1])]
        if self.kind == Kind.TEXT:
            return []
        return [p]

    def distance_to(self, point: Point) -> float:
        """Distance in image pixels from ``point`` to the nearest point of its outline or handles."""
        best = min((math.dist(point, q) for q in self.points), default=math.inf)
        for line in self.outline():
            for a, b in itertools.pairwise(line):
                best = min(best, segment_distance(point, a, b))
        return best


def segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
    return math.dist(p, (a[0] + t * dx, a[1] + t * dy))


def ellipse_box(a: Point, b: Point) -> tuple[Point, tuple[float, float]]:
    """Centre and (column, row) semi-axes of the axis-aligned ellipse in the box with corners ``a``, ``b``."""
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), (abs(b[0] - a[0]) / 2, abs(b[1] - a[1]) / 2)


def arrow_head(tail: Point, tip: Point) -> list[Point]:
    """The two barbs of an arrow head at ``tip`` as one polyline (barb, tip, barb)."""
    dx, dy = tip[0] - tail[0], tip[1] - tail[1]
    length = math.hypot(dx, dy)
    if length == 0:
        return [tip, tip]
    size = min(length * ARROW_HEAD, ARROW_HEAD_MAX)
    ux, uy = dx / length, dy / length
    barbs = []
    for sign in (1, -1):
        c, s = math.cos(math.radians(25)), sign * math.sin(math.radians(25))
        bx, by = ux * c - uy * s, ux * s + uy * c
        barbs.append((tip[0] - bx * size, tip[1] - by * size))
    return [barbs[0], tip, barbs[1]]


# -- values -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measurement:
    """What an annotation measures: a length, an angle or region statistics, and its label lines."""

    lines: tuple[str, ...]
    length: Quantity | None = None
    angle: Quantity | None = None
    roi: RoiStatistics | None = None

    @property
    def label(self) -> str:
        return "\n".join(self.lines)


_UNITS = {"mm": "mm", "px": "px", "mm2": "mm²", "px2": "px²", "deg": "°"}


def format_quantity(quantity: Quantity) -> str:
    """``12.34 mm``, ``3.1 px``, ``78.54 mm²``, ``45.0°``."""
    unit = _UNITS.get(quantity.unit, quantity.unit)
    digits = 1 if quantity.unit in ("deg", "px", "px2") else 2
    return f"{quantity.value:.{digits}f}{unit}" if quantity.unit == "deg" else f"{quantity.value:.{digits}f} {unit}"


def _value(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def cobb_angle(points: Sequence[Point], calibration: Calibration) -> Quantity | None:
    """The angle between two lines (first two points, last two points), 0..90 degrees, in physical space.

    The Cobb angle is the angle between the end plates' lines whichever way each was drawn, so
    of the two angles the lines make the acute one is given. None when a line has no length.
    """
    (a1, a2, b1, b2) = points
    u = (a2[0] - a1[0], a2[1] - a1[1])
    v = (b2[0] - b1[0], b2[1] - b1[1])
    found = angle(u, (0.0, 0.0), v, calibration)
    if found is None:
        return None
    return Quantity(min(found.value, 180.0 - found.value), "deg")


def measure(
    annotation: UserAnnotation, stored: np.ndarray | None, image: Dataset, calibration: Calibration
) -> Measurement:
    """The value(s) of ``annotation`` on its frame.

    Parameters
    ----------
    stored
        Stored values of the frame (rows, columns), for region statistics; None skips them.
    image
        The image, for its modality transform and unit (PS3.3 C.11.1).
    calibration
        The frame's calibration (:func:`app.imaging.calibration.calibration_from`).
    """
    p = annotation.points
    kind = annotation.kind
    if not annotation.complete:
        return Measurement(())
    if kind == Kind.DISTANCE:
        length = distance(p[0], p[1], calibration)
        return Measurement((format_quantity(length),), length=length)
    if kind == Kind.POLYLINE:
        total = sum(distance(a, b, calibration).value for a, b in itertools.pairwise(p))
        length = Quantity(total, calibration.unit)
        return Measurement((format_quantity(length),), length=length)
    if kind in (Kind.ANGLE, Kind.COBB):
        found = angle(p[0], p[1], p[2], calibration) if kind == Kind.ANGLE else cobb_angle(p, calibration)
        prefix = "Cobb " if kind == Kind.COBB else ""
        return Measurement((prefix + (format_quantity(found) if found else "-"),), angle=found)
    if kind in (Kind.RECTANGLE, Kind.ELLIPSE) and stored is not None:
        if kind == Kind.RECTANGLE:
            stats = rectangle_roi(stored, image, p[0], p[1], annotation.frame, calibration)
        else:
            centre, radii = ellipse_box(p[0], p[1])
            stats = ellipse_roi(stored, image, centre, radii, annotation.frame, calibration)
        unit = f" {stats.unit}" if stats.unit else ""
        return Measurement(
            (
                f"Area {format_quantity(stats.area)}",
                f"Mean {_value(stats.mean)} SD {_value(stats.sd)}{unit}",
                f"Min {_value(stats.minimum)} Max {_value(stats.maximum)}{unit}",
            ),
            roi=stats,
        )
    if kind == Kind.TEXT:
        return Measurement((annotation.text,) if annotation.text else ())
    return Measurement(())


def label_anchor(annotation: UserAnnotation) -> Point:
    """Where its label goes: beside the last point (the rightmost corner of a region)."""
    p = annotation.points
    if annotation.kind in (Kind.RECTANGLE, Kind.ELLIPSE) and len(p) == 2:
        return max(p[0][0], p[1][0]), min(p[0][1], p[1][1])
    return p[-1]
