"""Hosts and the server URL: one rule (app.core.config_checks.host: an IP address or an RFC 1123 host
name; server_url: http(s), a host, port 1..65535) in every dialog field and in the file reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.config import Destination, load_config
from app.core.errors import ConfigError
from app.core.workstation_config import PrinterConfig, RemoteNode
from app.ui.node_dialog import NodeDialog
from app.ui.peer_dialogs import DestinationDialog, PrinterDialog
from app.ui.settings_dialog import SettingsDialog

BAD_HOSTS = ("300.1.1.1", "pacs example", "pacs/1", "pacs:104", "-pacs", "pacs_1", "1.2.3", "a" * 64 + ".org")
GOOD_HOSTS = ("pacs", "pacs-1.example.org", "192.168.1.20", "::1", "fe80::1", "3com.example")


def accepted_with(qtbot: QtBot, host: str) -> tuple[NodeDialog, PrinterDialog, DestinationDialog]:
    """The remote node, printer and destination dialogs, each given an AE title and ``host``, then OK pressed."""
    node, printer, destination = NodeDialog(), PrinterDialog(), DestinationDialog()
    for dialog, ae_title in ((node, "ARCHIVE"), (printer, "FILMER"), (destination, "WS2")):
        qtbot.addWidget(dialog)
        dialog.ae_title.setText(ae_title)
        dialog.host.setText(host)
        dialog.accept()
    return node, printer, destination


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_each_dialog_refuses_a_bad_host(qtbot: QtBot, host: str) -> None:
    node, printer, destination = accepted_with(qtbot, host)
    assert node.node is None and "host" in node.error.text() and node.result() == 0
    assert printer.printer is None and "not a host" in printer.error.text()
    assert destination.destination is None and "not a host" in destination.error.text()


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_each_dialog_takes_a_host_name_or_an_address(qtbot: QtBot, host: str) -> None:
    node, printer, destination = accepted_with(qtbot, host)
    assert node.node == RemoteNode("ARCHIVE", "ARCHIVE", host, 104, ("qr",)), node.error.text()
    assert printer.printer == PrinterConfig("FILMER", "FILMER", host, 104, "default"), printer.error.text()
    assert destination.destination == Destination("WS2", host, 104), destination.error.text()


@pytest.mark.parametrize(("url", "reason"), [
    ("pacs.example:7880", "http://"), ("ftp://pacs.example", "http://"), ("http://", "names no host"),
    ("http://pacs.example:0", "1 to 65535"), ("http://pacs.example:70000", "1 to 65535"),
    ("http://300.1.1.1:7880", "300.1.1.1"), ("http://pacs example:7880", "is invalid"),
])
def test_server_url_field_refuses(qtbot: QtBot, tmp_path: Path, url: str, reason: str) -> None:
    dialog = SettingsDialog(load_config(files=[], include_user_file=False), tmp_path / "lightbox.toml")
    qtbot.addWidget(dialog)
    dialog.general.server_url.edit.setText(url)
    assert reason in dialog.general.server_url.error.text() and not dialog.general.server_url.error.isHidden()
    assert not dialog.save() and not (tmp_path / "lightbox.toml").exists()
    dialog.general.server_url.edit.setText("https://pacs.example.org:8443/lightbox/")
    assert dialog.general.server_url.error.isHidden()
    assert dialog.save(), dialog.message.text()
    saved = load_config(files=[tmp_path / "lightbox.toml"], include_user_file=False)
    assert saved.workstation.server_url == "https://pacs.example.org:8443/lightbox"


@pytest.mark.parametrize("table", [
    '[[workstation.nodes]]\nae_title = "A"\nport = 104\nhost = "{}"\n',
    '[[workstation.printers]]\nae_title = "P"\nport = 104\nhost = "{}"\n',
    '[[server.destinations]]\nae_title = "D"\nport = 104\nhost = "{}"\n',
    '[workstation]\nserver_url = "http://{}:7880"\n',
])
def test_the_file_reader_applies_the_same_rule(tmp_path: Path, table: str) -> None:
    path = tmp_path / "lightbox.toml"
    path.write_text(table.format("300.1.1.1"))
    with pytest.raises(ConfigError, match=r"300\.1\.1\.1"):
        load_config(files=[path], include_user_file=False)
    path.write_text(table.format("pacs.example.org"))
    load_config(files=[path], include_user_file=False)
