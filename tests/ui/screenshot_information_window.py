"""Screenshot of the information window: ``xvfb-run -a -s "-screen 0 1440x900x24" python -m
tests.ui.screenshot_information_window OUT.png``.

Starts a server in a temporary folder, stores eight synthetic studies (today, yesterday, last
week, older; CT, MR, CR) by STOW-RS, approves one and marks two read through the admin API,
runs the real workstation (``app.ui.application.run``) against it, selects a study so its series
show, and grabs the screen. Not a test.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget

from app.client.admin import AdminClient
from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from tests.ui.screenshot_server import run_workstation, select_study, series_shown, stepper
from tests.ui.study_fixtures import StudySpec, store_study

DAY = dt.timedelta(days=1)


def _specs(today: dt.date) -> list[tuple[StudySpec, str]]:
    S = StudySpec
    return [
        (S("Doe^Jane", "PID001", "ACC1001", today, "CT", 3, "CT Head without contrast", "19640312"), "new"),
        (S("Roe^Richard", "PID002", "ACC1002", today, "MR", 6, "MR Knee right", "19881102"), "new"),
        (S("Moe^Anna^Maria", "PID003", "ACC0991", today - DAY, "CT", 4, "CT Chest/Abdomen", "19521230"), "read"),
        (S("Smith^John", "PID004", "ACC0987", today - DAY, "CR", 2, "Chest PA and lateral", "19790705"), "approved"),
        (S("Nguyen^Thi", "PID005", "ACC0950", today - 3 * DAY, "MR", 5, "MR Brain", "20010219"), "read"),
        (S("Garcia^Luis", "PID006", "ACC0921", today - 5 * DAY, "CT", 2, "CT Sinus", "19930808"), "new"),
        (S("Doe^Jane", "PID001", "ACC0610", today - 40 * DAY, "CR", 1, "Hand left", "19640312"), "approved"),
        (S("Kowalski^Piotr", "PID008", "ACC0432", today - 90 * DAY, "MR", 3, "MR Lumbar spine", "19470415"), "new"),
    ]


def _populate(url: str) -> None:
    service = StudyService.connect(url)
    admin = AdminClient(url)
    try:
        for spec, status in _specs(dt.date.today()):
            uid = store_study(service, spec)
            if status == "read":
                admin.mark_read(uid)
            elif status == "approved":
                admin.approve_study(uid)
    finally:
        admin.close()
        service.close()


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])

    def select(win: MainWindow) -> bool:
        if win.study_model.rowCount() < 8 or not win.study_model.status(win.study_model.row(0)):
            return False
        win.move(0, 0)
        win.resize(1440, 900)
        docks = win.findChildren(QDockWidget)
        win.resizeDocks(docks, [330] * len(docks), Qt.Orientation.Horizontal)  # the panels narrower
        select_study(win, lambda s: s.patient_id == "PID003")
        return True

    def grab(win: MainWindow) -> bool:
        QGuiApplication.primaryScreen().grabWindow(0, 0, 0, 1440, 900).save(str(out))
        print(f"saved {out}", flush=True)
        win.close()
        return True

    return run_workstation(sys.argv[0], _populate, stepper(app, select, series_shown(1000), grab))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-information-window.png")))
