"""Saving the settings dialog: an untouched dialog writes nothing; the settings added to the dialog
(polling, network timeout, the bundled server's Storage AE and DICOM ports, true size, layout)
are validated, saved and read back by load_config; Send destinations are greyed out for a remote
server; each File -> Settings... starts from the settings in use (Close drops unsaved edits)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.config import Config, StorageAE, load_config
from app.core.paths import first_run_marker, user_config_file
from app.services.first_run import mark_first_run_done
from app.services.session import Session
from app.services.studies import StudyService
from app.ui.about_dialog import AboutDialog
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.settings_menu import install_settings


def _dialog(qtbot: QtBot, path: Path) -> SettingsDialog:
    config = load_config(files=[path] if path.exists() else [], include_user_file=False)
    dialog = SettingsDialog(config, path)
    qtbot.addWidget(dialog)
    return dialog


def test_an_untouched_dialog_writes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "lightbox.toml"
    dialog = _dialog(qtbot, path)
    saved: list[Config] = []
    dialog.saved.connect(saved.append)
    assert dialog.save()
    assert dialog.message.text() == "Nothing changed."  # no restart asked for
    assert not path.exists() and saved == []
    dialog.general.print_ae.edit.setText("FILM_SCU")  # one edit: one key written, no restart
    assert dialog.save() and dialog.message.text() == "Saved."
    assert path.read_text().strip() == '[workstation]\nprint_calling_ae_title = "FILM_SCU"'


def test_added_settings_are_checked_saved_and_read_back(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "lightbox.toml"
    path.write_text('[[server.storage]]\nae_title = "DICOM_STORAGE"\nport = 7810\n\n'
                    '[[server.storage]]\nae_title = "SECOND_STORE"\nport = 7811\n')
    dialog = _dialog(qtbot, path)
    general, viewer = dialog.general, dialog.viewer
    general.refresh.setValue(10)
    general.timeout.setValue(90)
    general.server_ae.edit.setText("BAD\\AE")
    assert not general.server_ae.error.isHidden()
    assert not dialog.save() and "red" in dialog.message.text() and dialog.tabs.currentWidget() is general
    general.server_ae.edit.setText("SITE_STORE")
    general.server_port.setValue(11104)
    general.qr_port.setValue(11105)
    general.mwl_port.setValue(11106)
    viewer.layout_field.edit.setText("9x1")
    assert "rows x columns" in viewer.layout_field.error.text()
    assert not dialog.save() and dialog.tabs.currentWidget() is viewer
    viewer.layout_field.edit.setText("2x3")
    viewer.pixel_mm.setValue(0.2745)
    assert viewer.pixel_mm.maximum() == 5  # beyond what the file accepts cannot be typed
    assert dialog.save(), dialog.message.text()
    restart = dialog.message.text()
    for key in ("workstation.refresh_seconds", "workstation.network_timeout", "server.storage", "server.qr.port",
                "server.mwl.port"):
        assert key in restart
    assert "workstation.viewer.layout" not in restart  # viewers opened from now on use it
    config = load_config(files=[path], include_user_file=False)
    assert config.workstation.refresh_seconds == 10 and config.workstation.network_timeout == 90
    assert config.server.storage == (StorageAE("SITE_STORE", 11104), StorageAE("SECOND_STORE", 7811))
    assert config.server.qr.port == 11105 and config.server.mwl.port == 11106
    assert config.workstation.viewer.layout == "2x3" and config.workstation.viewer.layout_shape == (2, 3)
    assert config.workstation.viewer.screen_pixel_mm == 0.2745


def test_send_destinations_greyed_out_for_a_remote_server(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = _dialog(qtbot, tmp_path / "lightbox.toml")
    page = dialog.destinations
    assert page.add_button.isEnabled() and page.unavailable.isHidden()
    assert dialog.general.server_port.isEnabled()
    dialog.general.server_url.edit.setText("http://pacs.example:7880")
    assert not page.add_button.isEnabled() and not page.list.isEnabled() and not page.unavailable.isHidden()
    assert "that server" in page.unavailable.text()
    assert not dialog.general.server_port.isEnabled() and "Not used" in dialog.general.bundled_note.text()
    dialog.general.server_url.edit.setText("")
    assert page.add_button.isEnabled() and page.unavailable.isHidden() and dialog.general.server_port.isEnabled()


def test_each_open_starts_from_the_settings_in_use_and_help_has_one_about(
    qtbot: QtBot, service: StudyService, window: MainWindow
) -> None:
    mark_first_run_done()
    assert first_run_marker().exists()
    config = load_config(include_user_file=False)
    hooks = install_settings(window, config, Session(service), config_file=user_config_file())
    first = hooks.open_settings()
    first.general.print_ae.edit.setText("UNSAVED_EDIT")
    assert hooks.open_settings() is first  # still open: raised, edits kept
    first.reject()  # Close
    second = hooks.open_settings()
    assert second is not first and second.general.print_ae.text() == config.workstation.print_calling_ae_title
    second.general.print_ae.edit.setText("SAVED_SCU")
    assert second.save()
    second.reject()
    third = hooks.open_settings()
    assert third.general.print_ae.text() == "SAVED_SCU"  # the saved value, from the settings in use
    assert not user_config_file().read_text().count("UNSAVED_EDIT")

    help_texts = [a.text() for a in window.menu("Help").actions()]
    assert help_texts.count("About Lightbox") == 1
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "Tools" not in menus and menus[-1] == "Help"
    about = next(a for a in window.menu("Help").actions() if a.text() == "About Lightbox")
    about.trigger()
    [about_dialog] = [w for w in window.findChildren(AboutDialog) if w.isVisible()]  # the full one, not a message box
    assert "pynetdicom" in about_dialog.text()
