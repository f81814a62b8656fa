"""First start: the welcome shows once (a marker in the user data directory), explains where the
data lives, and its button stores the demo studies installed with Lightbox (an installed folder,
:mod:`app.services.demo_files`) into the real server, with new UIDs, where the information window
lists them. User folders are in a temporary HOME (tests/user_dirs.py)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from pydicom import dcmread
from pytestqt.qtbot import QtBot

from app.core.config import Config, WorkstationConfig
from app.core.paths import first_run_marker, user_config_file, user_data_dir
from app.services.demo_files import MANIFEST, install_demo_files, installed_demo_dir
from app.services.session import Session
from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from app.ui.models import StudyTableModel as M
from app.ui.settings_menu import install_settings

INSTALLED_AT = dt.datetime(2001, 2, 3, 4, 5, 6)


def test_user_folders_are_in_a_temporary_home(user_dirs: Path) -> None:
    assert Path.home() == user_dirs / "home"
    for path in (user_data_dir(), user_config_file(), first_run_marker(), installed_demo_dir()):
        assert path.is_relative_to(user_dirs), path


def test_welcome_once_then_installed_demo_studies_listed_from_the_server(
    qtbot: QtBot, service: StudyService, window: MainWindow, caplog: pytest.LogCaptureFixture
) -> None:
    folder = install_demo_files(now=INSTALLED_AT)  # the install step, into the installed demo folder
    assert folder == installed_demo_dir() and (folder / MANIFEST).is_file()
    installed = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.rglob("*.dcm")}
    config = Config(workstation=WorkstationConfig(server_url=service.url))
    assert not user_config_file().exists() and not first_run_marker().exists()
    hooks = install_settings(window, config, Session(service))
    welcome = hooks.welcome
    assert welcome is not None and welcome.isVisible()
    text = welcome.text.text()
    assert str(user_config_file()) in text and str(user_data_dir()) in text and service.url in text

    window.start()
    caplog.set_level(logging.INFO, logger="app.services.demo_files")
    with qtbot.waitSignal(welcome.demo_loaded, timeout=120000) as loaded:
        welcome.demo_button.click()
    made = loaded.args[0]
    assert [s.datasets[0].Modality for s in made] == ["CT", "MR", "CR"]
    assert f"3 demo studies stored (43 objects, from {folder})" in welcome.status.text()
    assert f"demo studies read from {folder}" in caplog.text and "Making the demo studies now" not in caplog.text
    qtbot.waitUntil(lambda: window.study_model.rowCount() == 3, timeout=20000)
    model = window.study_view.model()
    rows = {model.index(r, M.PATIENT_ID).data(): model.index(r, M.NAME).data() for r in range(3)}
    assert set(rows) == {"DEMO-CT", "DEMO-MR", "DEMO-CR"}
    # the installed files' content (dated at install time) with new UIDs, references included
    assert {s.study_date for s in service.list_studies()} == {INSTALLED_AT.strftime("%Y%m%d")}
    stored = {str(ds.SOPInstanceUID) for study in made for ds in study.datasets}
    assert len(stored) == 43 and not stored & installed
    ct_uid = made[0].study_instance_uid
    series = {s.modality: s for s in service.list_series(ct_uid)}
    assert {m: s.number_of_images for m, s in series.items()} == {"CT": 24, "PR": 1}
    ct_images = {i.sop_instance_uid for i in service.list_instances(ct_uid, series["CT"].series_instance_uid)}
    state = made[0].datasets[-1]
    assert state.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID in ct_images

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
