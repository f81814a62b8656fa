"""Editing the remote nodes from the search panel: the dialog refuses what the configuration
would refuse, and accepted nodes are saved to the settings file and used by the panel."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.config import Config, load_config
from app.core.workstation_config import RemoteNode, WorkstationConfig
from app.ui.node_dialog import NodeDialog
from app.ui.search_panel import SearchPanel


def test_dialog_checks_the_fields(qtbot: QtBot) -> None:
    dialog = NodeDialog()
    qtbot.addWidget(dialog)
    dialog.ae_title.setText("BAD\\AE")
    dialog.host.setText("pacs.example")
    dialog.accept()
    assert dialog.node is None and "AE title" in dialog.error.text() and dialog.result() == 0
    dialog.ae_title.setText("ARCHIVE")
    dialog.port.setValue(11112)
    dialog.mwl.setChecked(True)
    dialog.accept()
    assert dialog.node == RemoteNode("ARCHIVE", "ARCHIVE", "pacs.example", 11112, ("qr", "mwl"))


def test_panel_saves_and_uses_edited_nodes(qtbot: QtBot, tmp_path: Path) -> None:
    settings = tmp_path / "lightbox.toml"
    first = RemoteNode("one", "ONE", "127.0.0.1", 104)
    panel = SearchPanel(Config(workstation=WorkstationConfig(nodes=(first,))), "DICOM_STORAGE",
                        settings_file=settings)
    qtbot.addWidget(panel)
    second = RemoteNode("two", "TWO", "127.0.0.1", 105, ("mwl",))
    with qtbot.waitSignal(panel.nodes.nodes_changed):
        assert panel.nodes.apply_nodes([first, second])
    assert panel.config.nodes == (first, second) and panel.nodes.list.count() == 2
    assert load_config(files=[settings], include_user_file=False).workstation.nodes == (first, second)
    panel.nodes.list.setCurrentRow(0)
    panel.nodes.remove_node()
    assert panel.config.nodes == (second,) and panel.config.node("two") == second
    assert load_config(files=[settings], include_user_file=False).workstation.nodes == (second,)
