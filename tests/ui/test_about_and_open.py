"""Help -> About (versions and folders), and ``lightbox FILE|DIR`` opening files in a viewer
through the real command line, the real GUI start and a real server."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import pydicom
import pytest
from PySide6.QtCore import QTimer, qVersion
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app import __version__
from app.cli import main
from app.core.config import Config, ServerConfig, WorkstationConfig
from app.core.errors import DicomInputError
from app.core.paths import user_config_file, user_log_dir
from app.services.cancel import CancelToken
from app.services.demo_studies import demo_studies
from app.services.open_paths import more_series, sources_for
from app.ui.about_dialog import AboutDialog
from app.ui.viewer_window import ViewerWindow


def test_about_shows_versions_and_folders(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = Config(server=ServerConfig(data_dir=tmp_path / "server"), workstation=WorkstationConfig())
    dialog = AboutDialog(config)
    qtbot.addWidget(dialog)
    text = dialog.text()
    for line in (f"Lightbox {__version__}", f"pydicom {pydicom.__version__}", f"Qt {qVersion()}",
                 f"pynetdicom {metadata.version('pynetdicom')}", f"Python {platform.python_version()}"):
        assert line in text
    assert f"Logs: {user_log_dir()}" in text and str(tmp_path / "state") in str(user_log_dir())
    assert f"Settings file: {user_config_file()}" in text
    assert f"Image server data (bundled): {tmp_path / 'server'}" in text
    assert set(dialog.open_buttons) == {"Settings file", "Logs", "Workstation data", "Image server data (bundled)"}
    remote = AboutDialog(Config(workstation=WorkstationConfig(server_url="http://pacs.example:7880")))
    qtbot.addWidget(remote)
    assert "Image server data" not in remote.text()


def _demo_files(folder: Path) -> list[Path]:
    folder.mkdir()
    files = []
    for study in demo_studies()[:2]:  # CT (24 + a state) and MR (16)
        for i, ds in enumerate(study.datasets):
            path = folder / f"{ds.Modality}{i:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
    return files


def test_sources_of_a_file_a_folder_and_wrong_paths(tmp_path: Path) -> None:
    files = _demo_files(tmp_path / "demo")
    [own] = sources_for(files[3])  # a file opens its whole series, the folder's other series after it
    header = pydicom.dcmread(files[3], stop_before_pixels=True)
    assert own.key == str(header.SeriesInstanceUID) and "Cerebrum" in own.title
    loaded = list(own.load(CancelToken()))
    assert len(loaded) == 24 and loaded[0].SOPInstanceUID == header.SOPInstanceUID  # that file first
    assert sorted(s.count_hint() or 0 for s in more_series([own])) == [1, 16]  # the state's series, MR
    sources = sources_for(tmp_path / "demo")
    counts = sorted(s.count_hint() or 0 for s in sources)
    assert counts == [1, 16, 24]  # the state's series, MR, CT
    with pytest.raises(DicomInputError, match="does not exist"):
        sources_for(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("not DICOM")
    with pytest.raises(DicomInputError, match="not a DICOM file"):
        sources_for(tmp_path / "notes.txt")


def _entries(viewer: ViewerWindow) -> int:
    return len(viewer.matrix.sources) + len(viewer.matrix.objects)


def test_command_line_opens_a_file_and_a_folder_in_viewers(
    qtbot: QtBot, tmp_path: Path, sqlite_server, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    (tmp_path / "xdg_data_home" / "Lightbox").mkdir(parents=True)
    (tmp_path / "xdg_data_home" / "Lightbox" / "first-run-done").write_text("")  # no welcome here
    files = _demo_files(tmp_path / "demo")
    seen: list[list[tuple[str, int]]] = []

    def close_when_open() -> None:
        viewers = [w for w in QApplication.topLevelWidgets() if isinstance(w, ViewerWindow) and w.isVisible()]
        if len(viewers) < 1 or _entries(viewers[0]) < 3:
            QTimer.singleShot(100, close_when_open)
            return
        seen.append([(v.windowTitle(), _entries(v)) for v in viewers])
        for w in QApplication.topLevelWidgets():
            w.close()

    QTimer.singleShot(100, close_when_open)
    code = main(["--server", sqlite_server.http_url, "-platform", "offscreen", str(files[0]), str(tmp_path / "demo")])
    assert code == 0 and seen
    [(title, count)] = seen[0]
    assert count == 3 and "Cerebrum" in title  # the file's series (and its folder's), the folder's: each once


def test_lightbox_demo_writes_files_and_a_dicomdir_of_them_opens(tmp_path: Path) -> None:
    import subprocess

    from app.services.demo_cli import main as demo_main
    from tests.conftest import require_tool

    assert demo_main(["--output", str(tmp_path / "demo")]) == 0
    files = sorted((tmp_path / "demo").rglob("*.dcm"))
    assert len(files) == 43 and {p.parent.name for p in files} == {"DEMO-CT", "DEMO-MR", "DEMO-CR"}
    # a DICOMDIR written by DCMTK over a copy with media file names (8 characters, no extension)
    media = tmp_path / "media"
    (media / "IMAGES").mkdir(parents=True)
    for i, path in enumerate(files):
        (media / "IMAGES" / f"IM{i:06d}").write_bytes(path.read_bytes())
    out = subprocess.run([require_tool("dcmmkdir"), "--recurse", "--input-directory", str(media), "-Nxc",
                          "--output-file", str(media / "DICOMDIR"), "IMAGES"],
                         capture_output=True, text=True, timeout=120, cwd=media)
    assert out.returncode == 0, out.stderr
    sources = sources_for(media / "DICOMDIR")
    assert sorted(s.count_hint() or 0 for s in sources) == [1, 1, 1, 16, 24]  # CT, its state, MR, CR, its state
    assert demo_main([]) == 2
