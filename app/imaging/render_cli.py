"""``lightbox render IMAGE [--pr GSPS] [--frame N] [--window C,W] [--output OUT.png]``.

Renders one frame through the display pipeline (:func:`app.imaging.render.render_frame`)
with its shutter, overlays, graphic annotations and text drawn, its displayed area and
spatial transform applied (what the viewer shows), and writes it as PNG at the resolution of
the image or of its displayed area (default: IMAGE's name with ``.png``). Bad input (missing
file, not DICOM, not an image, a presentation state not referencing the image, a frame out of
range) is reported on stderr with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.core.errors import AppError, DicomInputError
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
    p.add_argument("--no-annotations", action="store_true", help="do not draw the GSPS's graphics and text")
    p.add_argument("--colour", action="store_true", help="RGB output (graphic layers in their recommended colour)")
    p.add_argument("--output", "-o", type=Path, help="PNG file to write (default: IMAGE.png)")
    return p


def _read(path: Path, what: str) -> Dataset:
    """Read a DICOM file, with errors that name it."""
    if not path.is_file():
        raise DicomInputError(f"{what} {path} does not exist or is not a file.")
    try:
        return dcmread(path)
    except InvalidDicomError as exc:
        raise DicomInputError(f"{what} {path} is not a DICOM file (PS3.10 7.1): {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    """Run ``lightbox render``; 0 on success, 1 on a bad input, 2 on bad arguments."""
    args = parser().parse_args(argv)
    try:
        image = _read(args.image, "IMAGE")
        state = _read(args.pr, "--pr") if args.pr else None
        rendered = render_frame(image, args.frame - 1, state, args.window)
        out = args.output or args.image.with_suffix(".png")
        pixels = rendered.composite(
            overlays=not args.no_overlays, annotations=not args.no_annotations, colour=True if args.colour else None
        )
        write_png(pixels, out)
    except AppError as exc:
        print(f"lightbox render: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"lightbox render: cannot write or read a file: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0
