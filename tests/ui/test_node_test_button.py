"""The Test button of a remote node proposes Verification and the FIND of each service the node is
set to offer, and says which the node accepts: DCMTK dcmqrscp (Study Root FIND, no worklist) and
wlmscpfs (Modality Worklist FIND, no Q/R), real processes on free ports."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.config import Config
from app.core.workstation_config import RemoteNode, WorkstationConfig
from app.ui.settings_dialog import SettingsDialog
from tests.conftest import require_tool
from tests.qr_archive import Dcmqrscp, dcmtk_env, free_port, wait_listening

WLM_AE = "WORKLIST"


@pytest.fixture
def dcmqrscp(tmp_path: Path) -> Iterator[Dcmqrscp]:
    archive = Dcmqrscp(tmp_path / "qr").start()
    try:
        yield archive
    finally:
        archive.stop()


@pytest.fixture
def wlmscpfs(tmp_path: Path) -> Iterator[int]:
    """DCMTK wlmscpfs serving an empty worklist folder on a free port."""
    tool = require_tool("wlmscpfs")
    folder = tmp_path / "wlistdb" / WLM_AE
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    port = free_port()
    proc = subprocess.Popen([tool, "-dfp", str(folder.parent), str(port)], env=dcmtk_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc, "wlmscpfs")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _tested(qtbot: QtBot, dialog: SettingsDialog, row: int) -> tuple[bool, str]:
    page = dialog.nodes
    page.list.setCurrentRow(row)
    with qtbot.waitSignal(page.tested, timeout=30000) as answer:
        page.test_button.click()
    ok, message = answer.args
    assert page.result.text() == message
    return ok, message


def test_node_test_reports_the_find_services_the_node_accepts(
    qtbot: QtBot, tmp_path: Path, dcmqrscp: Dcmqrscp, wlmscpfs: int
) -> None:
    ae = dcmqrscp.ae_title
    nodes = (
        RemoteNode("archive", ae, "127.0.0.1", dcmqrscp.port, ("qr",)),
        RemoteNode("archive as worklist", ae, "127.0.0.1", dcmqrscp.port, ("qr", "mwl")),
        RemoteNode("worklist", WLM_AE, "127.0.0.1", wlmscpfs, ("mwl",)),
        RemoteNode("worklist as archive", WLM_AE, "127.0.0.1", wlmscpfs, ("qr",)),
    )
    dialog = SettingsDialog(Config(workstation=WorkstationConfig(nodes=nodes)), tmp_path / "lightbox.toml")
    qtbot.addWidget(dialog)

    ok, message = _tested(qtbot, dialog, 0)
    assert ok and "Success (0x0000)" in message and "Study Root FIND: accepted." in message, message
    assert "Worklist" not in message  # not proposed: the node is not set to offer it

    ok, message = _tested(qtbot, dialog, 1)
    assert not ok and "Study Root FIND: accepted." in message
    assert "Modality Worklist FIND: NOT accepted" in message and "untick Worklist" in message

    ok, message = _tested(qtbot, dialog, 2)
    assert ok and "Success (0x0000)" in message and "Modality Worklist FIND: accepted." in message, message

    ok, message = _tested(qtbot, dialog, 3)
    assert not ok and "Study Root FIND: NOT accepted" in message and "untick Query/Retrieve" in message
    assert "1b7f2a" not in dialog.nodes.result.styleSheet()
