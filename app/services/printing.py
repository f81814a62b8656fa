"""Printing films: compose the collected images and send them to a DICOM printer or a file.

The use-case behind the print preview and ``lightbox print``. Films are composed by
:mod:`app.printing.compose` from :class:`~app.printing.print_images.PrintImage` objects (the
viewer's rendered images, or data sets rendered here), one film per page of the layout, and
printed one association per film, one job at a time (reference 3.3.1.2), by
:func:`app.net.print_scu.print_film`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from app.core.errors import ConfigError, DicomInputError
from app.core.workstation_config import PrinterConfig, WorkstationConfig
from app.imaging.frames import number_of_frames
from app.net.association import Peer
from app.net.print_scu import PrintOutcome, print_film
from app.printing.compose import FIT, FilmImage, FilmSpec, compose_film, film_spec, paginate
from app.printing.film_job import film_job
from app.printing.film_output import write_films
from app.printing.film_sizes import film_size, orientation
from app.printing.layouts import layout
from app.printing.print_images import PrintImage, print_image
from app.printing.profiles import PrinterProfile, load_profile

_ONE_JOB_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class FilmSettings:
    """The user's choices for a print: film size, orientation, layout, fit/fill, header and scale."""

    film_size_id: str = "14INX17IN"
    orientation: str = "PORTRAIT"
    layout: str = "1x1"
    mode: str = FIT
    header: bool = True
    scale: bool = True

    @classmethod
    def of(cls, profile: PrinterProfile, **changes: object) -> FilmSettings:
        """The profile's film size and orientation, with ``changes`` (None values ignored)."""
        base = cls(profile.film_box.film_size_id, profile.film_box.film_orientation)
        return replace(base, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def parse_printer(text: str) -> Peer:
    """``AET@HOST:PORT`` as a :class:`~app.net.association.Peer`."""
    ae_title, at, rest = text.partition("@")
    host, colon, port = rest.rpartition(":")
    if not (at and colon and ae_title and host and port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(f"Printer {text!r}: write it as AET@HOST:PORT, e.g. PRINT_SERVER_SCP@10.0.0.5:104.")
    return Peer(ae_title, host, int(port))


def peer_of(printer: PrinterConfig) -> Peer:
    return Peer(printer.ae_title, printer.host, printer.port)


def film_spec_for(profile: PrinterProfile, settings: FilmSettings, modes: Sequence[str] = ()) -> FilmSpec:
    """The :class:`~app.printing.compose.FilmSpec` of ``settings`` on a printer of ``profile``."""
    size = film_size(settings.film_size_id)
    if profile.film_sizes and size.film_size_id not in profile.film_sizes:
        raise ConfigError(
            f"Printer profile {profile.name!r} has no {size.film_size_id} film; "
            f"use one of {', '.join(profile.film_sizes)}."
        )
    return film_spec(
        profile, size, orientation(settings.orientation), layout(settings.layout),
        mode=settings.mode, modes=tuple(modes), header=settings.header, scale=settings.scale,
    )


def compose_films(
    images: Sequence[PrintImage], profile: PrinterProfile, settings: FilmSettings, modes: Sequence[str] = ()
) -> list[FilmImage]:
    """``images`` composed into films of ``settings.layout`` (``modes``: fit/fill per image, in order)."""
    spec = film_spec_for(profile, settings)
    films = []
    start = 0
    for page in paginate(images, spec.layout):
        page_spec = replace(spec, modes=tuple(modes[start : start + len(page)]))
        films.append(compose_film(page, page_spec))
        start += len(page)
    return films


def images_from_datasets(datasets: Iterable[Dataset], bits: int = 8) -> list[PrintImage]:
    """Every frame of each image data set, rendered for a film of ``bits`` bits (its own window)."""
    out = []
    for ds in datasets:
        for frame in range(number_of_frames(ds)):
            out.append(print_image(ds, frame, bits=bits))
    return out


def images_from_files(paths: Iterable[Path], bits: int = 8) -> list[PrintImage]:
    """:func:`images_from_datasets` of DICOM files."""
    datasets = []
    for path in paths:
        try:
            datasets.append(pydicom.dcmread(path))
        except (OSError, pydicom.errors.InvalidDicomError) as exc:
            raise DicomInputError(f"Cannot read {path}: {exc}; give DICOM image files.") from exc
    return images_from_datasets(datasets, bits)


class PrintService:
    """Printers, profiles and print jobs of the workstation (``[workstation]`` printers + profiles)."""

    def __init__(self, config: WorkstationConfig, profiles_folder: Path | None = None) -> None:
        self.config = config
        self.profiles_folder = profiles_folder

    @property
    def printers(self) -> tuple[PrinterConfig, ...]:
        return self.config.printers

    def profile(self, name: str = "default") -> PrinterProfile:
        return load_profile(name, self.profiles_folder)

    def profile_of(self, printer: PrinterConfig) -> PrinterProfile:
        return self.profile(printer.profile)

    def print_films(
        self,
        peer: Peer,
        profile: PrinterProfile,
        films: Sequence[FilmImage],
        on_film: Callable[[int, PrintOutcome], None] | None = None,
    ) -> list[PrintOutcome]:
        """Print each film on ``peer``, one association per film, one job at a time; stops at the first
        film not printed (the outcome says why) or association failure (raised)."""
        outcomes: list[PrintOutcome] = []
        with _ONE_JOB_AT_A_TIME:
            for index, film in enumerate(films):
                outcome = print_film(
                    peer, film_job(film, profile), self.config.print_calling_ae_title, self.config.network_timeout
                )
                outcomes.append(outcome)
                if on_film is not None:
                    on_film(index, outcome)
                if not outcome.printed:
                    break
        return outcomes

    @staticmethod
    def write(films: Sequence[FilmImage], path: Path) -> list[Path]:
        """Write ``films`` to a PDF or PNG file (:func:`~app.printing.film_output.write_films`)."""
        return write_films(films, path)
