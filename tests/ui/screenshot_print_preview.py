"""Screenshot of the print preview: ``python -m tests.ui.screenshot_print_preview OUT.png``.

Needs a display (e.g. ``Xvfb :99 -screen 0 1280x900x24 &`` then ``DISPLAY=:99 QT_QPA_PLATFORM=xcb``).
Starts DCMTK's ``dcmprscp`` in a temporary folder, opens the preview with six images (a CT series
made from pydicom's CT_small, MR_small), a 3x2 layout on 14x17 inch film, prints it and grabs
the window with the outcome in its log pane. Not a test.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pydicom
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.workstation_config import PrinterConfig, WorkstationConfig
from app.services.printing import PrintService, images_from_datasets
from app.ui.print_preview import PrintPreview
from tests.print_peers import running_dcmprscp
from tests.ui.uihelpers import ct_series, dicom_path


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp, running_dcmprscp(Path(tmp)) as printer:
        config = PrinterConfig("Film room", printer.peer.ae_title, printer.peer.host, printer.peer.port, "dcmprscp")
        datasets = [*ct_series(5), pydicom.dcmread(dicom_path("MR_small.dcm"))]
        preview = PrintPreview(images_from_datasets(datasets), PrintService(WorkstationConfig(printers=(config,))))
        preview.move(0, 0)
        preview.resize(1260, 880)
        preview.layout_box.setCurrentText("3x2")
        preview.show()

        def grab(_outcomes: object) -> None:
            QTimer.singleShot(800, lambda: (preview.grab().save(str(out)), print(f"saved {out}"), app.quit()))

        preview.print_finished.connect(grab)
        preview.print_failed.connect(grab)
        QTimer.singleShot(1500, preview.print_films)
        app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
