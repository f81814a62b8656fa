"""What the workstation screenshot scripts share: a server in a temporary folder (every DICOM AE
on a free port, no fsync), filled by the script, the real workstation (``app.ui.application.run``)
run against it, and the visible main window the script's timer steps through. Not a test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.config import Config, QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE, WorkstationConfig
from app.services.embedded_server import EmbeddedServer
from app.services.studies import StudySummary
from app.ui.application import run
from app.ui.main_window import MainWindow


def scratch_server_config(folder: Path) -> ServerConfig:
    """A server keeping its data in ``folder/server``: Storage, Q/R and MWL SCPs on free ports, no fsync."""
    return ServerConfig(
        data_dir=folder / "server", storage=(StorageAE(port=0),), qr=QueryRetrieveAE(port=0),
        mwl=WorklistAE(port=0), fsync=False,
    )


def main_window(app: QApplication) -> MainWindow | None:
    """The workstation's visible main window, None until it shows."""
    mains = [w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    return mains[0] if mains else None


def select_study(win: MainWindow, wanted: Callable[[StudySummary], bool]) -> None:
    """Select the first study of the list that ``wanted`` accepts (its series then show below) and
    give the list the focus, as a click on its row would."""
    row = next(i for i, s in enumerate(win.study_model.rows()) if wanted(s))
    win.study_view.selectRow(win.study_proxy.mapFromSource(win.study_model.index(row, 0)).row())
    win.study_view.setFocus()


Step = Callable[[MainWindow], bool | int]
"""One step of a screenshot script on the visible main window: False while it cannot be taken yet,
then True, or the milliseconds to wait before the next step (for the window to settle)."""


def stepper(app: QApplication, *steps: Step, every: int = 200) -> Callable[[], None]:
    """A ``tick`` for :func:`run_workstation` that takes ``steps`` in turn: each is tried every
    ``every`` ms until it is taken; ticking stops after the last."""
    left = list(steps)

    def tick() -> None:
        win = main_window(app)
        taken = False if win is None else left[0](win)
        if taken is not False:
            left.pop(0)
            if not left:
                return
        QTimer.singleShot(every if taken is False or taken is True else int(taken), tick)

    return tick


def series_shown(settle_ms: int) -> Step:
    """A step taken once the selected study's series are listed, ``settle_ms`` before the next."""
    return lambda win: settle_ms if win.series_model.rowCount() else False


def run_workstation(argv0: str, populate: Callable[[str], None], tick: Callable[[], None], **workstation: Any) -> int:
    """Start a scratch server, ``populate(its URL)``, then run the workstation against it with ``tick``
    called once 300 ms after the start (it re-arms itself); the workstation's exit code.
    ``workstation``: other :class:`WorkstationConfig` fields (e.g. the temporary store's)."""
    with tempfile.TemporaryDirectory() as tmp:
        server_config = scratch_server_config(Path(tmp))
        with EmbeddedServer.from_config(server_config) as server:
            populate(server.http_url)
            QTimer.singleShot(300, tick)
            station = WorkstationConfig(server_url=server.http_url, **workstation)
            config = Config(server=server_config, workstation=station)
            return run(config, [argv0])
