"""Orientation labels of the four image edges (PS3.3 C.7.6.1.1.1 and C.7.6.2.1.1).

Patient Orientation (0020,0020) gives the patient direction of the rows (toward the right
edge) and of the columns (toward the bottom edge) as letters: A/P anterior/posterior, R/L
right/left, H/F head/foot. As the reference does, it is shown when present; otherwise the
labels are computed from Image Orientation (Patient) (0020,0037) (per frame for enhanced
multi-frame images, Plane Orientation Sequence): the patient coordinate system is LPS (+x to
the patient's left, +y posterior, +z head), and an oblique direction is named by the letters
of every axis whose share of the direction cosine exceeds a threshold, largest first (e.g.
"LPH"). The labels follow the display's rotation and horizontal flip
(:class:`app.imaging.spatial.SpatialTransform`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

from app.imaging.functional_groups import frame_value
from app.imaging.spatial import SpatialTransform
from app.imaging.stacks import image_orientation

OBLIQUITY_THRESHOLD = 0.1
"""Direction cosine below which an axis is not named (about 5.7 degrees off the main axes)."""

_AXES = (("L", "R"), ("P", "A"), ("H", "F"))  # letter for the + and - direction of x, y, z
_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}


@dataclass(frozen=True)
class EdgeLabels:
    """The patient direction toward each edge of the displayed image ("" when unknown)."""

    top: str
    bottom: str
    left: str
    right: str

    def transformed(self, transform: SpatialTransform) -> EdgeLabels:
        """The labels after a clockwise rotation and then a horizontal flip (PS3.3 C.10.6.1)."""
        top, right, bottom, left = self.top, self.right, self.bottom, self.left
        for _ in range(transform.rotation // 90):  # a quarter turn clockwise: left edge goes to the top
            top, right, bottom, left = left, top, right, bottom
        if transform.flip:
            left, right = right, left
        return EdgeLabels(top=top, bottom=bottom, left=left, right=right)


def direction_label(vector: Sequence[float], threshold: float = OBLIQUITY_THRESHOLD) -> str:
    """Letters naming a patient direction (x, y, z in LPS), largest component first.

    Components whose absolute value is at or below ``threshold`` are not named; at most
    three letters result. A zero vector gives "".
    """
    components = sorted(
        ((abs(float(v)), axis, float(v)) for axis, v in enumerate(vector[:3])), key=lambda c: (-c[0], c[1])
    )
    return "".join(_AXES[axis][0 if v > 0 else 1] for size, axis, v in components if size > threshold)


def opposite(label: str) -> str:
    """The opposite direction of a label ("LPH" -> "RAF"); letters outside A/P/R/L/H/F give ""."""
    if not all(letter in _OPPOSITE for letter in label):
        return ""
    return "".join(_OPPOSITE[letter] for letter in label)


def labels_from_cosines(orientation: Sequence[float], threshold: float = OBLIQUITY_THRESHOLD) -> EdgeLabels:
    """Edge labels from the six direction cosines of Image Orientation (Patient).

    The first three point along a row (toward the right edge), the last three down a column
    (toward the bottom edge) (PS3.3 C.7.6.2.1.1).
    """
    row = [float(v) for v in orientation[:3]]
    column = [float(v) for v in orientation[3:6]]
    return EdgeLabels(
        top=direction_label([-v for v in column], threshold),
        bottom=direction_label(column, threshold),
        left=direction_label([-v for v in row], threshold),
        right=direction_label(row, threshold),
    )


def labels_from_patient_orientation(value: object) -> EdgeLabels | None:
    """Edge labels from Patient Orientation (0020,0020): row direction, then column direction."""
    if value is None or isinstance(value, bytes):
        return None
    parts = value.split("\\") if isinstance(value, str) else [str(v) for v in value]  # type: ignore[attr-defined]
    parts = [p.strip().upper() for p in parts]
    if len(parts) != 2 or not all(parts):
        return None
    row, column = parts
    return EdgeLabels(top=opposite(column), bottom=column, left=opposite(row), right=row)


def edge_labels(
    ds: Dataset,
    frame: int = 0,
    transform: SpatialTransform | None = None,
    threshold: float = OBLIQUITY_THRESHOLD,
) -> EdgeLabels | None:
    """The edge labels of frame ``frame`` (0-based) of ``ds`` as displayed, or None when unknown.

    Patient Orientation wins when present (the reference shows it; Patient Orientation in
    Frame Sequence for enhanced frames); else Image Orientation (Patient), per frame for
    enhanced multi-frame images (Plane Orientation Sequence). ``transform`` is the display's
    rotation and flip.
    """
    labels = labels_from_patient_orientation(frame_value(ds, frame, "PatientOrientation"))
    if labels is None:
        cosines = image_orientation(ds, frame)
        labels = None if cosines is None else labels_from_cosines(cosines.tolist(), threshold)
    if labels is None:
        return None
    return labels.transformed(transform) if transform is not None else labels
