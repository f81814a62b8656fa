"""Images ready for a film: rendered pixels with their physical pixel size and header text.

An image is printed as the display pipeline renders it (:func:`app.imaging.render.render_frame`
and :meth:`~app.imaging.render.RenderedFrame.composite`): window, displayed area, rotation and
flip, shutter, overlays and presentation-state annotations burnt in. For a 12-bit film a grey
image is rendered again through the same modality, VOI and presentation stages (the
presentation state's where it has them) into 0..4095 (PS3.4 N.2; the printer's 12-bit grey
scale), and the pixels the layers drew keep their 8-bit value scaled to 12 bits; colour images
and mask-subtracted ones are scaled from 8 bits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydicom.dataset import Dataset

from app.dicom.value_format import format_date, format_person_name
from app.imaging.calibration import calibration_from
from app.imaging.frames import decode_frame, is_grey
from app.imaging.pipeline import GreyPipeline
from app.imaging.presentation_lut import apply_presentation_lut
from app.imaging.presentation_state import PresentationState
from app.imaging.render import RenderedFrame, render_frame
from app.imaging.voi_lut import Window


@dataclass(frozen=True)
class FilmHeader:
    """Text printed across the top of a film: patient, study and institution lines."""

    patient: str = ""
    study: str = ""
    institution: str = ""

    @property
    def lines(self) -> list[str]:
        return [t for t in (self.patient, self.study, self.institution) if t]


def header_from(ds: Dataset) -> FilmHeader:
    """The :class:`FilmHeader` of an image: name, ID, birth date; study date, description, accession; institution."""

    def joined(*parts: str) -> str:
        return "   ".join(p for p in parts if p)

    name = format_person_name(ds.get("PatientName", "") or "")
    born = format_date(ds.get("PatientBirthDate", "") or "")
    patient = joined(name, str(ds.get("PatientID", "") or ""), f"born {born}" if born else "")
    study = joined(
        format_date(ds.get("StudyDate", "") or ""),
        str(ds.get("StudyDescription", "") or ""),
        f"Acc {ds.AccessionNumber}" if ds.get("AccessionNumber") else "",
    )
    return FilmHeader(patient, study, str(ds.get("InstitutionName", "") or ""))


@dataclass(frozen=True, eq=False)
class PrintImage:
    """One image for a film cell.

    Attributes
    ----------
    pixels
        Grey (rows, columns) of ``bits`` bits (uint8 for 8, uint16 for 12), or RGB uint8 (printed as luminance).
    bits
        Depth of grey ``pixels``: 8 or 12.
    pixel_spacing
        (row, column) mm per displayed pixel, or None when the image is not calibrated.
    aspect
        (vertical, horizontal) size of a displayed pixel when uncalibrated.
    header
        Text of the film header when this image is the first of its film.
    label
        Short name shown in the preview (e.g. series and instance number).
    """

    pixels: np.ndarray
    bits: int = 8
    pixel_spacing: tuple[float, float] | None = None
    aspect: tuple[float, float] = (1.0, 1.0)
    header: FilmHeader | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if self.bits not in (8, 12):
            raise ValueError(f"bits must be 8 or 12, not {self.bits}")
        if self.pixels.ndim not in (2, 3):
            raise ValueError(f"pixels must be grey or RGB, got shape {self.pixels.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    @property
    def pixel_height_ratio(self) -> float:
        """Height of a displayed pixel over its width (1.0 for square pixels)."""
        if self.pixel_spacing is not None:
            return self.pixel_spacing[0] / self.pixel_spacing[1]
        return self.aspect[0] / self.aspect[1]

    def grey(self, bits: int) -> np.ndarray:
        """The pixels as float32 grey values of ``bits`` bits (RGB: Rec. 601 luminance)."""
        arr = self.pixels.astype(np.float32)
        if arr.ndim == 3:
            arr = arr[:, :, 0] * 0.299 + arr[:, :, 1] * 0.587 + arr[:, :, 2] * 0.114
        if self.bits != bits:
            arr = arr * ((2**bits - 1) / (2**self.bits - 1))
        return arr


def _label(ds: Dataset) -> str:
    number = ds.get("InstanceNumber")
    return f"{ds.get('Modality', '')} {ds.get('SeriesNumber', '')}:{number if number is not None else ''}".strip()


def from_rendered(ds: Dataset, frame: int, rendered: RenderedFrame, pixels: np.ndarray | None = None) -> PrintImage:
    """An 8-bit :class:`PrintImage` of frame ``frame`` of ``ds`` as ``rendered`` shows it.

    ``pixels`` is the displayed image when the caller drew more layers on it (the viewer's
    measurements); default ``rendered.composite()``. The pixel spacing is the image's (or the
    presentation state's displayed area's), turned with the rotation.
    """
    shown = rendered.composite() if pixels is None else pixels
    calibration = calibration_from(ds, frame, rendered.displayed_area)
    swap = rendered.transform.rotation in (90, 270)
    spacing: tuple[float, float] | None = None
    if calibration.row_spacing_mm is not None and calibration.column_spacing_mm is not None:
        rs, cs = calibration.row_spacing_mm, calibration.column_spacing_mm
        spacing = (cs, rs) if swap else (rs, cs)
    aspect = calibration.aspect_ratio[::-1] if swap else calibration.aspect_ratio
    return PrintImage(shown, 8, spacing, (float(aspect[0]), float(aspect[1])), header_from(ds), _label(ds))


def deepened(
    image: PrintImage,
    ds: Dataset,
    frame: int,
    rendered: RenderedFrame,
    presentation_state: Dataset | None = None,
    invert: bool = False,
) -> PrintImage:
    """``image`` (8 bits, from :func:`from_rendered`) at 12 bits: the grey stages evaluated again into
    0..4095 with ``rendered``'s VOI (the presentation state's modality and presentation LUT where it
    has them; ``invert`` as the viewer's invert), the pixels the layers drew kept at their drawn value.
    Colour and mask-subtracted images come back unchanged (8 bits)."""
    shown, geometry = image.pixels, rendered.geometry
    if image.bits != 8 or shown.ndim != 2 or not is_grey(ds) or rendered.voi is None \
            or "MaskSubtractionSequence" in ds:
        return image
    pipe = GreyPipeline.from_dataset(ds)
    modality, shape = pipe.modality, pipe.shape
    if presentation_state is not None:  # its modality LUT (when it has one) and presentation LUT win
        fp = PresentationState(presentation_state).for_frame(ds, frame)
        modality, shape = fp.modality or modality, fp.presentation
    stored, _ = decode_frame(ds, frame)
    values = rendered.voi.apply(modality.apply(np.asarray(stored, dtype=np.int64)), 0.0, 4095.0)
    values = apply_presentation_lut(values, shape, 0.0, 4095.0)
    if invert:
        values = 4095.0 - values
    deep = geometry.to_display(np.clip(np.rint(values), 0, 4095).astype(np.uint16))
    layered = shown != geometry.to_display(rendered.pixels)  # shutter, overlays, annotations, drawn layers
    deep[layered] = np.rint(shown[layered].astype(np.float32) * (4095.0 / 255.0)).astype(np.uint16)
    return replace(image, pixels=deep, bits=12)


def print_image(
    ds: Dataset,
    frame: int = 0,
    presentation_state: Dataset | None = None,
    window: Window | None = None,
    bits: int = 8,
) -> PrintImage:
    """Render frame ``frame`` of ``ds`` for a film of ``bits`` bits (see the module docstring)."""
    rendered = render_frame(ds, frame, presentation_state, window)
    image = from_rendered(ds, frame, rendered)
    return deepened(image, ds, frame, rendered, presentation_state) if bits == 12 else image
