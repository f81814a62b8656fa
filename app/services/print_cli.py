"""``lightbox print``: compose DICOM images into films and print them to a DICOM printer or a file.

``lightbox print --printer AET@HOST:PORT [--profile NAME] [--layout 2x2] [--film-size 14INX17IN]
[--orientation PORTRAIT] FILE...`` prints the printer's status, each film's outcome (every
response with its meaning) and exits 0 when every film was printed. ``--printer`` may also name
a printer of ``[[workstation.printers]]`` (its profile is then the default); ``--output
film.pdf`` or ``film.png`` writes the same films to a file instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.config import load_config
from app.core.errors import AppError
from app.net.association import AssociationError, Peer
from app.net.print_scu import PrintOutcome
from app.printing.compose import FILL, FIT, FilmImage
from app.printing.film_sizes import FILM_SIZES
from app.services.printing import (
    FilmSettings,
    PrintService,
    compose_films,
    images_from_files,
    parse_printer,
    peer_of,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lightbox print", description=__doc__.split("\n\n")[0])
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--printer", help="AET@HOST:PORT, or the name of a configured printer")
    target.add_argument("--output", type=Path, help="write the films to this .pdf or .png file instead")
    p.add_argument("--profile", help="printer profile (resources/printers/NAME.toml; default: the printer's, "
                   "else 'default')")
    p.add_argument("--layout", default="1x1", help="columns x rows, e.g. 1x1, 2x2, 4x5 (default 1x1)")
    p.add_argument("--film-size", help=f"Film Size ID (default: the profile's): {', '.join(FILM_SIZES)}")
    p.add_argument("--orientation", type=str.upper, choices=("PORTRAIT", "LANDSCAPE"),
                   help="film orientation (default: the profile's)")
    p.add_argument("--fill", action="store_true", help="fill each cell (cut the overflow) instead of fitting")
    p.add_argument("--no-header", action="store_true", help="leave out the patient/study/institution header")
    p.add_argument("--config", type=Path, action="append", default=[], help="extra configuration file (TOML)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="DICOM image files, printed in this order")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    films: list[FilmImage] = []
    outcomes: list[PrintOutcome] = []
    try:
        config = load_config(files=args.config).workstation
        service = PrintService(config)
        peer: Peer | None = None
        profile_name = args.profile
        if args.printer:
            if "@" in args.printer:
                peer = parse_printer(args.printer)
            else:
                configured = config.printer(args.printer)
                peer, profile_name = peer_of(configured), profile_name or configured.profile
        profile = service.profile(profile_name or "default")
        settings = FilmSettings.of(
            profile, film_size_id=args.film_size, orientation=args.orientation, layout=args.layout,
            mode=FILL if args.fill else FIT, header=not args.no_header,
        )
        films = compose_films(images_from_files(args.files, profile.bits), profile, settings)
        if peer is None:
            for path in service.write(films, args.output):
                print(f"wrote {path}")
            return 0
        print(f"printing {len(films)} film(s) of {settings.film_size_id} {settings.orientation} {settings.layout}, "
              f"{profile.bits} bit, to {peer} as {config.print_calling_ae_title} (profile {profile.name})")
        service.print_films(peer, profile, films, on_film=lambda _i, o: outcomes.append(o))
    except AssociationError as exc:
        done = sum(o.printed for o in outcomes)
        print(f"lightbox print: {exc} {done} of {len(films)} film(s) printed.", file=sys.stderr)
        return 1
    except AppError as exc:
        print(f"lightbox print: {exc}", file=sys.stderr)
        return 1
    for index, outcome in enumerate(outcomes, start=1):
        print(f"film {index}:")
        for line in outcome.lines():
            print(f"  {line}")
        for warning in outcome.warnings:
            print(f"  warning: {warning}")
    if len(outcomes) < len(films) or not all(o.printed for o in outcomes):
        print(f"lightbox print: {sum(o.printed for o in outcomes)} of {len(films)} film(s) printed.", file=sys.stderr)
        return 1
    return 0
