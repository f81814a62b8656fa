"""``lightbox render IMAGE [--pr GSPS] [--frame N] [--window C,W] [--output OUT.png]``.

Renders one frame through the display pipeline (:func:`app.imaging.render.render_frame`)
with its shutter and overlays drawn, its displayed area and spatial transform applied, and
writes it as PNG (default: IMAGE's name with ``.png``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from app.core.errors import AppError
from app.imaging.render import render_frame, write_png
from app.imaging.voi_lut import Window


def _window(text: str) -> Window:
    try:
        center, width = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--window wants CENTER,WIDTH (e.g. 40,400), not {text!r}") from exc
    return Window(center, width)


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``lightbox render``."""
    p = argparse.ArgumentParser(prog="lightbox render", description="Render a DICOM image frame to PNG.")
    p.add_argument("image", type=Path, help="DICOM image file")
    p.add_argument("--pr", type=Path, help="Grayscale Softcopy Presentation State to apply")
    p.add_argument("--frame", type=int, default=1, help="frame number, from 1 (default 1)")
    p.add_argument("--window", type=_window, help="window CENTER,WIDTH in modality units (overrides image and GSPS)")
    p.add_argument("--no-overlays", action="store_true", help="do not draw overlays")
    p.add_argument("--output", "-o", type=Path, help="PNG file to write (default: IMAGE.png)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``lightbox render``; 0 on success, 1 on a bad input, 2 on bad arguments."""
    args = parser().parse_args(argv)
    try:
        image = dcmread(args.image)
        state = dcmread(args.pr) if args.pr else None
        rendered = render_frame(image, args.frame - 1, state, args.window)
        out = args.output or args.image.with_suffix(".png")
        write_png(rendered.composite(overlays=not args.no_overlays), out)
    except (AppError, InvalidDicomError, OSError) as exc:
        print(f"lightbox render: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0
