"""Presentation-state graphics as an overlay plane, for receivers without presentation states.

The reference (10.3.2) exports annotations as overlays when the receiver does not take
Grayscale Softcopy Presentation States. Here the PIXEL- and DISPLAY-unit graphics of every
presentation state that references an image (its Graphic Annotation Sequence, PS3.3
C.10.5, through :func:`app.imaging.annotations.annotation_layers`) are drawn into one
graphics overlay (Overlay Type G) in the first free even group 6000..601E (PS3.3 C.9.2),
at Overlay Origin 1\\1, one overlay frame per image frame from the first to the last that has
annotations (the Multi-frame Overlay module, C.9.3, for a multi-frame image).
Text objects (PS3.3 C.10.5.1.1) are rasterised as the display pipeline draws them
(:func:`app.imaging.text_layer.coverage`, over the whole image shown as it is) and kept
where they cover at least half a pixel. The pixel data are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits

from app.imaging.annotations import annotation_layers
from app.imaging.overlays import GROUPS
from app.imaging.text_layer import coverage
from app.imaging.view_geometry import ViewGeometry

#: Overlay Description of the plane we add.
DESCRIPTION = "Annotations from presentation states"


@dataclass(frozen=True)
class OverlayFrames:
    """Overlay bits (frames x rows x columns) starting at image frame ``first_frame`` (0-based)."""

    first_frame: int
    bits: np.ndarray


def referenced_images(state: Dataset) -> set[str]:
    """SOP Instance UIDs a presentation state applies to (PS3.3 C.11.11 Referenced Series Sequence)."""
    out: set[str] = set()
    for series in state.get("ReferencedSeriesSequence") or []:
        for image in series.get("ReferencedImageSequence") or []:
            uid = str(image.get("ReferencedSOPInstanceUID", ""))
            if uid:
                out.add(uid)
    return out


def frame_mask(image: Dataset, states: Iterable[Dataset], frame: int = 0) -> np.ndarray | None:
    """The union of the states' graphics and texts over one frame (0-based); None when nothing is drawn."""
    rows, columns = int(image.get("Rows", 0) or 0), int(image.get("Columns", 0) or 0)
    if rows <= 0 or columns <= 0:
        return None
    mask = np.zeros((rows, columns), dtype=bool)
    geometry = ViewGeometry((rows, columns))  # the whole image, unrotated: the overlay's own frame
    for state in states:
        for layer in annotation_layers(state, image, frame):
            mask |= layer.mask((rows, columns))
            mask |= layer.display_mask((rows, columns))
            for text in layer.texts:
                mask |= coverage(text, geometry) >= 0.5
    return mask if mask.any() else None


def annotation_mask(image: Dataset, states: Iterable[Dataset]) -> OverlayFrames | None:
    """The overlay frames of ``image``, from the first to the last frame with anything drawn
    (one frame for a single-frame image); None when nothing is drawn."""
    states = list(states)
    frames = max(int(image.get("NumberOfFrames", 1) or 1), 1)
    masks = [frame_mask(image, states, frame) for frame in range(frames)]
    drawn = [n for n, m in enumerate(masks) if m is not None]
    if not drawn:
        return None
    first, last = drawn[0], drawn[-1]
    shape = (int(image.Rows), int(image.Columns))
    return OverlayFrames(first, np.stack([m if m is not None else np.zeros(shape, dtype=bool)
                                          for m in masks[first : last + 1]]))


def add_overlay(image: Dataset, overlay: OverlayFrames) -> int | None:
    """Store ``overlay`` as a graphics overlay in the first free 60xx group (with Number of
    Frames in Overlay and Image Frame Origin for a multi-frame image, PS3.3 C.9.3); the group
    used, or None when all 16 are taken (the image then goes without it)."""
    used = {elem.tag.group for elem in image if 0x6000 <= elem.tag.group <= 0x601E}
    free = [group for group in GROUPS if group not in used]
    if not free:
        return None
    group = free[0]
    frames, rows, columns = overlay.bits.shape
    image.add_new((group, 0x0010), "US", rows)
    image.add_new((group, 0x0011), "US", columns)
    if int(image.get("NumberOfFrames", 1) or 1) > 1:
        image.add_new((group, 0x0015), "IS", frames)
        image.add_new((group, 0x0051), "US", overlay.first_frame + 1)
    image.add_new((group, 0x0022), "LO", DESCRIPTION)
    image.add_new((group, 0x0040), "CS", "G")
    image.add_new((group, 0x0050), "SS", [1, 1])
    image.add_new((group, 0x0100), "US", 1)
    image.add_new((group, 0x0102), "US", 0)
    image.add_new((group, 0x3000), "OW", pack_bits(overlay.bits.astype(np.uint8).ravel(), pad=True))
    return group


def burn_states(image: Dataset, states: Iterable[Dataset]) -> int | None:
    """Add the states' graphics to ``image`` as an overlay; the group used, or None."""
    overlay = annotation_mask(image, states)
    return add_overlay(image, overlay) if overlay is not None else None
