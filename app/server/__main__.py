"""``python -m app.server`` / ``lightbox server``: the headless image server.

Usage::

    python -m app.server --data-dir DIR [--config FILE] [--http-port N] [--log-level LEVEL]
                         [--max-request-bytes N]
    python -m app.server worklist import --server URL FILE...   (see app.server.worklist_cli)

Prints one ``LIGHTBOX-READY {"http_url": ..., "storage": [...]}`` line on stdout once it
accepts requests, serves until SIGINT or SIGTERM, then stops cleanly (exit code 0).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from app.core.config import ServerConfig, load_config
from app.core.errors import AppError
from app.core.logging import setup_logging

LOGGER = logging.getLogger("app.server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lightbox server", description="Lightbox image server (headless).",
        epilog="'lightbox server worklist import --server URL FILE...' posts DICOM worklist files (.wl) "
        "to a running server instead.",
    )
    parser.add_argument("--data-dir", type=Path, help="folder of the index and the storage area")
    parser.add_argument("--config", type=Path, action="append", default=[], help="extra TOML configuration file")
    parser.add_argument("--http-port", type=int, help="port of the HTTP API (0 = any free port)")
    parser.add_argument("--max-request-bytes", type=int, default=None,
                        help="largest HTTP request body accepted (STOW-RS), in bytes "
                        "(default: http_max_request_bytes of the configuration, 2 GiB)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="also log to server.log in this folder, rotated by size (the workstation passes "
                        "its user log directory to the bundled server)")
    parser.add_argument("--stop-with-stdin", action="store_true",
                        help="stop cleanly when standard input reaches its end: the workstation starts its bundled "
                        "server with a pipe here, so the server never outlives it, even after a crash")
    return parser


def _stop_when_stdin_closes() -> None:
    """Raise SIGTERM in this process once standard input ends (the parent closed the pipe or died)."""

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside the buffered
        # reader holds its lock, and the interpreter aborts when it finalizes stdin at the stop.
        try:
            fd = sys.stdin.fileno()
            while os.read(fd, 4096):
                pass
        except (OSError, ValueError):
            pass
        LOGGER.info("the process that started the server is gone; stopping")
        signal.raise_signal(signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="stdin-watch").start()


def _open_index(config: ServerConfig) -> Any:
    # The composition root: the only place outside app.server.index that names it.
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its import logs plugin setup at INFO
    from app.server.index.stores import open_index

    return open_index(
        config.effective_index_url(),
        busy_timeout_ms=config.index_busy_timeout_ms,
        synchronous_full=config.fsync and config.sync_directories,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the server (or its ``worklist`` subcommand); returns the process exit code (0 after a clean stop)."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["worklist"]:
        from app.server.worklist_cli import main as worklist_main

        return worklist_main(argv[1:])
    args = _parser().parse_args(argv)
    level = str(args.log_level).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        print(f"--log-level {args.log_level!r}: use DEBUG, INFO, WARNING or ERROR", file=sys.stderr)
        return 2
    setup_logging(level, log_dir=args.log_dir, log_name="server.log")
    if args.stop_with_stdin:
        _stop_when_stdin_closes()
    overrides: dict[str, Any] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = str(args.data_dir)
    if args.http_port is not None:
        overrides["http_port"] = args.http_port
    if args.max_request_bytes is not None:
        overrides["http_max_request_bytes"] = args.max_request_bytes
    try:
        config = load_config(files=list(args.config), overrides={"server": overrides})
        from app.server.app import run

        return run(config.server, _open_index, max_request_bytes=config.server.http_max_request_bytes)
    except AppError as exc:
        LOGGER.error("%s", exc)
        return 1


def exit_now(code: int) -> NoReturn:
    """Exit with ``code`` once the server has stopped, skipping the interpreter's teardown.

    By then every service is stopped, the index closed and the files flushed; what is left is
    freeing thousands of imported modules' objects one by one, which took 2 to 3 seconds of
    every stop (the workstation's bundled server, each test server). Log handlers and the
    standard streams are flushed first.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
