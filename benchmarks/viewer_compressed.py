"""A compressed series in the viewer (issue 5): memory against its pixel data, and who decodes.

A 500-image 512 x 512 CT stack (the phantom of ``viewer_responsiveness.py``) compressed with
pydicom's RLE Lossless encoder (PS3.5 A.4.2) is opened from memory. Lightbox: a 1x1 viewer
window, ``open_source(DatasetSource)``; its loader decodes each image as it arrives and keeps
one native copy (``app.services.decoded_frames.decode_in_place``); every ``decode_frame`` call
is recorded with its thread (``app.imaging.frames.add_decode_listener``) to show the GUI thread
decoded none. pyqtgraph: the plain way, every ``pixel_array`` stacked into one volume,
``setImage``. Each side runs in its own process, alternating over ``--rounds``; reported: time
to the first image painted and to everything decoded, resident set growth over the empty
viewer (compressed series included) per byte of pixel data, medians and their ratio.
Results: ``benchmarks/results/viewer_compressed.json``.

    .venv/bin/python benchmarks/viewer_compressed.py [--images 500] [--rounds 3]
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from viewer_responsiveness import (  # noqa: E402
    LEVELS,
    SIZE,
    _app,
    _wait,
    arguments,
    per_pixel_byte,
    pyqtgraph_view,
    rss,
    run_role,
    summarise,
    write_results,
)


def compressed_series(images: int) -> list[Any]:
    from pydicom.uid import RLELossless

    from tests.ui.viewer_data import ct_stack

    series = []
    for first in range(0, images, 50):
        chunk = ct_stack(min(50, images - first), SIZE, start=first * 2.0)
        for ds in chunk:
            ds.compress(RLELossless, generate_instance_uid=False)
        series += chunk
    return series


def lightbox(images: int) -> dict[str, float]:
    from app.imaging.frames import add_decode_listener
    from app.services.series_source import DatasetSource
    from app.ui.viewer_window import ViewerWindow

    app = _app()
    win = ViewerWindow()
    win.resize(1000, 860)
    win.show()
    app.processEvents()
    vp = win.active_viewport()
    gc.collect()
    before = rss()
    series = compressed_series(images)
    compressed = sum(len(ds.PixelData) for ds in series)
    threads: set[int] = set()
    add_decode_listener(lambda _ds, _frame: threads.add(threading.get_ident()))
    start = time.perf_counter()
    win.open_source(DatasetSource(tuple(series), "compressed"))
    _wait(app, lambda: vp.canvas.displayed_array() is not None)
    vp.canvas.repaint()
    first = time.perf_counter() - start
    _wait(app, lambda: not vp.loading)
    everything = time.perf_counter() - start
    del series
    app.processEvents()
    gc.collect()
    return {"first_image_ms": first * 1000, "all_decoded_ms": everything * 1000, "rss_growth": rss() - before,
            "compressed_bytes": compressed, "decode_threads": len(threads),
            "gui_thread_decoded": float(threading.main_thread().ident in threads),
            "load_average": os.getloadavg()[0]}  # fmt: skip


def plain(images: int) -> dict[str, float]:
    import numpy as np

    app = _app()
    view = pyqtgraph_view(app)
    gc.collect()
    before = rss()
    series = compressed_series(images)
    compressed = sum(len(ds.PixelData) for ds in series)
    start = time.perf_counter()
    volume = np.stack([ds.pixel_array for ds in series])
    view.setImage(volume, levels=LEVELS, autoLevels=False, autoHistogramRange=False)
    view.ui.graphicsView.viewport().repaint()
    first = time.perf_counter() - start
    for ds in series:  # pydicom keeps each decoded array beside the compressed bytes; drop it like the viewer
        ds._pixel_array = None
    app.processEvents()
    gc.collect()
    return {"first_image_ms": first * 1000, "all_decoded_ms": first * 1000, "rss_growth": rss() - before,
            "compressed_bytes": compressed, "load_average": os.getloadavg()[0]}  # fmt: skip


ROLES = {"compressed-lightbox": lightbox, "compressed-pyqtgraph": plain}


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__ or "", "viewer_compressed.json").parse_args(argv)
    if args.role in ROLES:
        print(json.dumps(ROLES[args.role](args.images)))
        return 0
    load_at_start = os.getloadavg()[0]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in ROLES}
    for round_ in range(args.rounds):
        for role in list(ROLES) if round_ % 2 == 0 else list(reversed(ROLES)):
            runs[role].append(run_role(role, "--images", str(args.images), script=__file__))
    ours, theirs = runs["compressed-lightbox"], runs["compressed-pyqtgraph"]
    pixel_bytes = args.images * SIZE * SIZE * 2
    memory = summarise(ours, theirs, "rss_growth")
    results = {
        "images": args.images,
        "size": SIZE,
        "transfer_syntax": "RLE Lossless",
        "rounds": args.rounds,
        "compressed_bytes": int(ours[0]["compressed_bytes"]),
        "pixel_bytes": pixel_bytes,
        "first_image_ms": summarise(ours, theirs, "first_image_ms"),
        "all_decoded_ms": summarise(ours, theirs, "all_decoded_ms"),
        "memory_bytes": memory,
        "memory_per_pixel_byte": per_pixel_byte(memory, pixel_bytes),
        "gui_thread_decoded": any(r["gui_thread_decoded"] for r in ours),
        "targets": {"memory_per_pixel_byte": "<= 1.5", "gui_thread_decoded": False},
    }
    write_results(args.json, results, runs, load_at_start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
