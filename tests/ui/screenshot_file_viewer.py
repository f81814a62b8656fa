"""Screenshot of a viewer of files opened from the desktop: ``python -m tests.ui.screenshot_file_viewer OUT.png``.

Needs a display (e.g. ``Xvfb :99 -screen 0 1280x800x24 &`` then ``DISPLAY=:99 QT_QPA_PLATFORM=xcb``), or
``QT_QPA_PLATFORM=offscreen``. Writes the demo CT study (24 images and a presentation state) to a
temporary folder, opens one file of it the way ``lightbox FILE`` does (its whole series, that file
shown, the folder's other series in the matrix), draws a distance and grabs the window: the
annotation toolbar with Save and Key image disabled (the files are not on the server). Not a test.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from app.services.annotations_model import Kind
from app.services.demo_studies import demo_studies
from app.ui.annotated_viewer import AnnotatedViewer
from app.ui.path_opener import PathOpener
from app.ui.viewer_launch import ViewerLauncher
from tests.ui.annotation_support import press_drag


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    folder = Path(tempfile.mkdtemp(prefix="lightbox-shot-")) / "Desktop"
    folder.mkdir()
    files = []
    for i, ds in enumerate(demo_studies()[0].datasets):
        path = folder / f"{ds.Modality}{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    opener = PathOpener(ViewerLauncher(None, QThreadPool.globalInstance()))

    def opened(viewer: AnnotatedViewer) -> None:
        viewer.resize(1200, 780)
        vp = viewer.active_viewport()

        def grab() -> None:
            if vp.loading or vp.stack is None or len(vp.stack) < 2:
                QTimer.singleShot(100, grab)
                return
            viewer.annotations.set_kind(Kind.DISTANCE)
            press_drag(vp, (30, 70), (100, 70))
            viewer.annotations.select(None)
            QTimer.singleShot(500, lambda: (viewer.grab().save(str(out)), app.quit()))

        QTimer.singleShot(300, grab)

    opener.opened.connect(opened)
    opener.open([files[12]])
    QTimer.singleShot(30000, app.quit)
    app.exec()
    return 0 if out.exists() else 1


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "file-viewer.png")))
