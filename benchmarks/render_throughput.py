"""Grey rendering speed: Lightbox's display pipeline side by side with DCMTK's ``dcmp2pgm``.

For a few image sizes (16-bit CT-like images with rescale and a window, explicit VR little
endian), each round times, for the same file:

- ``dcmp2pgm FILE OUT.pgm`` (one process per image: read, modality, VOI, presentation LUT,
  write PGM; includes process start-up, which the largest size amortises);
- Lightbox in one process: ``dcmread`` + decode + :class:`GreyPipeline` (table build) +
  ``render`` + PGM bytes written, i.e. the same work without the process start-up;
- Lightbox's window change on an already indexed frame (one table + one ``np.take``), which
  is what dragging the window costs in the viewer.

Prints per-size medians and the ratio lightbox/dcmtk (below 1 = Lightbox faster) and writes
JSON (default ``benchmarks/results/render_throughput.json``).

    .venv/bin/python benchmarks/render_throughput.py [--sizes 512,2048,4096] [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.imaging.frames import decode_frame  # noqa: E402
from app.imaging.pipeline import GreyPipeline  # noqa: E402
from app.imaging.voi_lut import Window  # noqa: E402


def make_image(size: int, path: Path) -> None:
    """A size x size 12-bit CT-like image with rescale -1024 and a soft-tissue window."""
    rng = np.random.default_rng(size)
    y, x = np.mgrid[0:size, 0:size]
    body = ((x - size / 2) ** 2 + (y - size / 2) ** 2 < (0.4 * size) ** 2) * 1000
    stored = np.clip(body + 24 + rng.normal(0, 30, (size, size)), 0, 4095).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.Modality = CTImageStorage, "CT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth = 1, -1024, 40, 400
    ds.PixelData = stored.tobytes()
    ds.save_as(path, enforce_file_format=True)


def lightbox_render(path: Path, out: Path) -> None:
    ds = dcmread(path)
    stored, _ = decode_frame(ds)
    pixels = GreyPipeline.from_dataset(ds).render_stored(stored)
    out.write_bytes(f"P5\n{pixels.shape[1]} {pixels.shape[0]}\n255\n".encode() + pixels.tobytes())


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(size: int, folder: Path, exe: str, rounds: int) -> dict[str, float]:
    """Median seconds of each side for one image size (alternating which runs first)."""
    path = folder / f"ct{size}.dcm"
    make_image(size, path)
    ours_run = partial(lightbox_render, path, folder / "l.pgm")
    dcmtk_run = partial(subprocess.run, [exe, str(path), str(folder / "d.pgm")], check=True)
    ours_run()  # imports and first-call costs
    dcmtk_run()
    ds = dcmread(path)
    pipe = GreyPipeline.from_dataset(ds)
    index = pipe.index(decode_frame(ds)[0])
    ours: list[float] = []
    theirs: list[float] = []
    change: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            ours.append(timed(ours_run))
            theirs.append(timed(dcmtk_run))
        else:
            theirs.append(timed(dcmtk_run))
            ours.append(timed(ours_run))
        window = Window(40 + r, 400 + 2 * r)  # a new window each round: a table build
        change.append(timed(partial(pipe.render, index, window)))
    return {
        "size": size,
        "lightbox_s": statistics.median(ours),
        "dcmtk_s": statistics.median(theirs),
        "ratio_lightbox_over_dcmtk": statistics.median(o / t for o, t in zip(ours, theirs, strict=True)),
        "window_change_s": statistics.median(change),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="512,2048,4096", help="image sizes (comma separated)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / "render_throughput.json")
    args = parser.parse_args(argv)
    exe = shutil.which("dcmp2pgm")
    if exe is None:
        print("dcmp2pgm is not installed (DCMTK); see /work/shared/PEERS.md", file=sys.stderr)
        return 2
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            row = measure(size, Path(tmp), exe, args.rounds)
            results.append(row)
            print(
                f"{size:5d}^2  lightbox {row['lightbox_s'] * 1000:8.1f} ms   dcmp2pgm {row['dcmtk_s'] * 1000:8.1f} ms"
                f"   ratio {row['ratio_lightbox_over_dcmtk']:.2f}"
                f"   window change {row['window_change_s'] * 1000:.1f} ms"
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"machine": platform.platform(), "rounds": args.rounds, "results": results}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
