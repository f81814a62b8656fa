"""``lightbox demo``: make the synthetic demo studies (:mod:`app.services.demo_studies`) and write
them to a folder (an installer can run it at install time) and/or store them into a server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.errors import AppError
from app.services.demo_studies import demo_studies, load_demo_studies
from app.services.studies import StudyService


def write_demo_studies(folder: Path) -> list[Path]:
    """Write the demo objects as DICOM files (``<patient id>/<modality><number>.dcm``); returns their paths."""
    written = []
    for study in demo_studies():
        target = folder / str(study.datasets[0].PatientID)
        target.mkdir(parents=True, exist_ok=True)
        for number, ds in enumerate(study.datasets, start=1):
            path = target / f"{ds.Modality}{number:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lightbox demo", description="Make the synthetic demo studies "
                                     "(CT with a presentation state, MR, CR with an overlay): write them to a "
                                     "folder and/or store them into a Lightbox server by STOW-RS.")
    parser.add_argument("--output", type=Path, metavar="DIR", help="folder to write the DICOM files to")
    parser.add_argument("--server", metavar="URL", help="Lightbox server to store them into (e.g. "
                        "http://127.0.0.1:7880)")
    args = parser.parse_args(argv)
    if args.output is None and args.server is None:
        print("lightbox demo: give --output DIR and/or --server URL.", file=sys.stderr)
        return 2
    try:
        if args.output is not None:
            print(f"{len(write_demo_studies(args.output))} files written to {args.output}")
        if args.server is not None:
            service = StudyService.connect(args.server)
            try:
                made = load_demo_studies(service)
            finally:
                service.close()
            print(f"{len(made)} demo studies stored into {args.server}")
    except (AppError, OSError) as exc:
        print(f"lightbox demo: {exc}", file=sys.stderr)
        return 1
    return 0
