"""The settings dialog: fields checked as the configuration file is, saved to the user's TOML
(comments and unknown tables kept, read back by load_config), Test buttons answered by real
DCMTK peers (storescp for a node, dcmprscp for a printer), and a refused connection shown."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from app.core.config import Config, Destination, load_config
from app.core.workstation_config import PrinterConfig, RemoteNode, WorkstationConfig
from app.imaging.presets import presets_for
from app.imaging.stacks import SortKey
from app.services.image_stack import ImageStack
from app.services.viewer_settings import apply_viewer_settings
from app.ui.settings_dialog import SettingsDialog
from tests.conftest import require_tool
from tests.print_peers import _wait_listening, free_port, running_dcmprscp

USER_FILE = """# my site's settings
[workstation]
refresh_seconds = 5.0  # poll slower

[server.send]  # kept though the dialog never shows it
private_attributes = true
"""


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[int]:
    """A DCMTK storescp (answers C-ECHO) on a free port; stopped by its PID."""
    tool = require_tool("storescp")
    port = free_port()
    proc = subprocess.Popen([tool, "-aet", "ECHOPEER", "-od", str(tmp_path), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(port, proc)  # type: ignore[arg-type]
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _dialog(qtbot: QtBot, path: Path, config: Config | None = None) -> SettingsDialog:
    if config is None:
        config = load_config(files=[path] if path.exists() else [], include_user_file=False)
    dialog = SettingsDialog(config, path)
    qtbot.addWidget(dialog)
    return dialog


def test_fields_refused_with_the_reason_next_to_them(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "lightbox.toml"
    path.write_text(USER_FILE)
    dialog = _dialog(qtbot, path)
    dialog.general.store_ae.edit.setText("BAD\\TITLE")
    assert "AE title" in dialog.general.store_ae.error.text()
    assert not dialog.general.store_ae.error.isHidden()
    dialog.general.server_url.edit.setText("pacs.example:8080")
    assert "http://" in dialog.general.server_url.error.text()
    assert not dialog.save()
    assert "red" in dialog.message.text() and path.read_text() == USER_FILE  # nothing written
    dialog.general.store_ae.edit.setText("READSTORE")
    dialog.general.server_url.edit.setText("")
    assert dialog.general.store_ae.error.isHidden() and dialog.general.store_ae.error.text() == ""
    assert dialog.save()


def test_saved_settings_load_back_and_the_file_keeps_its_comments(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "lightbox.toml"
    path.write_text(USER_FILE)
    dialog = _dialog(qtbot, path)
    saved: list[Config] = []
    dialog.saved.connect(saved.append)
    dialog.general.store_ae.edit.setText("READ1STORE")
    dialog.general.store_port.setValue(11199)
    dialog.general.date_format.edit.setText("%d.%m.%Y")
    node = RemoteNode("Main PACS", "PACS_QR", "pacs.example", 104, ("qr", "mwl"))
    dialog.nodes.items.append(node)
    printer = PrinterConfig("Film", "FILMER", "printer.example", 10400, "default")
    dialog.printers.items.append(printer)
    dialog.destinations.items.append(Destination("WS2", "10.0.0.2", 11112))
    dialog.viewer.sort.setCurrentIndex(dialog.viewer.sort.findData("SLICE_LOCATION"))
    dialog.viewer.add_preset("CT", "head and neck", 60, 350)
    dialog.viewer.modality.setCurrentText("CT")
    dialog.viewer.corners["bottom_left"].setPlainText("{KVP:.0f} kV\nST {SliceThickness:.4g} mm")
    assert dialog.save(), dialog.message.text()
    message = dialog.message.text()
    assert "Restart Lightbox" in message
    assert "workstation.temporary_store.port" in message and "server.destinations" in message
    assert "workstation.viewer.sort" not in message  # applied at once

    config = load_config(files=[path], include_user_file=False)
    assert saved == [config]
    ws = config.workstation
    assert ws.temporary_store.ae_title == "READ1STORE" and ws.temporary_store.port == 11199
    assert ws.nodes == (node,) and ws.printers == (printer,)
    assert config.server.destinations == (Destination("WS2", "10.0.0.2", 11112),)
    assert ws.viewer.sort == "SLICE_LOCATION" and ws.viewer.presets["CT"]["head and neck"] == (60.0, 350.0)
    assert ws.viewer.corner_text["date_format"] == "%d.%m.%Y"
    assert ws.viewer.corner_text["templates"]["CT"] == {"bottom_left": ["{KVP:.0f} kV", "ST {SliceThickness:.4g} mm"]}
    assert ws.refresh_seconds == 5.0 and config.server.send.private_attributes is True
    text = path.read_text()
    for kept in ("# my site's settings", "# poll slower", "# kept though the dialog never shows it"):
        assert kept in text

    # applied without a restart: presets and the stack order of viewers opened from now on
    try:
        apply_viewer_settings(ws.viewer)
        assert presets_for("ct")["head and neck"].width == 350 and "lung" in presets_for("CT")
        assert ImageStack().key is SortKey.SLICE_LOCATION
    finally:
        apply_viewer_settings(WorkstationConfig().viewer)
    assert "head and neck" not in presets_for("CT") and ImageStack().key is SortKey.INSTANCE_NUMBER

    # saving again in the same dialog compares with what was saved: a value set back is written back
    dialog.general.store_port.setValue(7820)
    dialog.nodes.items.clear()
    assert dialog.save() and "workstation.temporary_store.port" in dialog.message.text()
    reread = load_config(files=[path], include_user_file=False)
    assert reread.workstation.temporary_store.port == 7820 and reread.workstation.nodes == ()
    dialog.general.store_port.setValue(11199)
    dialog.nodes.items.append(node)
    assert dialog.save()
    config = load_config(files=[path], include_user_file=False)
    text = path.read_text()

    # a second dialog starts from the saved file, and saving without change writes nothing new
    again = _dialog(qtbot, path, config)
    assert again.nodes.list.count() == 1 and again.viewer.presets.rowCount() == 1
    assert again.save() and again.message.text() == "Nothing changed." and path.read_text() == text


def test_malformed_corner_text_and_preset_are_refused(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "lightbox.toml"
    dialog = _dialog(qtbot, path)
    dialog.viewer.modality.setCurrentText("MR")
    dialog.viewer.corners["top_right"].setPlainText("{NoSuchKeyword}")
    assert not dialog.save()
    assert "NoSuchKeyword" in dialog.viewer.corner_error.text() and "NoSuchKeyword" in dialog.message.text()
    assert not path.exists()
    dialog.viewer.corners["top_right"].setPlainText("{RepetitionTime:.0f} ms")
    dialog.viewer.add_preset("MR", "T2", 500, 0)
    assert not dialog.save() and "width of at least 1" in dialog.message.text()


def test_node_test_button_against_storescp_and_a_closed_port(qtbot: QtBot, tmp_path: Path, storescp: int) -> None:
    path = tmp_path / "lightbox.toml"
    closed = free_port()
    config = Config(workstation=WorkstationConfig(nodes=(
        RemoteNode("peer", "ECHOPEER", "127.0.0.1", storescp), RemoteNode("gone", "GONE", "127.0.0.1", closed))))
    dialog = _dialog(qtbot, path, config)
    page = dialog.nodes
    page.list.setCurrentRow(0)
    with qtbot.waitSignal(page.tested, timeout=20000) as answer:
        page.test_button.click()
    ok, message = answer.args
    # storescp answers C-ECHO but is no archive: the node's Study Root FIND is reported refused
    assert "Success (0x0000) from ECHOPEER@127.0.0.1" in message and page.result.text() == message
    assert not ok and "Study Root FIND: NOT accepted" in message and "b00020" in page.result.styleSheet()
    page.list.setCurrentRow(1)
    with qtbot.waitSignal(page.tested, timeout=20000) as answer:
        page.test_button.click()
    ok, message = answer.args
    assert not ok and f"127.0.0.1:{closed}" in message and "b00020" in page.result.styleSheet()


def test_printer_test_button_against_dcmprscp(qtbot: QtBot, tmp_path: Path) -> None:
    with running_dcmprscp(tmp_path) as printer:
        peer = printer.peer
        config = Config(workstation=WorkstationConfig(printers=(
            PrinterConfig("film", peer.ae_title, peer.host, peer.port),)))
        dialog = _dialog(qtbot, tmp_path / "lightbox.toml", config)
        dialog.tabs.setCurrentWidget(dialog.printers)
        with qtbot.waitSignal(dialog.printers.tested, timeout=20000) as answer:
            dialog.printers.test_button.click()
    ok, message = answer.args
    assert ok and f"Success (0x0000) from {peer.ae_title}" in message and ": NORMAL" in message  # N-GET Printer


def test_printer_dialog_refuses_a_bad_host(qtbot: QtBot) -> None:
    from app.ui.peer_dialogs import PrinterDialog

    dialog = PrinterDialog()
    qtbot.addWidget(dialog)
    dialog.host.setText("bad host")
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and "space" in dialog.error.text()
    dialog.host.setText("printer.example")
    dialog.ae_title.setText("FILMER")
    dialog.accept()
    assert dialog.printer == PrinterConfig("FILMER", "FILMER", "printer.example", 104, "default")
