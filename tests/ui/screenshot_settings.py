"""Screenshots of the settings dialog and the first-run welcome:
``python -m tests.ui.screenshot_settings SETTINGS.png WELCOME.png``.

Needs a display (e.g. ``xvfb-run -s "-screen 0 1400x900x24"`` with ``QT_QPA_PLATFORM=xcb``). The
settings shot puts two pages side by side: Workstation with a refused AE title, and Remote nodes
after Test against a DCMTK ``storescp``. The welcome shot starts the bundled server (user folders
in a temporary HOME) and loads the demo studies first. Not a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from app.core.config import Config, QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE
from app.core.workstation_config import PrinterConfig, RemoteNode, WorkstationConfig
from tests.print_peers import _wait_listening, free_port


def _wait(app: QApplication, done: object, timeout_ms: int = 120000) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: loop.quit() if done() else None)  # type: ignore[operator]
    timer.start(100)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    timer.stop()


def _grab(widget: QWidget) -> QPixmap:
    QApplication.processEvents()
    return widget.grab()


def settings_shot(app: QApplication, out: Path, work: Path) -> None:
    from app.ui.settings_dialog import SettingsDialog

    port = free_port()
    peer = subprocess.Popen(["/usr/bin/storescp", "-aet", "ARCHIVE", "-od", str(work), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, peer)  # type: ignore[arg-type]
        nodes = (RemoteNode("Main archive", "ARCHIVE", "127.0.0.1", port, ("qr",)),
                 RemoteNode("RIS worklist", "RIS_MWL", "ris.example", 104, ("mwl",)))
        printers = (PrinterConfig("Film printer", "PRINT_SCP", "printer.example", 104, "default"),)
        config = Config(workstation=WorkstationConfig(nodes=nodes, printers=printers))
        dialog = SettingsDialog(config, work / "lightbox.toml")
        dialog.resize(760, 600)
        dialog.show()
        dialog.general.store_ae.edit.setText("READING\\ROOM")
        left = _grab(dialog)
        dialog.tabs.setCurrentWidget(dialog.nodes)
        dialog.nodes.list.setCurrentRow(0)
        dialog.nodes.test_button.click()
        _wait(app, lambda: "Success" in dialog.nodes.result.text() or "No C-ECHO" in dialog.nodes.result.text())
        right = _grab(dialog)
    finally:
        peer.terminate()
        peer.wait(10)
    combined = QPixmap(left.width() + right.width() + 12, max(left.height(), right.height()))
    combined.fill()
    painter = QPainter(combined)
    painter.drawPixmap(0, 0, left)
    painter.drawPixmap(left.width() + 12, 0, right)
    painter.end()
    combined.save(str(out))


def welcome_shot(app: QApplication, out: Path, work: Path) -> None:
    home = work / "home"
    os.environ["XDG_DATA_HOME"] = str(home / ".local" / "share")
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_STATE_HOME"] = str(home / ".local" / "state")
    from app.core.paths import user_data_dir
    from app.services.session import Session
    from app.ui.welcome_dialog import WelcomeDialog

    config = Config(server=ServerConfig(data_dir=user_data_dir() / "server", storage=(StorageAE(port=0),),
                                        qr=QueryRetrieveAE(port=0), mwl=WorklistAE(port=0), fsync=False))
    session = Session.open(config, temporary_store=False)
    try:
        dialog = WelcomeDialog(config, session.studies, work / "marker")
        dialog.show()
        loaded: list[object] = []
        dialog.demo_loaded.connect(loaded.append)
        dialog.demo_button.click()
        _wait(app, lambda: bool(loaded) or "not stored" in dialog.status.text())
        _grab(dialog).save(str(out))
    finally:
        session.close()


def main(settings_out: Path, welcome_out: Path) -> int:
    app = QApplication([sys.argv[0]])
    work = Path(tempfile.mkdtemp(prefix="lightbox-settings-shot-"))
    settings_shot(app, settings_out, work)
    welcome_shot(app, welcome_out, work)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
