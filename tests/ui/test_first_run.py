"""First start: the welcome shows once (a marker in the user data directory), explains where the
data lives, and its button stores the synthetic demo studies into the real server, where the
information window lists them; the demo objects pass dciodvfy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pytestqt.qtbot import QtBot

from app.core.config import Config, WorkstationConfig
from app.core.paths import first_run_marker, user_config_file, user_data_dir
from app.services.demo_studies import demo_studies
from app.services.session import Session
from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel as M
from app.ui.settings_menu import install_settings
from tests.conftest import require_tool


@pytest.fixture
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs' user folders moved under ``tmp_path`` (XDG variables, read at each call)."""
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    assert str(user_data_dir()).startswith(str(tmp_path))
    return tmp_path


def test_welcome_once_then_demo_studies_listed_from_the_server(
    qtbot: QtBot, user_dirs: Path, service: StudyService, window: MainWindow
) -> None:
    config = Config(workstation=WorkstationConfig(server_url=service.url))
    assert not user_config_file().exists() and not first_run_marker().exists()
    hooks = install_settings(window, config, Session(service))
    welcome = hooks.welcome
    assert welcome is not None and welcome.isVisible()
    text = welcome.text.text()
    assert str(user_config_file()) in text and str(user_data_dir()) in text and service.url in text

    window.start()
    with qtbot.waitSignal(welcome.demo_loaded, timeout=120000) as loaded:
        welcome.demo_button.click()
    made = loaded.args[0]
    assert [s.datasets[0].Modality for s in made] == ["CT", "MR", "CR"]
    assert "3 demo studies stored (43 objects)" in welcome.status.text()
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 3, timeout=20000)
    model = window.study_view.model()
    rows = {model.index(r, M.PATIENT_ID).data(): model.index(r, M.NAME).data() for r in range(3)}
    assert set(rows) == {"DEMO-CT", "DEMO-MR", "DEMO-CR"}
    ct_uid = made[0].study_instance_uid
    series = {s.modality: s.number_of_images for s in service.list_series(ct_uid)}
    assert series == {"CT": 24, "PR": 1}

    welcome.accept()
    assert first_run_marker().is_file()
    again = install_settings(window, config, Session(service))
    assert again.welcome is None  # shown once


def test_welcome_not_shown_to_a_configured_site(user_dirs: Path) -> None:
    from app.services.first_run import is_first_run, mark_first_run_done

    assert is_first_run()
    user_config_file().parent.mkdir(parents=True)
    user_config_file().write_text("[workstation]\n")
    assert not is_first_run()
    user_config_file().unlink()
    mark_first_run_done()
    assert not is_first_run()


def test_demo_objects_pass_dciodvfy(tmp_path: Path) -> None:
    tool = require_tool("dciodvfy")
    studies = demo_studies()
    files = []
    for study in studies:
        for i, ds in enumerate(study.datasets):
            path = tmp_path / f"{ds.Modality}_{study.datasets[0].Modality}_{i:02d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(path)
    assert len(files) == 43
    for path in files:
        out = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
        assert not errors, (path.name, errors)
    cr_state = dcmread(tmp_path / "PR_CR_01.dcm")
    cr = dcmread(tmp_path / "CR_CR_00.dcm")
    assert cr[0x60003000].VM and cr_state[0x60001001].value == "OVERLAYS"  # overlay shown through the state
    layers = [item.GraphicLayer for item in cr_state.GraphicLayerSequence]
    assert "OVERLAYS" in layers
    ct_state = dcmread(tmp_path / "PR_CT_24.dcm")
    referenced = ct_state.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert referenced in {ds.SOPInstanceUID for ds in studies[0].datasets[:24]}


def test_saved_settings_apply_to_the_running_window(
    qtbot: QtBot, user_dirs: Path, service: StudyService, window: MainWindow
) -> None:
    from app.core.workstation_config import PrinterConfig, RemoteNode
    from app.imaging.stacks import SortKey
    from app.services.image_stack import ImageStack
    from app.services.viewer_settings import apply_viewer_settings
    from app.ui.print_actions import install_print
    from app.ui.search_panel import install_search_panel

    first_run_marker().parent.mkdir(parents=True)
    first_run_marker().write_text("")
    config = Config(workstation=WorkstationConfig(server_url=service.url))
    session = Session(service)
    panel = install_search_panel(window, config, session)
    printing = install_print(window, config.workstation, service)
    hooks = install_settings(window, config, session, search_panel=panel, print_hooks=printing)
    assert hooks.welcome is None
    assert "Settings..." in [a.text() for a in window.menu("File").actions()]
    assert {"About Lightbox", "Load demo studies..."} <= {a.text() for a in window.menu("Help").actions()}
    dialog = hooks.open_settings()
    assert dialog.path == user_config_file()
    node = RemoteNode("archive", "ARCHIVE", "127.0.0.1", 11112)
    printer = PrinterConfig("film", "FILMER", "127.0.0.1", 10400)
    dialog.nodes.items.append(node)
    dialog.printers.items.append(printer)
    dialog.viewer.sort.setCurrentIndex(dialog.viewer.sort.findData("IMAGE_POSITION"))
    try:
        assert dialog.save(), dialog.message.text()
        assert panel.config.nodes == (node,) and panel.nodes.list.count() == 1
        assert printing.service.printers == (printer,)
        assert ImageStack().key is SortKey.IMAGE_POSITION
    finally:
        apply_viewer_settings(WorkstationConfig().viewer)
