"""Synchronised scrolling: the slice of one stack nearest to a slice of another.

Two series share patient coordinates when they have the same Frame of Reference UID
(0020,0052) (PS3.3 C.7.4.1.1.1). The source frame's Image Position (Patient) is projected on
the normal of the target stack's orientation and the target frame whose own projection is
nearest wins (PS3.3 C.7.6.2.1.1), so series of different slice spacing, or even different
orientation, follow each other by position in the patient, not by index.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from app.imaging.stacks import image_orientation, image_position
from app.services.image_stack import ImageStack

MAX_DISTANCE_MM = 50.0
"""A target slice further than this from the source slice is not shown (the stacks do not overlap)."""


def frame_of_reference(ds: Dataset) -> str:
    return str(ds.get("FrameOfReferenceUID", "") or "").strip()


def matching_position(target: ImageStack, source: Dataset, source_frame: int) -> int | None:
    """The position in ``target`` nearest to frame ``source_frame`` of ``source``, or None.

    None when the frames of reference differ or are missing, when positions or orientations
    are missing, or when no target slice is within :data:`MAX_DISTANCE_MM` along the target's normal.
    """
    if not len(target):
        return None
    reference = frame_of_reference(source)
    point = image_position(source, source_frame)
    if not reference or point is None or frame_of_reference(target.dataset(0)) != reference:
        return None
    best: tuple[float, int] | None = None
    for position, ref in enumerate(target.frames):
        ds = target.datasets[ref.dataset_index]
        orientation, origin = image_orientation(ds, ref.frame), image_position(ds, ref.frame)
        if orientation is None or origin is None:
            continue
        normal = np.cross(orientation[:3], orientation[3:])
        distance = abs(float(np.dot(normal, point - origin)))
        if best is None or distance < best[0]:
            best = (distance, position)
    if best is None or best[0] > MAX_DISTANCE_MM:
        return None
    return best[1]
