"""One workstation per user: a second ``lightbox FILE`` (a real process) hands its file to the
running workstation (the real GUI start with its bundled server), which opens it in a viewer;
the second process exits 0 without starting a server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.services.demo_studies import demo_studies
from app.services.first_run import mark_first_run_done
from app.ui.main_window import MainWindow
from app.ui.single_instance import SingleInstance, hand_over, instance_name
from app.ui.viewer_window import ViewerWindow
from tests.conftest import write_server_config
from tests.ui.uihelpers import start_workstation


def _ct_files(folder: Path) -> list[Path]:
    folder.mkdir()
    ct = demo_studies()[0]
    files = []
    for i, ds in enumerate(ct.datasets):
        path = folder / f"CT{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def test_second_start_hands_its_file_to_the_running_workstation(qtbot: QtBot, tmp_path: Path) -> None:
    mark_first_run_done()  # no welcome here
    files = _ct_files(tmp_path / "demo")
    config = write_server_config(tmp_path / "server.toml", tmp_path / "data")  # ephemeral DICOM ports
    second: list[subprocess.Popen[bytes]] = []
    seen: dict[str, object] = {}
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    deadline = time.monotonic() + 120

    def step() -> bool:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        viewers = [w for w in QApplication.topLevelWidgets() if isinstance(w, ViewerWindow) and w.isVisible()]
        if not second and windows:  # the workstation is up: a second start with a file
            assert not viewers
            second.append(subprocess.Popen([sys.executable, "-m", "app", "--config", str(config), str(files[5])],
                                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        elif second and second[0].poll() is not None and viewers:
            seen["code"] = second[0].returncode
            seen["viewers"] = [(v.windowTitle(), len(v.matrix.sources)) for v in viewers]
            for w in QApplication.topLevelWidgets():
                w.close()
            return True
        if time.monotonic() > deadline:
            seen["timeout"] = True
            for w in QApplication.topLevelWidgets():
                w.close()
            return True
        return False

    try:
        code = start_workstation(config, step)
    finally:
        for proc in second:
            if proc.poll() is None:
                proc.kill()
    output = second[0].communicate(timeout=10)[0].decode("utf-8", "replace") if second else ""
    assert code == 0 and "timeout" not in seen, output
    assert seen["code"] == 0, output
    [(title, count)] = seen["viewers"]  # type: ignore[misc]
    assert count >= 1 and "Cerebrum" in title  # the handed-over file's series, in the running workstation
    assert "starting embedded server" not in output  # the second start never started a server


def test_a_start_while_none_runs_is_not_handed_over_and_paths_wait_for_the_receiver(qtbot: QtBot,
                                                                                  tmp_path: Path) -> None:
    assert not hand_over([tmp_path / "a.dcm"], timeout_ms=500)  # nobody listens: this start is the workstation
    running = SingleInstance()
    assert running.listen() and running.name == instance_name()
    got: list[list[Path]] = []
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys; from PySide6.QtCore import QCoreApplication; app = QCoreApplication([]);"
                             "from app.ui.single_instance import hand_over;"
                             f"sys.exit(0 if hand_over([{str(tmp_path / 'b.dcm')!r}]) else 3)"])
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    assert proc.returncode == 0  # answered while the workstation is still starting
    running.deliver_to(got.append)  # the window is up now: what came before is delivered
    assert got == [[tmp_path / "b.dcm"]]
    running.close()
    stale = SingleInstance()  # a crashed workstation's socket file does not block the next start
    assert stale.listen()
    stale.close()
