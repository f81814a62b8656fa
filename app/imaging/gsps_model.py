"""What a user set on images, as a value: the model a Grayscale Softcopy Presentation State is written from.

PS3.3 A.33.1 (GSPS IOD). The model holds the window(s) per image and frame (C.11.8), the
spatial transformation (C.10.6), the displayed area(s) (C.10.4), one display shutter
(C.7.6.11), the graphic layers (C.10.7) with their text and graphic objects (C.10.5), the
presentation LUT shape (C.11.6) and the state's label, description and creator (C.11.10).
Everything is frozen, so two models compare equal exactly when they would be written the
same (:mod:`app.imaging.gsps_writer` gives a new SOP Instance UID only when the model changes).

Coordinates follow the standard: graphic and text objects are (column, row) pairs in PIXEL
units (the image's top left corner is 0.0\\0.0) as in :mod:`app.imaging.annotations`;
shutters use 1-based (row, column) pixel positions as in :mod:`app.imaging.shutters`;
displayed areas 1-based (column, row) corners as in :mod:`app.imaging.spatial`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from app.core.errors import DicomInputError
from app.imaging.annotations import GraphicObject, TextObject
from app.imaging.spatial import DisplayedArea, SpatialTransform
from app.imaging.voi_lut import Window

_CS_MAX = 16


def code_string(text: str, fallback: str) -> str:
    """``text`` made a valid CS value (PS3.5 6.2): upper case, ``A-Z 0-9 _`` and space, 16 characters.

    Other characters become ``_``; like highdicom (stricter than the standard) the value neither
    starts nor ends with a space or ``_``, nor starts with a digit (then ``fallback_`` is put
    first); an empty result gives ``fallback``. Used for Content Label (0070,0080) and Graphic
    Layer (0070,0002).
    """
    cleaned = re.sub(r"[^A-Z0-9_ ]", "_", text.upper()).strip("_ ")
    if cleaned[:1].isdigit():
        cleaned = f"{fallback}_{cleaned}"
    return cleaned[:_CS_MAX].strip("_ ") or fallback


@dataclass(frozen=True)
class FrameRef:
    """One referenced image and, for a multi-frame image, its frames (1-based; empty = every frame)."""

    sop_instance_uid: str
    frames: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if any(f < 1 for f in self.frames):
            raise DicomInputError(f"Frame numbers start at 1 (PS3.3 C.10.1); got {self.frames}.")


#: Images (and frames) a setting applies to; empty = every image the state references.
AppliesTo = tuple[FrameRef, ...]


@dataclass(frozen=True)
class VOISetting:
    """A window for some images and frames (one Softcopy VOI LUT Sequence item, PS3.3 C.11.8)."""

    window: Window
    applies_to: AppliesTo = ()


@dataclass(frozen=True)
class AreaSetting:
    """A displayed area for some images and frames (one Displayed Area Selection item, PS3.3 C.10.4)."""

    area: DisplayedArea
    applies_to: AppliesTo = ()


@dataclass(frozen=True)
class ShutterSetting:
    """A display shutter (PS3.3 C.7.6.11): any of rectangle, circle, polygon; several combine.

    ``rectangle`` is (left, right, upper, lower): columns left..right, rows upper..lower,
    1-based inclusive. ``circle`` is ((row, column) of the centre, radius). ``polygon`` is
    (row, column) vertices. ``grey`` is the display grey (0..255) of the shuttered area
    (Shutter Presentation Value). A GSPS has no shutter colour: the Presentation State Shutter
    Module (PS3.3 C.11.12) allows Shutter Presentation Color CIELab Value only in the colour
    presentation states, and dciodvfy rejects it in a GSPS.
    """

    rectangle: tuple[int, int, int, int] | None = None
    circle: tuple[tuple[int, int], int] | None = None
    polygon: tuple[tuple[int, int], ...] = ()
    grey: int = 0

    def __post_init__(self) -> None:
        if self.rectangle is None and self.circle is None and not self.polygon:
            raise DicomInputError("A shutter needs a rectangle, a circle or a polygon (PS3.3 C.7.6.11).")
        if self.polygon and len(self.polygon) < 3:
            raise DicomInputError("A polygonal shutter needs at least three vertices (PS3.3 C.7.6.11.1.3).")
        if self.rectangle is not None:
            left, right, upper, lower = self.rectangle
            if not (1 <= left < right and 1 <= upper < lower):
                raise DicomInputError(
                    f"Rectangular shutter edges {self.rectangle} must be 1-based with left < right and upper < lower."
                )
        if not 0 <= self.grey <= 255:
            raise DicomInputError(f"The shutter grey {self.grey} must lie in 0..255.")

    @property
    def shapes(self) -> tuple[str, ...]:
        """Shutter Shape (0018,1600) values, in the order the standard lists them."""
        return tuple(
            name
            for name, present in (
                ("RECTANGULAR", self.rectangle is not None),
                ("CIRCULAR", self.circle is not None),
                ("POLYGONAL", bool(self.polygon)),
            )
            if present
        )


@dataclass(frozen=True)
class Annotation:
    """Text and graphic objects drawn on some images and frames (one Graphic Annotation item, C.10.5)."""

    graphics: tuple[GraphicObject, ...] = ()
    texts: tuple[TextObject, ...] = ()
    applies_to: AppliesTo = ()

    def __post_init__(self) -> None:
        if not self.graphics and not self.texts:
            raise DicomInputError("An annotation needs at least one text or graphic object (PS3.3 C.10.5).")


@dataclass(frozen=True)
class Layer:
    """A graphic layer (PS3.3 C.10.7): name, drawing order, recommended grey/colour and its annotations."""

    name: str
    order: int
    annotations: tuple[Annotation, ...] = ()
    description: str = ""
    grey: int = 255  # recommended display grey 0..255
    colour: tuple[int, int, int] | None = None  # recommended display colour, sRGB


@dataclass(frozen=True)
class PresentationModel:
    """Everything a GSPS we write says (PS3.3 A.33.1).

    ``presentation`` is the Presentation LUT Shape; None keeps the image's own polarity
    (INVERSE for MONOCHROME1, IDENTITY otherwise).
    """

    label: str
    description: str = ""
    creator: str = ""
    vois: tuple[VOISetting, ...] = ()
    transform: SpatialTransform = field(default_factory=SpatialTransform)
    areas: tuple[AreaSetting, ...] = ()
    shutter: ShutterSetting | None = None
    layers: tuple[Layer, ...] = ()
    presentation: Literal["IDENTITY", "INVERSE"] | None = None

    def __post_init__(self) -> None:
        names = [code_string(layer.name, "LAYER") for layer in self.layers]
        if len(set(names)) != len(names):
            raise DicomInputError(f"Graphic layer names must differ (as CS values): {names} (PS3.3 C.10.7).")
        if len(self.vois) > 1 and not all(v.applies_to for v in self.vois):
            raise DicomInputError(
                "With several windows, each must name the images it applies to (PS3.3 C.11.8); "
                "give every VOISetting an applies_to."
            )
