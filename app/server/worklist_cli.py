"""``lightbox server worklist import --server URL FILE...``: post DICOM worklist files to a server.

Each file (a DICOM Part 10 file or a bare data set, such as DCMTK's ``.wl`` files; or a
DICOM JSON data set when it ends in ``.json``) is sent to ``POST /api/worklist`` of the
running server (:meth:`app.client.dicomweb.DicomWebClient.create_worklist_item`). One line
is printed per file: the id it got, or why it failed. The exit code is 0 when every file
was imported, 1 when any failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from app.client.dicomweb import DicomWebClient
from app.core.errors import AppError, ServerUnavailableError
from app.server.worklist_items import MAX_ITEM_BYTES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lightbox server worklist", description="Manage a server's worklist.")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="post DICOM worklist files (.wl, Part 10, DICOM JSON) to a server",
                              description="Post DICOM worklist files to the /api/worklist of a running server.")
    imp.add_argument("--server", required=True, metavar="URL", help="HTTP URL of the server, e.g. http://127.0.0.1:7880")
    imp.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server (default 30)")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE", help="worklist files")
    return parser


def _content(path: Path) -> tuple[bytes, str]:
    """The body and content type of one file; raises AppError when it cannot be sent."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AppError(f"cannot read it ({exc.strerror or exc})") from None
    if not path.is_file():
        raise AppError("it is not a file")
    if size > MAX_ITEM_BYTES:
        raise AppError(f"it is {size} bytes; a worklist item may be at most {MAX_ITEM_BYTES} bytes")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AppError(f"cannot read it ({exc.strerror or exc})") from None
    kind = "application/dicom+json" if path.suffix.lower() == ".json" else "application/dicom"
    return data, kind


def import_files(url: str, files: list[Path], *, timeout: float = 30.0, out: TextIO = sys.stdout) -> int:
    """Post each file; print what was imported and what failed. Returns the exit code (0 or 1)."""
    failed = 0
    with DicomWebClient(url, timeout=timeout) as client:
        for path in files:
            try:
                data, kind = _content(path)
                item_id = client.create_worklist_item(data, kind)
            except ServerUnavailableError as exc:
                print(f"FAILED {path}: {exc}", file=out)
                failed += 1
                for rest in files[files.index(path) + 1:]:
                    print(f"FAILED {rest}: not sent (the server cannot be reached)", file=out)
                    failed += 1
                break
            except AppError as exc:
                print(f"FAILED {path}: {exc}", file=out)
                failed += 1
                continue
            print(f"imported {path} as worklist item {item_id}", file=out)
    print(f"{len(files) - failed} imported, {failed} failed", file=out)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``lightbox server worklist``; returns the exit code."""
    args = _parser().parse_args(argv)
    return import_files(args.server, list(args.files), timeout=args.timeout)
