"""``lightbox media``: export studies to a DICOM file-set (folder, ISO image, disc) or import one.

    lightbox media export --study UID [--study UID ...] --out DIR [--iso FILE] [--server URL]
                          [--readme] [--index] [--burn [DEVICE]]
    lightbox media import PATH [--select PATIENT_ID[/STUDY_UID[/SERIES_UID]] ...] [--server URL] [--list]

``PATH`` is a folder (a disc's mount point), a DICOMDIR file or an ISO image; without
``--select`` everything is imported; ``--list`` prints the tree and imports nothing. Without
``--server`` the configured server is used (``[workstation] server_url``; empty = the bundled
server is started for the time of the command). Exit status: 0 when everything was done, 1 when
something was left out (the report says what and why), 2 on bad arguments or when nothing could
be done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.core.config import load_config
from app.core.errors import AppError
from app.dicom.value_format import format_date, format_person_name
from app.media.tree import MediaTree, Selection
from app.services.media import import_selection, open_media
from app.services.media_export import ExportOptions, export_studies
from app.services.session import Session
from app.services.studies import StudyService


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lightbox media", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write studies of the server as a DICOM file-set")
    export.add_argument("--study", action="append", required=True, help="Study Instance UID (repeatable)")
    export.add_argument("--out", type=Path, required=True, help="new or empty folder for the file-set")
    export.add_argument("--iso", type=Path, help="also write an ISO 9660 + Joliet image here")
    export.add_argument("--readme", action="store_true", help="add README.TXT")
    export.add_argument("--index", action="store_true", help="add INDEX.HTM, the contents for a web browser")
    export.add_argument("--burn", nargs="?", const="", metavar="DEVICE",
                        help="burn on a CD/DVD (xorriso, wodim or growisofs; default drive: the first found)")
    imp = commands.add_parser("import", help="import a disc, folder, DICOMDIR or ISO image into the server")
    imp.add_argument("path", type=Path)
    imp.add_argument("--select", action="append", default=[], metavar="PATIENT_ID[/STUDY_UID[/SERIES_UID]]",
                     help="import only this patient, study or series (repeatable)")
    imp.add_argument("--list", action="store_true", help="print the tree and import nothing")
    for sub in (export, imp):
        sub.add_argument("--server", metavar="URL", help="the Lightbox server (default: the configured one)")
        sub.add_argument("--config", type=Path, action="append", default=[], help="extra configuration file (TOML)")
    return parser


@contextmanager
def _studies(args: argparse.Namespace) -> Iterator[StudyService]:
    if args.server:
        service = StudyService.connect(args.server)
        try:
            yield service
        finally:
            service.close()
        return
    session = Session.open(load_config(files=args.config))
    try:
        yield session.studies
    finally:
        session.close()


def _progress(done: int, total: int) -> None:
    print(f"\r  {done}/{total or '?'}", end="", file=sys.stderr, flush=True)


def print_tree(tree: MediaTree) -> None:
    print(f"{tree.root} ({tree.source}): {len(tree.patients)} patient(s), {tree.instance_count} object(s)")
    for patient in tree.patients:
        print(f"{patient.patient_id}  {format_person_name(patient.patient_name)}  {patient.patient_birth_date}")
        for study in patient.studies:
            print(f"  {study.study_instance_uid}  {format_date(study.study_date)}  {study.study_description}  "
                  f"[{study.modalities}]")  # fmt: skip
            for series in study.series:
                print(f"    {series.series_instance_uid}  {series.modality} {series.series_number}  "
                      f"{series.series_description}  ({len(series.instances)})")  # fmt: skip
    for problem in tree.problems:
        print(f"problem: {problem.where}: {problem.reason}")


def _import(args: argparse.Namespace) -> int:
    try:
        selections = [Selection.parse(text) for text in args.select] or None
    except ValueError as exc:
        print(f"lightbox media import: {exc}", file=sys.stderr)
        return 2
    with open_media(args.path) as opened:
        tree = opened.tree
        if args.list:
            print_tree(tree)
            return 0
        chosen = tree.instances(selections)
        if not chosen:
            print("lightbox media import: nothing to import (check --select against --list).", file=sys.stderr)
            for problem in tree.problems:
                print(f"  {problem.where}: {problem.reason}", file=sys.stderr)
            return 2
        with _studies(args) as studies:
            report = import_selection(studies, tree, selections, progress=_progress)
    print(file=sys.stderr)
    print(report.summary())
    return 0 if report.complete else 1


def _export(args: argparse.Namespace) -> int:
    options = ExportOptions(args.out, args.iso, burn=args.burn is not None, device=args.burn or None,
                            readme=args.readme, html_index=args.index)  # fmt: skip
    with _studies(args) as studies:
        report = export_studies(studies, args.study, options, progress=_progress)
    print(file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        return _import(args) if args.command == "import" else _export(args)
    except AppError as exc:
        print(f"\nlightbox media {args.command}: {exc}", file=sys.stderr)
        return 2
