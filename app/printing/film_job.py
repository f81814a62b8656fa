"""A composed film and a printer profile made into the Print SCU's job (PS3.3 C.13; reference Table 3.4)."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from app.net.print_scu import PRINTER_ATTRIBUTES_ALL, PRINTER_ATTRIBUTES_MINIMAL, FilmJob
from app.printing.compose import FilmImage
from app.printing.profiles import PrinterProfile


def session_attributes(profile: PrinterProfile) -> Dataset:
    """Basic Film Session N-CREATE attributes (PS3.3 C.13.1)."""
    ds = Dataset()
    s = profile.session
    ds.NumberOfCopies = s.number_of_copies
    ds.PrintPriority = s.print_priority
    ds.MediumType = s.medium_type
    ds.FilmDestination = s.film_destination
    return ds


def film_box_attributes(profile: PrinterProfile, film_size_id: str, orientation: str) -> Dataset:
    """Basic Film Box N-CREATE attributes (PS3.3 C.13.3) from the profile; unset ones are not sent.

    Image Display Format and the references are added by the Print SCU.
    """
    b = profile.film_box
    ds = Dataset()
    ds.FilmOrientation = orientation
    ds.FilmSizeID = film_size_id
    optional = {
        "MagnificationType": b.magnification_type,
        "MaxDensity": b.max_density,
        "ConfigurationInformation": b.configuration_information,
        "SmoothingType": b.smoothing_type,
        "MinDensity": b.min_density,
        "Illumination": b.illumination,
        "ReflectedAmbientLight": b.reflected_ambient_light,
    }
    ds.BorderDensity = b.border_density
    ds.EmptyImageDensity = b.empty_image_density
    ds.Trim = b.trim
    for keyword, value in optional.items():
        if value is not None:
            setattr(ds, keyword, value)
    return ds


def presentation_lut_attributes(profile: PrinterProfile, bits: int) -> Dataset | None:
    """Presentation LUT N-CREATE attributes (PS3.3 C.11.4), or None when the printer has no Presentation LUT.

    A printer that requires a matching LUT gets an identity LUT of 2^bits entries (LUT Descriptor
    ``2^bits\\0\\12``, P-values 0..4095); others get Presentation LUT Shape.
    """
    if not profile.supports_presentation_lut:
        return None
    ds = Dataset()
    if profile.presentation_lut_match_required:
        entries = 2**bits
        item = Dataset()
        item.LUTDescriptor = [entries if entries < 65536 else 0, 0, 12]
        data = np.rint(np.arange(entries) * (4095.0 / (entries - 1))).astype("<u2")
        item.LUTData = data.tolist()
        item["LUTData"].VR = "US"
        ds.PresentationLUTSequence = [item]
    else:
        ds.PresentationLUTShape = profile.presentation_lut_shape
    return ds


def film_job(film: FilmImage, profile: PrinterProfile) -> FilmJob:
    """The Print SCU job of ``film`` on a printer described by ``profile``."""
    return FilmJob(
        pixels=film.pixels,
        bits=film.bits,
        session=session_attributes(profile),
        film_box=film_box_attributes(profile, film.spec.film_size_id, film.spec.orientation),
        polarity=profile.polarity,
        presentation_lut=presentation_lut_attributes(profile, film.bits),
        printer_attributes=(
            PRINTER_ATTRIBUTES_ALL if profile.printer_attributes == "all" else PRINTER_ATTRIBUTES_MINIMAL
        ),
        implicit_vr_only=profile.implicit_vr_only,
        max_pdu=profile.max_pdu,
    )
