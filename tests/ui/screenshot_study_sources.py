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

from PySide6.QtWidgets import QApplication

from app.core.workstation_config import TemporaryStore
from app.services.studies import StudyService
from app.services.study_sources import TEMPORARY_STORE, TemporaryStoreSource
from app.ui.main_window import MainWindow
from tests.qr_archive import storescu_to, write_study
from tests.ui.screenshot_server import run_workstation, select_study, series_shown, stepper
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
    work = Path(tempfile.mkdtemp(prefix="lightbox-shot-"))

    def fetch(win: MainWindow) -> bool:
        source = next((s for s in win.sources.sources() if isinstance(s, TemporaryStoreSource)), None)
        if source is None or source.store is None:
            return False
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
        return True

    def select(win: MainWindow) -> bool:
        if win.study_model.rowCount() != 3:
            return False
        select_study(win, lambda s: s.study_description.startswith("CT Thorax"))
        return True

    def grab(win: MainWindow) -> bool:
        win.grab().save(str(out))
        print(f"saved {out}", flush=True)
        win.close()
        return True

    tick = stepper(app, fetch, select, series_shown(800), grab)
    return run_workstation(sys.argv[0], _populate, tick, temporary_store=TemporaryStore(port=0))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-study-sources.png")))
