"""The GSPS modules highdicom does not write, added with pydicom (PS3.3 A.33.1).

highdicom 0.28's :class:`highdicom.pr.GrayscaleSoftcopyPresentationState` has no Spatial
Transformation (C.10.6) and no Display Shutter (C.7.6.11), and its Displayed Area (C.10.4)
is always the whole image, scaled to fit, with a 1:1 aspect ratio. These functions write
those modules from the model (:mod:`app.imaging.gsps_model`) into the data set it made.
"""

from __future__ import annotations

from collections.abc import Sequence

from highdicom._standard_utils import is_multiframe_image
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from app.core.errors import DicomInputError
from app.imaging.gsps_model import AppliesTo, AreaSetting, ShutterSetting
from app.imaging.spatial import DisplayedArea, SpatialTransform


def p_value(grey: int) -> int:
    """A display grey 0..255 as a 16-bit P-value (0..FFFFH, exact: 255 x 257 = FFFFH)."""
    return int(grey) * 257


def image_by_uid(images: Sequence[Dataset]) -> dict[str, Dataset]:
    """The referenced images by SOP Instance UID."""
    return {str(im.SOPInstanceUID): im for im in images}


def resolve(applies_to: AppliesTo, images: Sequence[Dataset]) -> list[tuple[Dataset, tuple[int, ...]]]:
    """The (image, frames) pairs named by ``applies_to``; every image (all frames) when it is empty.

    Raises
    ------
    DicomInputError
        A reference names an image the state does not reference.
    """
    if not applies_to:
        return [(im, ()) for im in images]
    by_uid = image_by_uid(images)
    out: list[tuple[Dataset, tuple[int, ...]]] = []
    for ref in applies_to:
        image = by_uid.get(ref.sop_instance_uid)
        if image is None:
            raise DicomInputError(
                "A setting applies to an image the presentation state does not reference; "
                "pass that image to the writer too (PS3.3 C.11.11)."
            )
        frames = int(image.get("NumberOfFrames", 1) or 1)
        if ref.frames and not is_multiframe_image(image):
            raise DicomInputError(
                f"Frames can only be named in a multi-frame image; SOP Class {image.SOPClassUID} is single-frame "
                "(PS3.3 C.10.1): leave the frames out."
            )
        if any(f > frames for f in ref.frames):
            raise DicomInputError(f"Frame {max(ref.frames)} does not exist: the image has {frames} frame(s).")
        out.append((image, ref.frames))
    return out


def reference_item(image: Dataset, frames: tuple[int, ...]) -> Dataset:
    """One Referenced Image Sequence item (PS3.3 C.10.1 Image SOP Instance Reference Macro)."""
    item = Dataset()
    item.ReferencedSOPClassUID = image.SOPClassUID
    item.ReferencedSOPInstanceUID = image.SOPInstanceUID
    if frames:
        item.ReferencedFrameNumber = list(frames) if len(frames) > 1 else frames[0]
    return item


def add_spatial_transformation(ds: Dataset, transform: SpatialTransform) -> None:
    """Spatial Transformation Module (PS3.3 C.10.6): Image Rotation, then Image Horizontal Flip."""
    ds.ImageRotation = transform.rotation
    ds.ImageHorizontalFlip = "Y" if transform.flip else "N"


def add_shutter(ds: Dataset, shutter: ShutterSetting) -> None:
    """Display Shutter Module (PS3.3 C.7.6.11) and Presentation State Shutter Module (C.11.12).

    In a GSPS, C.11.12 requires Shutter Presentation Value (0018,1622), the grey as a P-value.
    """
    ds.ShutterShape = list(shutter.shapes)
    if shutter.rectangle is not None:
        left, right, upper, lower = shutter.rectangle
        ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = left, right
        ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = upper, lower
    if shutter.circle is not None:
        (row, column), radius = shutter.circle
        ds.CenterOfCircularShutter = [row, column]
        ds.RadiusOfCircularShutter = radius
    if shutter.polygon:
        ds.VerticesOfThePolygonalShutter = [v for vertex in shutter.polygon for v in vertex]
    ds.ShutterPresentationValue = p_value(shutter.grey)


def _spacing_key(image: Dataset) -> tuple[str, tuple[float, float] | tuple[int, int]]:
    """How the image's pixel shape is given: Pixel Spacing (row, column) mm, else an aspect ratio."""
    spacing = image.get("PixelSpacing") or image.get("ImagerPixelSpacing")
    if spacing and len(spacing) == 2 and float(spacing[0]) > 0 and float(spacing[1]) > 0:
        return "spacing", (float(spacing[0]), float(spacing[1]))
    ratio = image.get("PixelAspectRatio")
    if ratio and len(ratio) == 2 and int(ratio[0]) > 0 and int(ratio[1]) > 0:
        return "ratio", (int(ratio[0]), int(ratio[1]))
    return "ratio", (1, 1)


def displayed_corners(
    area: DisplayedArea, transform: SpatialTransform, shape: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The corners to write for ``area``: those shown top left and bottom right after ``transform``.

    PS3.3 C.10.4: Displayed Area Top Left Hand Corner is "the top left (after spatial
    transformation) pixel", given as column\\row of the image before the transformation; so
    after a rotation or flip it is another corner of the rectangle than the smallest.
    """
    (c1, r1), (c2, r2) = area.top_left, area.bottom_right
    corners = [(c, r) for c in (min(c1, c2), max(c1, c2)) for r in (min(r1, r2), max(r1, r2))]
    shown = {corner: transform.point(corner[1] - 1, corner[0] - 1, shape) for corner in corners}
    return min(corners, key=lambda c: shown[c]), max(corners, key=lambda c: shown[c])


def _area_item(
    area: DisplayedArea,
    key: tuple[str, tuple[float, float] | tuple[int, int]],
    transform: SpatialTransform,
    shape: tuple[int, int],
) -> Dataset:
    item = Dataset()
    top_left, bottom_right = displayed_corners(area, transform, shape)
    item.DisplayedAreaTopLeftHandCorner = list(top_left)
    item.DisplayedAreaBottomRightHandCorner = list(bottom_right)
    item.PresentationSizeMode = area.size_mode
    kind, value = key
    if area.pixel_spacing is not None:
        item.PresentationPixelSpacing = list(area.pixel_spacing)
    elif kind == "spacing":
        item.PresentationPixelSpacing = list(value)
    elif area.size_mode == "TRUE SIZE":
        raise DicomInputError(
            "TRUE SIZE needs a presentation pixel spacing: the image has no Pixel Spacing; "
            "give the displayed area a pixel_spacing or use SCALE TO FIT (PS3.3 C.10.4.1)."
        )
    else:
        item.PresentationPixelAspectRatio = list(value)
    if area.size_mode == "MAGNIFY":
        item.PresentationPixelMagnificationRatio = area.magnification
    return item


def add_displayed_areas(
    ds: Dataset, areas: Sequence[AreaSetting], images: Sequence[Dataset], transform: SpatialTransform
) -> None:
    """Displayed Area Module (PS3.3 C.10.4): one item per setting (and per pixel spacing among its images).

    Settings naming images and frames come first; a setting for every image then covers the
    frames they left, and without one those get the whole image, scaled to fit: the
    displayed area of every referenced frame is described (C.10.4: "for all the images").
    The model's areas are rectangles of the image; their corners are written as
    :func:`displayed_corners` says.
    """
    items: list[Dataset] = []
    covered: dict[str, set[int] | None] = {}  # frames given an area so far; None = every frame
    for setting in (s for s in areas if s.applies_to):
        targets = resolve(setting.applies_to, images)
        items.extend(_grouped_items(setting.area, targets, True, images, transform))
        for image, frames in targets:
            uid = str(image.SOPInstanceUID)
            seen = covered.setdefault(uid, set())
            if not frames:
                covered[uid] = None
            elif seen is not None:
                seen.update(frames)
    rest = _uncovered(images, covered)
    if rest:
        everything = [s.area for s in areas if not s.applies_to]
        area = everything[0] if everything else DisplayedArea.whole((int(images[0].Rows), int(images[0].Columns)))
        items.extend(_grouped_items(area, rest, bool(covered), images, transform))
    ds.DisplayedAreaSelectionSequence = DicomSequence(items)


def _uncovered(images: Sequence[Dataset], covered: dict[str, set[int] | None]) -> list[tuple[Dataset, tuple[int, ...]]]:
    out: list[tuple[Dataset, tuple[int, ...]]] = []
    for image in images:
        uid = str(image.SOPInstanceUID)
        if uid not in covered:
            out.append((image, ()))
            continue
        seen = covered[uid]
        if seen is not None:
            left = tuple(f for f in range(1, int(image.get("NumberOfFrames", 1) or 1) + 1) if f not in seen)
            if left:
                out.append((image, left))
    return out


def _grouped_items(
    area: DisplayedArea,
    targets: list[tuple[Dataset, tuple[int, ...]]],
    explicit: bool,
    images: Sequence[Dataset],
    transform: SpatialTransform,
) -> list[Dataset]:
    groups: dict[object, list[tuple[Dataset, tuple[int, ...]]]] = {}
    for image, frames in targets:
        groups.setdefault(_spacing_key(image), []).append((image, frames))
    items = []
    for key, members in groups.items():
        shape = (int(images[0].Rows), int(images[0].Columns))
        item = _area_item(area, key, transform, shape)  # type: ignore[arg-type]
        if explicit or len(groups) > 1 or len(members) != len(images):
            item.ReferencedImageSequence = DicomSequence([reference_item(im, frames) for im, frames in members])
        items.append(item)
    return items
