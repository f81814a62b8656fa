"""Screenshot of the search panel: ``python -m tests.ui.screenshot_search OUT.png``.

Needs a display (e.g. ``Xvfb :99 -screen 0 1400x900x24 &`` then ``DISPLAY=:99
QT_QPA_PLATFORM=xcb``). Starts DCMTK ``dcmqrscp`` with three small CT studies in a temporary
folder, configures it and a node that is down, searches ``SMITH*`` across both, expands the
first study to its series and grabs the panel. Not a test.
"""

from __future__ import annotations

import socket
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.core.config import Config
from app.core.workstation_config import RemoteNode, WorkstationConfig
from app.ui.search_panel import SearchPanel
from tests.qr_archive import ARCHIVE_AE, Dcmqrscp, write_study


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    work = Path(tempfile.mkdtemp(prefix="lightbox-search-shot-"))
    archive = Dcmqrscp(work).start()
    studies = [
        write_study(work / "in", "P001", "SMITH^ANNA", [4, 3], study_date="20240105", description="CT CHEST"),
        write_study(work / "in", "P002", "SMITHSON^PAUL", [2], study_date="20240310", description="CT HEAD"),
        write_study(work / "in", "P017", "SMITH^JOHN", [6], study_date="20231212", description="CT ABDOMEN"),
    ]
    archive.load([f for s in studies for f in s.files])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    nodes = (RemoteNode("main archive", ARCHIVE_AE, "127.0.0.1", archive.port, ("qr",)),
             RemoteNode("old PACS", "OLDPACS", "127.0.0.1", closed, ("qr", "mwl")))
    config = Config(workstation=WorkstationConfig(calling_ae_title="READ1STORE", network_timeout=10, nodes=nodes))
    panel = SearchPanel(config, "DICOM_STORAGE", None, store_error="")
    panel.setWindowTitle("Lightbox - Search")
    panel.resize(1100, 820)
    panel.move(0, 0)
    panel.show()
    panel.form.patient_name.setText("SMITH*")
    panel.form.quick.setCurrentText("Any date")
    state = {"step": 0}

    def tick() -> None:
        if state["step"] == 0:
            panel.nodes.set_checked(["main archive", "old PACS"])
            panel.search()
            state["step"] = 1
        elif state["step"] == 1 and panel.search_button.isEnabled():
            panel.results.sortItems(1, Qt.SortOrder.AscendingOrder)
            item = panel.results.topLevelItem(0)
            item.setExpanded(True)
            state["step"] = 2
        elif state["step"] == 2 and panel.results.topLevelItem(0).childCount():
            for column in range(panel.results.columnCount()):
                panel.results.resizeColumnToContents(column)
            panel.results.topLevelItem(0).child(0).setSelected(True)
            state["step"] = 3
        elif state["step"] == 3:
            panel.grab().save(str(out))
            print(f"saved {out}", flush=True)
            app.quit()
            return
        QTimer.singleShot(300, tick)

    QTimer.singleShot(500, tick)
    try:
        app.exec()
    finally:
        archive.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
