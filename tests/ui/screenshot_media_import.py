"""Screenshot of the media import dialog: ``python -m tests.ui.screenshot_media_import OUT.png``.

Needs a display (e.g. ``Xvfb :99 -screen 0 1280x800x24 &`` then ``DISPLAY=:99 QT_QPA_PLATFORM=xcb``).
Writes a two-patient file-set (CT + presentation state + key objects + report each) to a
temporary folder, removes one file so the disc has a problem to show, reads it in the dialog,
unticks the first patient's report series (a partial selection) and grabs the dialog. Not a test.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.media.file_set_writer import FileSetWriter
from app.services.studies import StudyService
from app.ui.media_import_dialog import MediaImportDialog
from tests.media_data import study


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    folder = Path(tempfile.mkdtemp(prefix="lightbox-shot-")) / "CDROM"
    writer = FileSetWriter(folder)
    for ds in study("PAT-0042", "Lindqvist^Anna", 4) + study("PAT-0117", "Okafor^Daniel", 3):
        writer.add(ds)
    written = writer.write()
    (written.root / list(written.file_ids.values())[-5]).unlink()
    dialog = MediaImportDialog(StudyService.connect("http://127.0.0.1:9"))
    dialog.resize(1000, 620)
    dialog.show()

    def loaded(_tree: object) -> None:
        study_item = dialog.tree.patient_items()[0].child(0)
        for i in range(study_item.childCount()):
            if study_item.child(i).text(3) == "SR":
                study_item.child(i).setCheckState(0, Qt.CheckState.Unchecked)
        QTimer.singleShot(400, grab)

    def grab() -> None:
        dialog.grab().save(str(out))
        print(f"saved {out}", flush=True)
        dialog.shutdown()
        app.quit()

    dialog.tree_loaded.connect(loaded)
    dialog.read(folder)
    QTimer.singleShot(30000, app.quit)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshot-media-import.png")))
