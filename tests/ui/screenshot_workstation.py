"""Screenshot of the real workstation: ``python -m tests.ui.screenshot_workstation OUT.png``.

Needs a display (e.g. ``Xvfb :99 -screen 0 1720x860x24 &`` then ``DISPLAY=:99
QT_QPA_PLATFORM=xcb``). Starts a server in a temporary folder, stores a three-image CT
series (from pydicom's CT_small) and two MR studies by STOW-RS, runs the workstation
against it, opens the CT series at image 2 and grabs the screen. Not a test.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydicom.data import get_testdata_file
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.services.studies import StudyService
from app.ui.viewer_window import ViewerWindow
from tests.ui.screenshot_server import main_window, run_workstation
from tests.ui.uihelpers import ct_series, to_bytes


def _populate(url: str) -> None:
    service = StudyService.connect(url)
    files: list[bytes | Path | str] = [to_bytes(ds) for ds in ct_series(3)]
    files += [Path(p) for p in (get_testdata_file(n, download=False) for n in ("MR_small.dcm", "emri_small.dcm")) if p]
    result = service.store_files(files)
    service.close()
    print(f"stored {result.stored}, failed {result.failed}", flush=True)


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    state: dict[str, object] = {"step": 0}

    def tick() -> None:
        win = main_window(app)
        step = state["step"]
        if win is None or (step == 0 and win.study_model.rowCount() == 0):
            QTimer.singleShot(200, tick)
            return
        if step == 0:
            win.move(0, 0)
            win.resize(1010, 860)
            row = next(i for i, s in enumerate(win.study_model.rows()) if "CT" in s.modalities)
            index = win.study_proxy.mapFromSource(win.study_model.index(row, 0))
            win.study_view.selectRow(index.row())  # lists its series below
            state["step"] = 1
        elif step == 1 and win.series_model.rowCount():
            win.series_view.selectRow(0)
            viewer = win.open_series(win.series_model.row(0))
            viewer.move(1020, 0)
            viewer.resize(700, 860)
            state.update(step=2, viewer=viewer)
        elif step == 2:
            viewer = state["viewer"]
            assert isinstance(viewer, ViewerWindow)
            if viewer.active_viewport().stack is not None:
                viewer.active_viewport().go_to(1)
                state["step"] = 3
                QTimer.singleShot(1500, tick)
                return
        elif step == 3:
            QGuiApplication.primaryScreen().grabWindow(0).save(str(out))
            print(f"saved {out}", flush=True)
            win.close()
            return
        QTimer.singleShot(200, tick)

    return run_workstation(sys.argv[0], _populate, tick)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-workstation.png")))
