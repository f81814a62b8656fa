"""The ``lightbox`` command: the workstation GUI, or a subcommand such as ``lightbox server``.

This module is the entry point that wires the two processes together; it imports the
GUI and the server lazily so that ``lightbox server`` never loads Qt and the GUI never
loads the server (it starts it as a child process).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from app import __version__
from app.core.config import load_config
from app.core.errors import AppError
from app.core.logging import setup_logging
from app.core.paths import user_log_dir

# ``lightbox <name> ...`` runs ``main(argv)`` of the module (imported only when asked for).
SUBCOMMANDS = {
    "server": "app.server.__main__",
    "render": "app.imaging.render_cli",
    "query": "app.services.query_cli",
    "retrieve": "app.services.retrieve_cli",
    "media": "app.services.media_cli",
    "print": "app.services.print_cli",
    "demo": "app.services.demo_cli",
    "install-desktop": "app.services.desktop_install",
}


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lightbox",
        description="Lightbox radiology workstation. Subcommands (each has --help): 'server' runs the "
        "image server headless; 'render' renders an image frame to PNG; 'query' and 'retrieve' search and "
        "fetch from remote archives; 'media' imports and exports CDs and DICOMDIR file sets; 'print' prints "
        "films to a DICOM printer; 'install-desktop' adds Lightbox to the Linux application menu.",
    )
    parser.add_argument("--version", action="version", version=f"Lightbox {__version__}")
    parser.add_argument("--server", metavar="URL", help="URL of a running Lightbox server "
                        "(default: start the bundled server with data in the user data directory)")
    parser.add_argument("--config", metavar="FILE", type=Path, action="append", default=[],
                        help="extra configuration file (TOML); may be given more than once")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--smoke-test", action="store_true",
                        help="start, show the main window and quit (exit code 0) once it is painted")
    parser.add_argument("paths", metavar="FILE|DIR", type=Path, nargs="*",
                        help="DICOM files, folders or DICOMDIRs to open in the viewer (not imported)")
    return parser


# Qt's own options that take a value (QGuiApplication): kept away from the FILE|DIR arguments.
_QT_VALUE_OPTIONS = {"-platform", "-platformpluginpath", "-platformtheme", "-plugin", "-qwindowgeometry",
                     "-qwindowicon", "-qwindowtitle", "-style", "-stylesheet", "-session", "-display", "-geometry"}


def _split_qt_options(args: list[str]) -> tuple[list[str], list[str]]:
    """(our arguments, Qt's options with their values)."""
    ours: list[str] = []
    qt: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in _QT_VALUE_OPTIONS:
            qt += [arg, next(it, "")]
        else:
            ours.append(arg)
    return ours, qt


def main(argv: list[str] | None = None) -> int:
    """Run ``lightbox`` with ``argv`` (default: the process arguments)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] and args_in[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[args_in[0]])
        return int(module.main(args_in[1:]))

    ours, qt_values = _split_qt_options(args_in)
    args, qt_args = _gui_parser().parse_known_args(ours)
    setup_logging(args.log_level, log_dir=user_log_dir())
    overrides = {"workstation": {"server_url": args.server}} if args.server else None
    try:
        config = load_config(files=args.config, overrides=overrides)
    except AppError as exc:
        print(f"lightbox: {exc}", file=sys.stderr)
        return 2
    from app.ui.application import run

    return run(config, [sys.argv[0], *qt_values, *qt_args], smoke_test=args.smoke_test, paths=args.paths)


if __name__ == "__main__":
    sys.exit(main())
