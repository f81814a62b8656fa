"""Screenshot of the information window on its Temporary store source: ``QT_QPA_PLATFORM=offscreen python -m
tests.ui.screenshot_study_sources OUT.png``.

Starts a server in a temporary folder with two studies, runs the real workstation against it with
its temporary Storage SCP on a free port, sends three synthetic CT studies to that SCP with DCMTK
``storescu`` (as a Fetch would), chooses the "Temporary store" source, selects a study so its
series show, and grabs the window. Not a test.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.workstation_config import TemporaryStore
from app.services.studies import StudyService
from app.services.study_sources import TEMPORARY_STORE, TemporaryStoreSource
from tests.qr_archive import storescu_to, write_study
from tests.ui.screenshot_server import main_window, run_workstation
from tests.ui.study_fixtures import StudySpec, store_study

DAY = dt.timedelta(days=1)


def _populate(url: str) -> None:
    service = StudyService.connect(url)
    today = dt.date.today()
    for spec in (StudySpec("Doe^Jane", "PID001", "ACC1001", today, "CT", 3, "CT Head without contrast"),
                 StudySpec("Smith^John", "PID004", "ACC0987", today - DAY, "CR", 2, "Chest PA and lateral")):
        store_study(service, spec)
    service.close()


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    state: dict[str, object] = {"step": 0}
    work = Path(tempfile.mkdtemp(prefix="lightbox-shot-"))

    def tick() -> None:
        win = main_window(app)
        step = state["step"]
        if win is None:
            QTimer.singleShot(200, tick)
            return
        source = next((s for s in win.sources.sources() if isinstance(s, TemporaryStoreSource)), None)
        if step == 0 and source is not None and source.store is not None:
            today = dt.date.today()
            studies = [
                write_study(work / "1", "EXT0417", "Novak^Eva", [24, 3], study_date=f"{today - 2 * DAY:%Y%m%d}",
                            description="CT Abdomen with contrast", size=64, accession="RAD-55102"),
                write_study(work / "2", "EXT0417", "Novak^Eva", [12], study_date=f"{today - 400 * DAY:%Y%m%d}",
                            description="CT Abdomen (prior)", size=64, accession="RAD-31877"),
                write_study(work / "3", "EXT2290", "Berg^Hans", [40, 40, 2], study_date=f"{today - 9 * DAY:%Y%m%d}",
                            description="CT Thorax low dose", size=64, accession="RAD-54890"),
            ]  # fmt: skip
            storescu_to(source.store.port, source.store.ae_title, [f for s in studies for f in s.files])
            win.move(0, 0)
            win.resize(1280, 720)
            win.sources.choose_name(TEMPORARY_STORE)
            state["step"] = 1
        elif step == 1 and win.study_model.rowCount() == 3:
            row = next(i for i, s in enumerate(win.study_model.rows()) if s.study_description.startswith("CT Thorax"))
            win.study_view.selectRow(win.study_proxy.mapFromSource(win.study_model.index(row, 0)).row())
            win.study_view.setFocus()
            state["step"] = 2
        elif step == 2 and win.series_model.rowCount():
            state["step"] = 3
            QTimer.singleShot(800, tick)
            return
        elif step == 3:
            win.grab().save(str(out))
            print(f"saved {out}", flush=True)
            win.close()
            return
        QTimer.singleShot(200, tick)

    return run_workstation(sys.argv[0], _populate, tick, temporary_store=TemporaryStore(port=0))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-study-sources.png")))
