"""Time to (re)load the information window's study list from the bundled server (offscreen Qt).

Stores ``--studies`` one-image studies (from pydicom's CT_small, distinct patients, dates over a
year) by STOW-RS into a server in a temporary folder, then measures, best and median of
``--rounds``:

- ``qido_ms``: the QIDO-RS study query alone (``StudyService.list_studies``, every study);
- ``window_load_ms``: ``MainWindow.refresh_studies()`` until ``studies_loaded`` into an empty list
  (query on a worker + model reset + sorting + column fitting on the GUI thread), every study;
- ``window_unchanged_ms``: the same when the list did not change (a poll's refresh: no reset);
- ``filtered_ms``: a quick filter (patient name prefix + Last 7 days) applied to the full list.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/study_list.py [--studies 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.core.config import QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE
from app.services.embedded_server import EmbeddedServer
from app.services.studies import StudyService
from app.services.study_filters import DatePreset, StudyFilter
from app.ui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.ui.study_fixtures import StudySpec, store_study


def _populate(service: StudyService, count: int) -> None:
    today = dt.date.today()
    for i in range(count):
        spec = StudySpec(f"Patient{i:05d}^Test", f"P{i:05d}", f"A{i:06d}", today - dt.timedelta(days=i % 365),
                         ("CT", "MR", "CR")[i % 3], 1)  # fmt: skip
        store_study(service, spec)


def _wait(window: MainWindow, start: object) -> float:
    loop = QEventLoop()
    window.studies_loaded.connect(loop.quit)
    t0 = time.perf_counter()
    QTimer.singleShot(0, start)  # type: ignore[arg-type]
    loop.exec()
    window.studies_loaded.disconnect(loop.quit)
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig(data_dir=Path(tmp) / "server", storage=(StorageAE(port=0),), qr=QueryRetrieveAE(port=0),
                              mwl=WorklistAE(port=0), fsync=False)  # fmt: skip
        with EmbeddedServer.from_config(config) as server:
            service = StudyService.connect(server.http_url)
            t0 = time.perf_counter()
            _populate(service, args.studies)
            print(f"stored {args.studies} studies in {time.perf_counter() - t0:.1f} s", flush=True)
            qido = []
            for _ in range(args.rounds):
                t = time.perf_counter()
                assert len(service.list_studies()) == args.studies
                qido.append((time.perf_counter() - t) * 1000)
            window = MainWindow(service, refresh_seconds=3600)
            window.show()
            def reload() -> None:
                window.study_model.set_rows([])
                window._fitted = False
                window.refresh_studies()

            full = [_wait(window, reload) for _ in range(args.rounds)]
            assert window.study_model.rowCount() == args.studies
            unchanged = [_wait(window, window.refresh_studies) for _ in range(args.rounds)]
            window.filter_bar.blockSignals(True)
            window.filter_bar.patient_name.setText("Patient000")
            window.filter_bar.set_preset(DatePreset.LAST_7_DAYS)
            window.filter_bar.blockSignals(False)
            filtered = []
            for _ in range(args.rounds):
                window.study_filter = StudyFilter()
                _wait(window, window.refresh_studies)  # back to the full list
                window.study_filter = window.filter_bar.current()
                filtered.append(_wait(window, window.refresh_studies))
            shown = window.study_model.rowCount()
            window.shutdown()
            service.close()
    result = {
        "studies": args.studies, "rounds": args.rounds, "filtered_rows": shown,
        "load_average_1min": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
        **{f"{name}_ms": {"best": round(min(v), 1), "median": round(statistics.median(v), 1)}
           for name, v in (("qido", qido), ("window_load", full), ("window_unchanged", unchanged),
                                   ("filtered", filtered))},
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
