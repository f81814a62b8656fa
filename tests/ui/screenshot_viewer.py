"""Screenshot of the viewer in a 2x2 layout: ``xvfb-run -a python -m tests.ui.screenshot_viewer OUT.png``.

Starts a server in a temporary folder, stores three CT phantom series (two in one frame of
reference, one with a display shutter), pydicom's multi-frame MR (emri_small) and a GSPS on
the first series by STOW-RS, opens the first series in an image window as the information
window does, switches to 2x2, drops the other series into the other viewports from the
matrix, turns synchronised scrolling on, scrolls, rotates one view, sets the lung preset on
another and grabs the window. Not a test.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file
from PySide6.QtWidgets import QApplication

from app.core.config import QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE
from app.imaging.gsps_model import PresentationModel
from app.imaging.gsps_writer import write_gsps
from app.imaging.presets import presets_for
from app.services.embedded_server import EmbeddedServer
from app.services.studies import StudyService
from app.ui.image_window import ImageWindow
from app.ui.workers import WorkerPool
from tests.ui.viewer_data import ct_stack, part10


def _wait(app: QApplication, done: object, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.01)


def main(out: Path) -> int:
    app = QApplication([sys.argv[0]])
    reference = "1.2.826.0.1.3680043.8.498.77"
    axial = ct_stack(40, 256, frame_of_reference=reference, description="Axial 2 mm", series_number=2)
    study = str(axial[0].StudyInstanceUID)
    thick = ct_stack(20, 256, spacing=4.0, frame_of_reference=reference, study_uid=study,
                     description="Axial 4 mm", series_number=3, overlay=False)  # fmt: skip
    shuttered = ct_stack(20, 256, shutter=True, study_uid=study, description="Collimated", series_number=4)
    mr = dcmread(get_testdata_file("emri_small.dcm", download=False))  # type: ignore[arg-type]
    mr.StudyInstanceUID, mr.PatientName, mr.PatientID = study, axial[0].PatientName, axial[0].PatientID
    state = write_gsps(PresentationModel(label="FIRST READ", description="Reading"), axial)
    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig(
            data_dir=Path(tmp) / "server", storage=(StorageAE(port=0),), qr=QueryRetrieveAE(port=0),
            mwl=WorklistAE(port=0), fsync=False,
        )  # fmt: skip
        with EmbeddedServer.from_config(config) as server:
            studies = StudyService.connect(server.http_url)
            files = [part10(ds) for ds in (*axial, *thick, *shuttered, mr, state)]
            print(studies.store_files(files), flush=True)
            summary = studies.list_studies()[0]
            series = {s.series_description: s for s in studies.list_series(summary.study_instance_uid)}
            pool = WorkerPool()
            win = ImageWindow(studies, summary, series["Axial 2 mm"], pool)
            win.resize(1500, 960)
            win.show()
            win.load()
            _wait(app, lambda: win.matrix.count() >= 4 and not win.active_viewport().loading)
            win.set_layout(2, 2)
            keys = {name or "MR": s.series_instance_uid for name, s in series.items()}  # matrix keys: series UIDs
            one, two, three, four = win.viewports()
            for viewport, name in ((two, "Axial 4 mm"), (three, "Collimated"), (four, "MR")):
                win.open_key(keys[name], viewport)
            _wait(app, lambda: all(not vp.loading and vp.stack is not None and len(vp.stack) for vp in win.viewports()))
            win.set_active(one)
            win.set_sync(True)
            one.go_to(20)
            two.set_state(two.state.rotated(90))
            three.set_window(presets_for("CT")["lung"])
            four.go_to(4)
            _wait(app, lambda: all(m.thumbnail(k) is not None for m in [win.matrix] for k in m.series_keys()), 10)
            win.set_active(one)
            app.processEvents()
            time.sleep(0.3)
            app.processEvents()
            win.grab().save(str(out))
            print(f"saved {out}", flush=True)
            win.close()
            pool.shutdown()
            studies.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot-viewer.png")))
