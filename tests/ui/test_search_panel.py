"""The search panel (pytest-qt, offscreen) against real peers: DCMTK ``dcmqrscp`` as the remote
archive, a node that is down, a slow C-FIND peer for cancel, the Lightbox server as the Import
destination and the temporary Storage SCP as the Fetch destination (opened in the viewer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.config import Config
from app.core.workstation_config import RemoteNode, TemporaryStore, WorkstationConfig
from app.net.temporary_store import TemporaryStorageSCP
from app.services.search import SearchOutcome
from app.services.studies import StudyService
from app.ui.main_window import MainWindow
from app.ui.search_panel import SearchPanel
from app.ui.search_results import MATCH_ROLE
from tests.conftest import RunningServer, start_server, stop_server, write_server_config
from tests.integration.test_mwl_vs_wlmscpfs import WLM_AE, wlmscpfs, worklist_files  # noqa: F401 - fixtures
from tests.qr_archive import (
    ARCHIVE_AE,
    Dcmqrscp,
    Study,
    free_port,
    serving_archive,
    temporary_store_fixture,
    write_study,
)
from tests.slow_find_peer import SlowFindPeer

pytestmark = pytest.mark.peer

STORE_AE = "UITESTSTORE"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_index_url: str) -> Iterator[RunningServer]:
    """One Lightbox server for the module (per index backend): the Import destination and the
    panel's own AE title; only the import test stores into it, and it looks for its study by UID."""
    tmp = tmp_path_factory.mktemp("search-panel")
    running = start_server(write_server_config(tmp / "server.toml", tmp / "data", index_url=module_index_url),
                           tmp / "data")
    yield running
    assert stop_server(running) == 0


store_fixture = temporary_store_fixture(STORE_AE)


@pytest.fixture
def studies(tmp_path: Path) -> list[Study]:
    return [
        write_study(tmp_path / "in", "P001", "SMITH^ANNA", [4, 3], size=64),
        write_study(tmp_path / "in", "P002", "SMITHSON^PAUL", [2], size=64),
        write_study(tmp_path / "in", "P003", "JONES^MARY", [1], size=64),
    ]


@pytest.fixture
def archive(tmp_path: Path, studies: list[Study], store: TemporaryStorageSCP,
            server: RunningServer) -> Iterator[Dcmqrscp]:
    storage_ae = next(iter(server.storage))
    running = serving_archive(tmp_path, studies, [(STORE_AE, store.port), (storage_ae, server.storage_port)])
    yield running
    running.stop()


def _panel(qtbot: QtBot, nodes: tuple[RemoteNode, ...], server: RunningServer,
           store: TemporaryStorageSCP | None) -> SearchPanel:
    config = Config(workstation=WorkstationConfig(
        calling_ae_title=STORE_AE, network_timeout=10, nodes=nodes,
        temporary_store=TemporaryStore(ae_title=STORE_AE, port=0),
    ))
    panel = SearchPanel(config, next(iter(server.storage)), store)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    return panel


def _search(qtbot: QtBot, panel: SearchPanel, name: str = "SMITH*") -> SearchOutcome:
    panel.form.patient_name.setText(name)
    with qtbot.waitSignal(panel.search_finished, timeout=60000) as finished:
        panel.search_button.click()
    assert isinstance(finished.args[0], SearchOutcome)
    return finished.args[0]


def _node(archive: Dcmqrscp) -> RemoteNode:
    return RemoteNode("archive", ARCHIVE_AE, "127.0.0.1", archive.port)


def test_two_nodes_one_down(qtbot: QtBot, archive: Dcmqrscp, server: RunningServer, studies: list[Study],
                            store: TemporaryStorageSCP) -> None:
    down = RemoteNode("down", "NOBODY", "127.0.0.1", free_port())
    panel = _panel(qtbot, (down, _node(archive)), server, store)
    outcome = _search(qtbot, panel)
    assert panel.statuses.rowCount() == 2
    assert panel.statuses.item(0, 0).text() == "down" and "Connection refused" in panel.statuses.item(0, 1).text()
    assert panel.statuses.item(1, 0).text() == "archive" and "2 matches" in panel.statuses.item(1, 1).text()
    uids = {panel.results.topLevelItem(i).text(9) for i in range(panel.results.topLevelItemCount())}
    assert uids == {studies[0].study_uid, studies[1].study_uid}
    assert {panel.results.topLevelItem(i).text(0) for i in range(2)} == {"archive"}
    assert "1 node(s) failed" in panel.message.text() and len(outcome.matches) == 2
    # The Test button: the exact failure of the down node, then the archive's answer.
    panel.nodes.list.setCurrentRow(0)
    with qtbot.waitSignal(panel.echo_finished, timeout=30000) as echoed:
        panel.nodes.test_button.click()
    assert "Connection refused" in echoed.args[0] and panel.nodes.answer.text() == echoed.args[0]
    panel.nodes.list.setCurrentRow(1)
    with qtbot.waitSignal(panel.echo_finished, timeout=30000) as echoed:
        panel.nodes.test_button.click()
    assert echoed.args[0].startswith("Success (0x0000)")


def test_expand_study_to_series(qtbot: QtBot, archive: Dcmqrscp, server: RunningServer, studies: list[Study],
                                store: TemporaryStorageSCP) -> None:
    panel = _panel(qtbot, (_node(archive),), server, store)
    _search(qtbot, panel, "SMITH^ANNA")
    item = panel.results.topLevelItem(0)
    item.setExpanded(True)
    qtbot.waitUntil(lambda: item.childCount() == 2, timeout=30000)
    assert {item.child(i).text(9) for i in range(2)} == set(studies[0].series)
    item.child(1).setSelected(True)
    [request] = panel.selected_requests()
    assert request.study_instance_uid == studies[0].study_uid
    assert request.series_instance_uids == (item.child(1).text(9),)


def test_cancel_sends_c_cancel(qtbot: QtBot, server: RunningServer) -> None:
    slow = SlowFindPeer(matches=400, delay=0.03)
    port = slow.start()
    try:
        panel = _panel(qtbot, (RemoteNode("slow", slow.ae_title, "127.0.0.1", port),), server, None)
        panel.search_button.click()
        qtbot.waitUntil(lambda: "25 matches so far" in panel.message.text(), timeout=20000)  # live count
        with qtbot.waitSignal(panel.search_finished, timeout=30000) as finished:
            panel.cancel_button.click()
        assert slow.cancelled.is_set()
        outcome = finished.args[0]
        assert outcome.cancelled and 25 <= len(outcome.matches) < 400
        assert panel.results.topLevelItemCount() == len(outcome.matches)
        assert "cancelled" in panel.statuses.item(0, 1).text() and panel.search_button.isEnabled()
        assert not panel.fetch_button.isEnabled()  # no temporary store in this panel
    finally:
        slow.stop()


def test_import_to_server_shows_in_the_information_window(
    qtbot: QtBot, archive: Dcmqrscp, server: RunningServer, studies: list[Study], store: TemporaryStorageSCP
) -> None:
    service = StudyService.connect(server.http_url)
    window = MainWindow(service, refresh_seconds=0.5)
    qtbot.addWidget(window)
    panel = _panel(qtbot, (_node(archive),), server, store)
    window.add_panel("Search", panel)
    window.start()
    try:
        _search(qtbot, panel, "SMITHSON*")
        panel.results.topLevelItem(0).setSelected(True)
        with qtbot.waitSignal(panel.import_finished, timeout=60000) as finished:
            panel.import_button.click()
        [result] = finished.args[0]
        assert result.ok and result.counts.completed == 2, result.describe()
        assert "Success" in panel.message.text()
        qtbot.waitUntil(
            lambda: studies[1].study_uid in {s.study_instance_uid for s in window.study_model.rows()}, timeout=30000
        )
        [row] = [s for s in window.study_model.rows() if s.study_instance_uid == studies[1].study_uid]
        assert row.patient_id == "P002" and row.number_of_images == 2
    finally:
        window.shutdown()
        service.close()


def test_fetch_opens_the_viewer(qtbot: QtBot, archive: Dcmqrscp, server: RunningServer, studies: list[Study],
                                store: TemporaryStorageSCP) -> None:
    panel = _panel(qtbot, (_node(archive),), server, store)
    _search(qtbot, panel, "SMITH^ANNA")
    item = panel.results.topLevelItem(0)
    assert item.data(0, MATCH_ROLE).uid == studies[0].study_uid
    item.setSelected(True)
    with qtbot.waitSignal(panel.fetch_finished, timeout=60000) as finished, \
            qtbot.waitSignal(panel.source_opened, timeout=60000) as opened:
        panel.fetch_button.click()
    [result] = finished.args[0]
    assert result.ok and result.counts.completed == 7
    source = opened.args[0]
    assert source.key in studies[0].series and "SMITH" in source.title
    [viewer] = panel.launcher.viewers.values()
    bar = viewer.annotations.toolbar  # the full toolbar; storing on the server waits for an import
    assert bar.tools and bar.export_action.isEnabled() and not bar.save_action.isEnabled()
    assert "import the study first" in bar.save_action.toolTip()
    viewport = viewer.active_viewport()
    expected = len(studies[0].series[source.key])
    qtbot.waitUntil(lambda: viewport.stack is not None and len(viewport.stack) == expected, timeout=30000)
    assert viewport.current_dataset() is not None
    assert str(viewport.current_dataset().SeriesInstanceUID) == source.key
    viewer.close()


def test_worklist_search(qtbot: QtBot, server: RunningServer, wlmscpfs: int) -> None:  # noqa: F811
    ris = RemoteNode("ris", WLM_AE, "127.0.0.1", wlmscpfs, ("mwl",))
    panel = _panel(qtbot, (ris,), server, None)
    panel.form.mode.setCurrentText("Worklist (MWL)")
    assert panel.form.worklist and panel.form.pages.currentIndex() == 1
    panel.form.mwl_modality.setText("MR")
    with qtbot.waitSignal(panel.search_finished, timeout=30000) as finished:
        panel.search_button.click()
    outcome = finished.args[0]
    assert outcome.statuses[0].ok and outcome.matches
    assert all(m.get("Modality") == "MR" for m in outcome.matches)
    rows = [panel.results.topLevelItem(i) for i in range(panel.results.topLevelItemCount())]
    assert len(rows) == len(outcome.matches) and {r.text(5) for r in rows} == {"MR"}
    assert all(r.text(4) for r in rows)  # the SPS start date
    rows[0].setSelected(True)
    assert panel.selected_requests() == []  # a worklist item is not retrieved
