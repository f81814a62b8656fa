"""Printer profiles: attribute defaults and quirks of a DICOM printer (``resources/printers/*.toml``).

A profile holds the values the Print SCU sends (the reference's Table 3.4: Basic Film Session
and Basic Film Box N-CREATE, Basic Grayscale Image Box N-SET; PS3.3 C.13.1, C.13.3, C.13.5)
and what the printer can take, in the spirit of the printer entries of DCMTK's
``dcmpstat.cfg``: 12-bit images, a Presentation LUT (PS3.3 C.11.4), one that must match the
image's bit depth, Implicit VR Little Endian only, its resolution (dots per inch, or a pixel
matrix per film size), the film sizes it has, and whether N-GET Printer asks for all the
reference's Table 3.2 attributes or the minimal set of Table 3.3. Unset optional attributes
are not sent.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import config_checks as check
from app.core.errors import ConfigError
from app.core.paths import resources_dir
from app.printing.film_sizes import FILM_SIZES, FilmSize, Orientation, film_size, orientation

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
PRINTER_ATTRIBUTE_SETS = ("all", "minimal")


@dataclass(frozen=True)
class FilmSessionDefaults:
    """Basic Film Session N-CREATE attributes (PS3.3 C.13.1; reference Table 3.4)."""

    number_of_copies: int = 1
    print_priority: str = "MED"
    medium_type: str = "BLUE FILM"
    film_destination: str = "MAGAZINE"


@dataclass(frozen=True)
class FilmBoxDefaults:
    """Basic Film Box N-CREATE attributes (PS3.3 C.13.3; reference Table 3.4); None = not sent."""

    film_orientation: str = "PORTRAIT"
    film_size_id: str = "14INX17IN"
    magnification_type: str | None = None
    max_density: int | None = None
    configuration_information: str | None = None
    smoothing_type: str | None = None
    border_density: str = "BLACK"
    empty_image_density: str = "BLACK"
    min_density: int | None = None
    trim: str = "YES"
    illumination: int | None = None
    reflected_ambient_light: int | None = None


@dataclass(frozen=True)
class PrinterProfile:
    """A printer's defaults (:class:`FilmSessionDefaults`, :class:`FilmBoxDefaults`, Polarity) and quirks.

    Attributes
    ----------
    dpi
        Resolution used for a film size without an entry in ``pixels``.
    pixels
        Film Size ID -> (columns, rows) of the printable matrix, portrait.
    film_sizes
        The Film Size IDs the printer has (empty: all of PS3.3 C.13.8).
    printer_attributes
        ``"all"`` (reference Table 3.2) or ``"minimal"`` (Table 3.3) for N-GET Printer.
    presentation_lut_shape
        Presentation LUT Shape (2050,0020) sent when the printer supports Presentation LUT.
    presentation_lut_match_required
        Send the Presentation LUT as an identity LUT of 2^bits entries (matching the image's
        bit depth, as DCMTK's ``PresentationLUTMatchRequired`` printers want) instead of a shape.
    """

    name: str
    description: str = ""
    dpi: float = 300.0
    pixels: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    film_sizes: tuple[str, ...] = ()
    supports_12_bit: bool = False
    supports_presentation_lut: bool = False
    presentation_lut_shape: str = "IDENTITY"
    presentation_lut_match_required: bool = False
    implicit_vr_only: bool = False
    printer_attributes: str = "all"
    max_pdu: int = 16384
    session: FilmSessionDefaults = field(default_factory=FilmSessionDefaults)
    film_box: FilmBoxDefaults = field(default_factory=FilmBoxDefaults)
    polarity: str = "NORMAL"

    @property
    def bits(self) -> int:
        """Bits of the composed film image: 12 when the printer takes them, else 8."""
        return 12 if self.supports_12_bit else 8

    def available_film_sizes(self) -> list[FilmSize]:
        return [FILM_SIZES[f] for f in (self.film_sizes or tuple(FILM_SIZES))]

    def film_pixels(self, size: FilmSize, orient: Orientation) -> tuple[int, int]:
        """(columns, rows) of the film image for ``size`` in ``orient``."""
        fixed = self.pixels.get(size.film_size_id)
        if fixed is None:
            return size.pixels_at(self.dpi, orient)
        columns, rows = fixed
        return (rows, columns) if orient is Orientation.LANDSCAPE else (columns, rows)


def profiles_dir() -> Path:
    """The bundled profiles folder (``resources/printers``)."""
    return resources_dir() / "printers"


def _optional_int(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where} {key} = {value!r}: use a whole number of at least 0, or leave it out.")
    return value


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return check.string(raw, key, "", where) or None if key in raw else None


def _session(raw: Any, where: str) -> FilmSessionDefaults:
    raw = check.known_keys(raw, where, FilmSessionDefaults)
    d = FilmSessionDefaults()
    return FilmSessionDefaults(
        number_of_copies=check.positive_int(raw, "number_of_copies", d.number_of_copies, where),
        print_priority=check.string(raw, "print_priority", d.print_priority, where).upper(),
        medium_type=check.string(raw, "medium_type", d.medium_type, where).upper(),
        film_destination=check.string(raw, "film_destination", d.film_destination, where).upper(),
    )


def _film_box(raw: Any, where: str) -> FilmBoxDefaults:
    raw = check.known_keys(raw, where, FilmBoxDefaults)
    d = FilmBoxDefaults()
    box = FilmBoxDefaults(
        film_orientation=orientation(check.string(raw, "film_orientation", d.film_orientation, where)).value,
        film_size_id=film_size(check.string(raw, "film_size_id", d.film_size_id, where)).film_size_id,
        magnification_type=_optional_str(raw, "magnification_type", where),
        max_density=_optional_int(raw, "max_density", where),
        configuration_information=_optional_str(raw, "configuration_information", where),
        smoothing_type=_optional_str(raw, "smoothing_type", where),
        border_density=check.string(raw, "border_density", d.border_density, where).upper(),
        empty_image_density=check.string(raw, "empty_image_density", d.empty_image_density, where).upper(),
        min_density=_optional_int(raw, "min_density", where),
        trim=check.string(raw, "trim", d.trim, where).upper(),
        illumination=_optional_int(raw, "illumination", where),
        reflected_ambient_light=_optional_int(raw, "reflected_ambient_light", where),
    )
    for key in ("border_density", "empty_image_density"):
        value = getattr(box, key)
        if value not in ("BLACK", "WHITE") and not value.isdigit():
            raise ConfigError(f"{where} {key} = {value!r}: use BLACK, WHITE or a density in hundredths of OD.")
    if box.trim not in ("YES", "NO"):
        raise ConfigError(f"{where} trim = {box.trim!r}: use YES or NO.")
    return box


def _pixels(raw: Any, where: str) -> dict[str, tuple[int, int]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table of film size = [columns, rows].")
    out: dict[str, tuple[int, int]] = {}
    for key, value in raw.items():
        size = film_size(key)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)):
            raise ConfigError(f"{where} {key} = {value!r}: use [columns, rows] of the portrait film, e.g. [4096, 5120]."
                              )
        out[size.film_size_id] = (value[0], value[1])
    return out


def profile_from(raw: Mapping[str, Any], name: str) -> PrinterProfile:
    """A :class:`PrinterProfile` from the parsed TOML of profile ``name``."""
    where = f"printer profile {name!r}"
    allowed = {"description", "printer", "film_session", "film_box", "image_box"}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {sorted(unknown)}; use {sorted(allowed)}.")
    printer = raw.get("printer", {})
    if not isinstance(printer, Mapping):
        raise ConfigError(f"{where}: [printer] must be a table.")
    keys = set(PrinterProfile.__dataclass_fields__) - {"name", "description", "session", "film_box", "polarity"}
    unknown = set(printer) - keys
    if unknown:
        raise ConfigError(f"{where} [printer]: unknown key(s) {sorted(unknown)}.")
    d = PrinterProfile(name)
    attributes = check.string(printer, "printer_attributes", d.printer_attributes, where).lower()
    if attributes not in PRINTER_ATTRIBUTE_SETS:
        raise ConfigError(f"{where} printer_attributes = {attributes!r}: use \"all\" or \"minimal\".")
    sizes = printer.get("film_sizes", [])
    if not isinstance(sizes, list) or not all(isinstance(s, str) for s in sizes):
        raise ConfigError(f"{where} film_sizes: use a list of Film Size IDs such as [\"14INX17IN\"].")
    image_box = raw.get("image_box", {})
    polarity = check.string(image_box, "polarity", d.polarity, where).upper() if isinstance(image_box, Mapping) else ""
    if polarity not in ("NORMAL", "REVERSE"):
        raise ConfigError(f"{where} [image_box] polarity = {polarity!r}: use NORMAL or REVERSE.")
    profile = PrinterProfile(
        name=name,
        description=check.string(raw, "description", "", where),
        dpi=check.positive_float(printer, "dpi", d.dpi, where),
        pixels=_pixels(printer.get("pixels", {}), f"{where} [printer.pixels]"),
        film_sizes=tuple(film_size(s).film_size_id for s in sizes),
        supports_12_bit=check.bool_value(printer, "supports_12_bit", d.supports_12_bit, where),
        supports_presentation_lut=check.bool_value(
            printer, "supports_presentation_lut", d.supports_presentation_lut, where),
        presentation_lut_shape=check.string(
            printer, "presentation_lut_shape", d.presentation_lut_shape, where).upper(),
        presentation_lut_match_required=check.bool_value(
            printer, "presentation_lut_match_required", d.presentation_lut_match_required, where),
        implicit_vr_only=check.bool_value(printer, "implicit_vr_only", d.implicit_vr_only, where),
        printer_attributes=attributes,
        max_pdu=check.positive_int(printer, "max_pdu", d.max_pdu, where),
        session=_session(raw.get("film_session", {}), f"{where} [film_session]"),
        film_box=_film_box(raw.get("film_box", {}), f"{where} [film_box]"),
        polarity=polarity,
    )
    if profile.presentation_lut_shape not in ("IDENTITY", "LIN OD"):
        raise ConfigError(f"{where} presentation_lut_shape: use IDENTITY or LIN OD (PS3.3 C.11.6.1.2).")
    if profile.film_sizes and profile.film_box.film_size_id not in profile.film_sizes:
        raise ConfigError(f"{where}: the default film size {profile.film_box.film_size_id} is not in film_sizes.")
    return profile


def load_profile(name: str, folder: Path | None = None) -> PrinterProfile:
    """Read profile ``name`` from ``folder`` (default :func:`profiles_dir`)."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"Printer profile {name!r}: a profile name has letters, digits, - and _ only.")
    path = (folder or profiles_dir()) / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(profile_names(folder)) or "none"
        raise ConfigError(f"No printer profile {name!r} in {path.parent} (known: {known}); add {path.name} there.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Printer profile {path}: not valid TOML ({exc}); fix the file.") from exc
    return profile_from(raw, name)


def profile_names(folder: Path | None = None) -> list[str]:
    """Names of the profiles in ``folder`` (default :func:`profiles_dir`), sorted."""
    root = folder or profiles_dir()
    return sorted(p.stem for p in root.glob("*.toml") if _NAME.fullmatch(p.stem)) if root.is_dir() else []
