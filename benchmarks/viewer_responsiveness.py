"""Viewer responsiveness (issue 5), each number side by side with a plain pyqtgraph ``ImageView``.

1. Scrolling: frames per second while stepping through a 500-image 512 x 512 CT stack (signed
   16-bit, a phantom with an overlay plane) from the first image to the last, each step painted
   (``repaint()``, offscreen Qt). Lightbox: a 1x1 viewer window, the pipeline's grey table,
   overlay layer, corner text, orientation labels and scale bar, frames decoded on demand (64
   kept). pyqtgraph: an ``ImageView`` given the same frames as one (500, 512, 512) int16 volume
   with fixed levels (W 400 L 40), ``setCurrentIndex`` per step. Both live in one process and
   step alternately, 25 frames at a time, so a busy machine slows both alike.
2. Open: the same series stored on the bundled server (``python -m app.server``, STOW-RS), then
   the time from opening it to the first image painted. Lightbox: the real path, the
   information window (:class:`app.ui.main_window.MainWindow`) on that server with its study
   list loaded and the study row selected (its series listed), then Enter on the row (the
   view's ``activated``, what a double-click emits): the series listed on a worker,
   :class:`~app.ui.viewer_launch.ViewerLauncher` makes the viewer window, WADO-RS streamed, the
   first part shown as soon as it is parsed (compressed images are decoded by the loader,
   never the GUI thread); after the start-up warm-up the application runs once its
   information window is up (:func:`app.ui.viewer_warmup.warm_up_viewer`, its time reported as
   ``warm_up_ms``); ``first_image_cold_ms`` is the same open in a fresh process without it.
   pyqtgraph: the plain way, the same WADO-RS response read whole, stacked
   into a volume, ``setImage``.
3. Memory: resident set growth once the whole series is loaded, against the series' pixel data
   (rows x columns x 2 bytes x images).

Each measurement runs in its own process (``--role``), both sides alternate over ``--rounds``
(each run records the load average; the machine is shared, so run it when the load is low);
medians are reported with the ratio lightbox / pyqtgraph (for frames per second, higher is
better; for times and memory, lower). Results: ``benchmarks/results/viewer_responsiveness.json``.

    .venv/bin/python benchmarks/viewer_responsiveness.py [--images 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from store_throughput import stop, wait_ready  # noqa: E402

SIZE = 512
LEVELS = (-160.0, 240.0)  # W 400 L 40, the series' own window
CHUNK = 25


def rss() -> int:
    """Resident set size of this process in bytes (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _wait(app: Any, done: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.0005)


def pyqtgraph_view(app: Any) -> Any:
    """A plain pyqtgraph ``ImageView`` of 860 x 860 (the viewer's canvas), shown and painted once."""
    import pyqtgraph as pg

    view = pg.ImageView()
    view.resize(860, 860)
    view.show()
    app.processEvents()
    return view


# -- roles (each in its own process) -----------------------------------------------------


def fps_both(images: int) -> dict[str, float]:
    """Both viewers in one process, stepping alternately in chunks of :data:`CHUNK` frames.

    The machine is shared: interleaving gives both sides the same load, so their ratio holds
    even when the absolute rates move.
    """
    import numpy as np

    from app.services.series_source import DatasetSource
    from app.ui.viewer_window import ViewerWindow
    from tests.ui.viewer_data import ct_stack

    app = _app()
    series = ct_stack(images, SIZE)
    win = ViewerWindow()
    win.resize(1000, 860)
    win.show()
    vp = win.active_viewport()
    win.open_source(DatasetSource(tuple(series), "fps"))
    _wait(app, lambda: not vp.loading and vp.stack is not None and len(vp.stack) == images)
    volume = np.stack([ds.pixel_array for ds in series])  # the same frames, as pyqtgraph takes them
    view = pyqtgraph_view(app)
    view.setImage(volume, levels=LEVELS, autoLevels=False, autoHistogramRange=False)
    screen = view.ui.graphicsView.viewport()
    app.processEvents()
    vp.canvas.repaint()
    screen.repaint()

    def lightbox(position: int) -> None:
        vp.go_to(position)
        vp.canvas.repaint()

    def plain(position: int) -> None:
        view.setCurrentIndex(position)
        screen.repaint()

    spent = {"lightbox": 0.0, "pyqtgraph": 0.0}
    for first in range(1, images, CHUNK):
        chunk = range(first, min(first + CHUNK, images))
        sides = [("lightbox", lightbox), ("pyqtgraph", plain)]
        for name, step in sides if first % (2 * CHUNK) == 1 else reversed(sides):
            start = time.perf_counter()
            for position in chunk:
                step(position)
            spent[name] += time.perf_counter() - start
    assert vp.canvas.view_text is not None and vp.renderer is not None and vp.renderer.overlays(vp.position)
    return {
        "lightbox": (images - 1) / spent["lightbox"],
        "pyqtgraph": (images - 1) / spent["pyqtgraph"],
        "canvas": f"{vp.canvas.width()}x{vp.canvas.height()}",  # type: ignore[dict-item]
        "pyqtgraph_viewport": f"{screen.width()}x{screen.height()}",  # type: ignore[dict-item]
        "load_average": os.getloadavg()[0],
    }


def open_lightbox(url: str, study: str, warm: bool = True) -> dict[str, float]:
    """The information window on the server: the study row selected, then Enter (what a double-click does).

    Timed from the key press to the first image painted in the viewer window it opens: the
    study's series listed on a worker, :class:`~app.ui.viewer_launch.ViewerLauncher` making the
    viewer window, WADO-RS streaming, the first image rendered and painted.
    """
    from PySide6.QtCore import QItemSelectionModel, Qt
    from PySide6.QtTest import QTest

    from app.services.studies import StudyService
    from app.ui.main_window import MainWindow
    from app.ui.viewer_warmup import warm_up_viewer
    from app.ui.viewer_window import ViewerWindow

    app = _app()
    studies = StudyService.connect(url)
    win = MainWindow(studies, refresh_seconds=600)
    win.show()
    loaded: list[int] = []
    win.studies_loaded.connect(loaded.append)
    win.start()  # as the application does: the study list, then (below) the warm-up
    _wait(app, lambda: bool(loaded))
    warm_up_ms = 0.0
    if warm:
        start = time.perf_counter()
        warming = warm_up_viewer()
        _wait(app, lambda: warming is None or bool(warming.warmed))  # type: ignore[attr-defined]
        warm_up_ms = (time.perf_counter() - start) * 1000
        app.processEvents()
    row = win.study_model.row_of(study)
    assert row >= 0, "the study is not in the list"
    index = win.study_proxy.mapFromSource(win.study_model.index(row, 0))
    listed: list[int] = []
    win.series_loaded.connect(listed.append)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    win.study_view.selectionModel().setCurrentIndex(index, flags)  # the user's click on the row
    _wait(app, lambda: bool(listed))  # its series below, as before the double-click
    opened: list[ViewerWindow] = []
    win.viewer_opened.connect(opened.append)
    win.study_view.setFocus()
    app.processEvents()
    gc.collect()
    before = rss()
    start = time.perf_counter()
    QTest.keyClick(win.study_view, Qt.Key.Key_Return)  # the view's activated(): Enter, or a double-click
    _wait(app, lambda: bool(opened) and opened[0].active_viewport().canvas.displayed_array() is not None)
    vp = opened[0].active_viewport()
    vp.canvas.repaint()
    first = time.perf_counter() - start
    _wait(app, lambda: not vp.loading)
    everything = time.perf_counter() - start
    assert vp.stack is not None
    pixels = sum(int(ds.Rows) * int(ds.Columns) * 2 for ds in vp.stack.datasets)
    app.processEvents()
    gc.collect()
    result = {"first_image_ms": first * 1000, "all_loaded_ms": everything * 1000, "rss_growth": rss() - before,
              "pixel_bytes": pixels, "images": len(vp.stack.datasets), "load_average": os.getloadavg()[0],
              "warm_up_ms": warm_up_ms}  # fmt: skip
    win.shutdown()
    return result


def open_pyqtgraph(url: str, study: str) -> dict[str, float]:
    import numpy as np

    from app.services.series_source import parse_part
    from app.services.studies import StudyService

    app = _app()
    studies = StudyService.connect(url)
    series = studies.list_series(study)[0]
    view = pyqtgraph_view(app)
    gc.collect()
    before = rss()
    start = time.perf_counter()
    parts = studies.client.retrieve_series(study, series.series_instance_uid)
    datasets = sorted((parse_part(p, series.series_instance_uid) for p in parts), key=lambda ds: int(ds.InstanceNumber))
    volume = np.stack([ds.pixel_array for ds in datasets])
    del datasets
    view.setImage(volume, levels=LEVELS, autoLevels=False, autoHistogramRange=False)
    view.ui.graphicsView.viewport().repaint()
    first = time.perf_counter() - start
    gc.collect()
    return {"first_image_ms": first * 1000, "all_loaded_ms": first * 1000, "rss_growth": rss() - before,
            "pixel_bytes": int(volume.nbytes), "images": int(volume.shape[0]),
            "load_average": os.getloadavg()[0]}  # fmt: skip


ROLES = {"fps": fps_both}


def open_lightbox_cold(url: str, study: str) -> dict[str, float]:
    """The same without the application's start-up warm-up: the first image of a fresh process."""
    return open_lightbox(url, study, warm=False)


OPEN_ROLES = {
    "open-lightbox": open_lightbox,
    "open-lightbox-cold": open_lightbox_cold,
    "open-pyqtgraph": open_pyqtgraph,
}


# -- orchestration -----------------------------------------------------------------------


def run_role(role: str, *args: str, script: str = __file__) -> dict[str, float]:
    """Run ``script --role role args`` in its own process; its last output line is the result (JSON)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, script, "--role", role, *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    if out.returncode != 0:
        raise SystemExit(f"{role} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {role}: {result}", flush=True)
    return result


def start_server(work: Path) -> tuple[subprocess.Popen[str], str]:
    data_dir = work / "data"
    config = work / "server.toml"
    config.write_text(
        f'[server]\ndata_dir = "{data_dir.as_posix()}"\nhttp_port = 0\ndicom_host = "127.0.0.1"\n'
        '[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = 0\n[server.qr]\nport = 0\n[server.mwl]\nport = 0\n'
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--data-dir", str(data_dir), "--config", str(config),
         "--log-level", "WARNING"],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    return proc, str(wait_ready(proc)["http_url"])


def store_series(url: str, images: int) -> str:
    from app.services.studies import StudyService
    from tests.ui.viewer_data import ct_stack, part10

    series = ct_stack(images, SIZE)
    studies = StudyService.connect(url, timeout=300)
    for first in range(0, images, 50):
        result = studies.store_files([part10(ds) for ds in series[first : first + 50]])
        assert result.stored == len(series[first : first + 50]), result
    return str(series[0].StudyInstanceUID)


def summarise(
    lightbox: list[dict[str, float]], pyqtgraph: list[dict[str, float]], key: str, other_key: str | None = None
) -> dict[str, float]:
    a = statistics.median(r[key] for r in lightbox)
    b = statistics.median(r[other_key or key] for r in pyqtgraph)
    return {"lightbox": round(a, 3), "pyqtgraph": round(b, 3), "ratio": round(a / b, 3) if b else 0.0}


def per_pixel_byte(memory: dict[str, float], pixel_bytes: float) -> dict[str, float]:
    """Each side's resident set growth (a :func:`summarise` of ``rss_growth``) per byte of pixel data."""
    return {
        "lightbox": round(memory["lightbox"] / pixel_bytes, 3),
        "pyqtgraph": round(memory["pyqtgraph"] / pixel_bytes, 3),
    }


def arguments(description: str, results: str) -> argparse.ArgumentParser:
    """The options every viewer benchmark takes: ``--images``, ``--rounds``, ``--json`` (default
    ``benchmarks/results/<results>``) and the hidden ``--role`` its own processes are run with."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "results" / results)
    parser.add_argument("--role", help=argparse.SUPPRESS)
    return parser


def write_results(
    path: Path, results: dict[str, Any], runs: dict[str, list[dict[str, float]]], load_at_start: float
) -> None:
    """Write ``results`` with every run, the CPU count and the load average at start and end to
    ``path`` (JSON), and print them without the runs."""
    results = {
        **results,
        "runs": runs,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg()[0],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))


def paired(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Medians of both sides measured together, and the median of each round's ratio."""
    out = summarise(rounds, rounds, "lightbox", "pyqtgraph")
    out["ratio"] = round(statistics.median(r["lightbox"] / r["pyqtgraph"] for r in rounds), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = arguments(__doc__ or "", "viewer_responsiveness.json")
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--study", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role in ROLES:
        print(json.dumps(ROLES[args.role](args.images)))
        return 0
    if args.role in OPEN_ROLES:
        print(json.dumps(OPEN_ROLES[args.role](args.url, args.study)))
        return 0

    load_at_start = os.getloadavg()[0]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in (*ROLES, *OPEN_ROLES)}
    print(f"scrolling {args.images} images of {SIZE} x {SIZE}", flush=True)
    for _ in range(args.rounds):
        runs["fps"].append(run_role("fps", "--images", str(args.images)))
    with tempfile.TemporaryDirectory(prefix="lightbox-viewer-bench-") as tmp:
        proc, url = start_server(Path(tmp))
        try:
            study = store_series(url, args.images)
            print(f"opening the series from {url}", flush=True)
            for round_ in range(args.rounds):
                order = list(OPEN_ROLES) if round_ % 2 == 0 else list(reversed(OPEN_ROLES))
                for role in order:
                    runs[role].append(run_role(role, "--url", url, "--study", study))
        finally:
            stop(proc)
    pixel_bytes = runs["open-lightbox"][0]["pixel_bytes"]
    memory = summarise(runs["open-lightbox"], runs["open-pyqtgraph"], "rss_growth")
    results = {
        "images": args.images,
        "size": SIZE,
        "rounds": args.rounds,
        "scroll_fps": paired(runs["fps"]),
        "first_image_ms": summarise(runs["open-lightbox"], runs["open-pyqtgraph"], "first_image_ms"),
        "first_image_cold_ms": summarise(runs["open-lightbox-cold"], runs["open-pyqtgraph"], "first_image_ms"),
        "warm_up_ms": round(statistics.median(r["warm_up_ms"] for r in runs["open-lightbox"]), 1),
        "all_loaded_ms": summarise(runs["open-lightbox"], runs["open-pyqtgraph"], "all_loaded_ms"),
        "memory_bytes": memory,
        "pixel_bytes": pixel_bytes,
        "memory_per_pixel_byte": per_pixel_byte(memory, pixel_bytes),
        "targets": {"scroll_fps": ">= 60", "first_image_ms": "<= 300", "memory_per_pixel_byte": "<= 1.5"},
    }
    write_results(args.json, results, runs, load_at_start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
