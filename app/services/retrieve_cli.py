"""``lightbox retrieve``: C-MOVE a study (or series) from a remote archive.

    lightbox retrieve --node AET@HOST:PORT --study UID [--series UID ...] --to server|local|AET

``--to server`` moves to the server's Storage SCP (the first ``[[server.storage]]`` AE);
``--to local`` runs the workstation's temporary Storage SCP (``[workstation.temporary_store]``)
for the time of the move, and with ``--keep DIR`` copies what it received there (otherwise
the images are removed at exit, as the workstation does); any other value is the AE title
of the destination. Prints the sub-operation counts; exits 0 when every sub-operation
completed, 1 otherwise (the reason on standard error), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from app.core.errors import AppError
from app.net.association import AssociationError
from app.net.move import MoveProgress
from app.net.temporary_area import LOCK_NAME
from app.services.query_cli import add_common_arguments, load_cli_config, parse_node
from app.services.retrieve import RetrieveRequest, import_destination, retrieve
from app.services.session import start_temporary_store


def _print_progress(p: MoveProgress) -> None:
    print(f"  completed {max(p.completed, 0)}, remaining {max(p.remaining, 0)}, failed {max(p.failed, 0)}, "
          f"warning {max(p.warning, 0)}", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lightbox retrieve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--study", required=True, help="Study Instance UID")
    parser.add_argument("--series", action="append", default=[], help="Series Instance UID (repeatable)")
    parser.add_argument("--to", required=True, help="server, local, or a destination AE title")
    parser.add_argument("--keep", type=Path, help="with --to local: copy the received images to this folder")
    args = parser.parse_args(argv)
    try:
        config = load_cli_config(args)
        node = parse_node(args.node, config)
    except AppError as exc:
        print(f"lightbox retrieve: {exc}", file=sys.stderr)
        return 2
    request = RetrieveRequest(node, args.study, tuple(args.series))
    store = None
    if args.to == "server":
        try:
            destination = import_destination(config)
        except AppError as exc:
            print(f"lightbox retrieve: {exc}", file=sys.stderr)
            return 2
    elif args.to == "local":
        store, error = start_temporary_store(config, Path(tempfile.gettempdir()) / "lightbox-retrieve")
        if store is None:
            print(f"lightbox retrieve: {error}", file=sys.stderr)
            return 1
        destination = store.ae_title
    else:
        destination = args.to
    try:
        result = retrieve(config.workstation, request, destination, on_progress=_print_progress)
        if store is not None and store.area is not None:
            received = len(store.area.images())
            print(f"received {received} image(s) in the temporary store", file=sys.stderr)
            if args.keep:
                shutil.copytree(store.area.folder, args.keep, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(LOCK_NAME))
                print(f"copied to {args.keep}", file=sys.stderr)
    except AssociationError as exc:
        print(f"lightbox retrieve: {exc}", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.stop()
    c = result.counts
    print(f"completed={max(c.completed, 0)} failed={max(c.failed, 0)} warning={max(c.warning, 0)} "
          f"remaining={max(c.remaining, 0)} status=0x{result.status & 0xFFFF:04X}")
    if not result.ok:
        print(f"lightbox retrieve: {result.describe()}", file=sys.stderr)
        return 1
    return 0
