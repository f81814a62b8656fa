"""``lightbox demo``: the synthetic demo studies (:mod:`app.services.demo_studies`).

``--install`` writes them into the installed data folder (:func:`app.services.demo_files.installed_demo_dir`;
``packaging/dev.sh`` runs it after installing), ``--output DIR`` into any folder, and ``--server URL``
stores the installed ones (made on the spot when they are not installed) into a server by STOW-RS."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.errors import AppError
from app.services.demo_files import install_demo_files, load_demo_studies, write_demo_files
from app.services.studies import StudyService


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lightbox demo", description="The synthetic demo studies (CT with a "
                                     "presentation state, MR, CR with an overlay): install them, write them to a "
                                     "folder and/or store them into a Lightbox server by STOW-RS.")
    parser.add_argument("--install", action="store_true", help="write them into the installed data folder "
                        "(<prefix>/share/lightbox/demo, the frozen bundle's demo/, or $LIGHTBOX_DEMO_DIR), where "
                        "the first-run welcome loads them from")
    parser.add_argument("--output", type=Path, metavar="DIR", help="folder to write the DICOM files to")
    parser.add_argument("--server", metavar="URL", help="Lightbox server to store the installed demo studies "
                        "into (e.g. http://127.0.0.1:7880); made on the spot when they are not installed")
    args = parser.parse_args(argv)
    if not args.install and args.output is None and args.server is None:
        print("lightbox demo: give --install, --output DIR and/or --server URL.", file=sys.stderr)
        return 2
    try:
        if args.install:
            print(f"demo studies installed in {install_demo_files()}")
        if args.output is not None:
            print(f"{len(write_demo_files(args.output))} files written to {args.output}")
        if args.server is not None:
            service = StudyService.connect(args.server)
            try:
                load = load_demo_studies(service)
            finally:
                service.close()
            source = f"from {load.source}" if load.source else "made now (none installed)"
            print(f"{len(load.studies)} demo studies ({load.objects} objects, {source}) stored into {args.server}")
    except (AppError, OSError) as exc:
        print(f"lightbox demo: {exc}", file=sys.stderr)
        return 1
    return 0
