"""The search panel: search remote archives and worklists, then Import or Fetch (issue 6).

- The checked nodes are asked **in sequence** (:func:`app.services.search.search` on a
  worker); results merge into one sortable tree with the node each came from, and a status
  row per node (count and time, or the failure and its Error Comment) appears as soon as
  that node has answered. Cancel sends C-CANCEL and stops before the next node.
- Expanding a study asks its node for its series (series-level C-FIND), so a part of it can
  be retrieved.
- **Import** moves the selected studies or series to the server's Storage SCP (the study then
  shows in the information window, which follows the server's changes); **Fetch** moves one
  study or series to the temporary Storage SCP and opens it in a viewer as soon as its first
  image arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.config import Config
from app.core.paths import user_config_file
from app.core.workstation_config import RemoteNode
from app.net.move import MoveResult
from app.net.temporary_store import TemporaryStorageSCP
from app.services.local_series import LocalSeriesSource
from app.services.retrieve import Fetch, RetrieveRequest, import_destination, retrieve_all
from app.services.search import Match, NodeStatus, SearchOutcome, search, series_of, verify_node
from app.services.session import Session
from app.ui.search_form import NodeList, SearchForm
from app.ui.search_results import COLUMNS, MATCH_ROLE, match_item, selected_requests
from app.ui.viewer_launch import ViewerLauncher, launcher_of
from app.ui.viewer_window import source_key
from app.ui.workers import Worker, WorkerPool


class _Bridge(QObject):
    """Carries what worker threads learn to the GUI thread."""

    node_done = Signal(object, object)
    first_image = Signal(object)
    node_count = Signal(str, int)


class SearchPanel(QWidget):
    """Nodes, form, results, statuses and the Search/Cancel/Import/Fetch buttons.

    Parameters
    ----------
    config
        ``config.workstation`` gives the nodes and the SCU settings.
    import_ae_title
        The server's Storage SCP AE (:func:`app.services.retrieve.import_destination`).
    store
        The running temporary Storage SCP (None: Fetch is off, ``store_error`` says why).
    open_source
        Opens a series source in a viewer (default: ``launcher``'s
        :meth:`~app.ui.viewer_launch.ViewerLauncher.open_sources`).
    launcher
        Makes the viewers (default: one of the panel's own, without a server).
    """

    search_finished = Signal(object)
    import_finished = Signal(object)
    fetch_finished = Signal(object)
    echo_finished = Signal(str)
    source_opened = Signal(object)

    def __init__(
        self, config: Config, import_ae_title: str, store: TemporaryStorageSCP | None = None, *,
        store_error: str = "", open_source: Callable[[Any], None] | None = None, settings_file: Path | None = None,
        parent: QWidget | None = None, launcher: ViewerLauncher | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config.workstation
        self.import_ae_title = import_ae_title
        self.store = store
        self.pool = WorkerPool(self, max_threads=3)
        self.launcher = launcher or ViewerLauncher(None, QThreadPool.globalInstance())
        self._open_source = open_source or self._open_in_viewer
        self._cancellable: list[Worker] = []  # the running search and retrieves
        self._bridge = _Bridge(self)
        self._bridge.node_done.connect(self._on_node_done)
        self._bridge.first_image.connect(self._on_first_image)
        self._bridge.node_count.connect(self._show_count)
        self.nodes = NodeList(self.config.nodes, self)
        self.nodes.test_button.clicked.connect(self.test_node)
        self.nodes.settings_file = settings_file or user_config_file()
        self.nodes.nodes_changed.connect(self._nodes_changed)
        self.form = SearchForm(self)
        self.search_button = QPushButton("Search", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.import_button = QPushButton("Import", self)
        self.fetch_button = QPushButton("Fetch", self)
        self.import_button.setToolTip(f"C-MOVE the selected studies or series to the server ({import_ae_title})")
        self.fetch_button.setToolTip("C-MOVE to the temporary store and open in a viewer"
                                     if store else store_error or "The temporary Storage SCP is not running")
        self.cancel_button.setEnabled(False)
        self.fetch_button.setEnabled(store is not None)
        self.search_button.clicked.connect(self.search)
        self.cancel_button.clicked.connect(self.cancel)
        self.import_button.clicked.connect(self.import_selected)
        self.fetch_button.clicked.connect(self.fetch_selected)
        buttons = QHBoxLayout()
        for button in (self.search_button, self.cancel_button, self.import_button, self.fetch_button):
            buttons.addWidget(button)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.setValue(0)
        self.results = QTreeWidget(self)
        self.results.setObjectName("search-results")
        self.results.setHeaderLabels(list(COLUMNS))
        self.results.setSortingEnabled(True)
        self.results.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.results.itemExpanded.connect(self._expand)
        self.statuses = QTableWidget(0, 2, self)
        self.statuses.setObjectName("node-statuses")
        self.statuses.setHorizontalHeaderLabels(["Node", "Answer"])
        self.statuses.horizontalHeader().setStretchLastSection(True)
        self.statuses.verticalHeader().setVisible(False)
        self.statuses.setMaximumHeight(100)
        self.message = QLabel(store_error, self)
        self.message.setObjectName("search-message")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.nodes)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.statuses)
        layout.addWidget(self.message)

    # -- C-ECHO -----------------------------------------------------------------------------
    def test_node(self) -> None:
        """C-ECHO the highlighted node; the answer or the exact failure shows beside the button."""
        node = self.nodes.current()
        if node is None:
            return
        self.nodes.answer.setText(f"Testing {node.name}...")
        self.pool.submit(verify_node, self.config, node,
                         on_done=lambda result: self._echo_done(result.describe()),
                         on_error=lambda exc: self._echo_done(str(exc)))

    def _echo_done(self, text: str) -> None:
        self.nodes.answer.setText(text)
        self.echo_finished.emit(text)

    def _nodes_changed(self, nodes: tuple[RemoteNode, ...]) -> None:
        self.config = replace(self.config, nodes=nodes)

    # -- search -----------------------------------------------------------------------------
    def search(self) -> None:
        """Search the checked nodes in sequence with the form's keys."""
        worklist = self.form.worklist
        nodes = self.nodes.checked(worklist)
        if not nodes:
            self.message.setText("Check at least one node offering " + ("MWL." if worklist else "Q/R."))
            return
        identifier = (self.form.worklist_query() if worklist else self.form.study_query()).identifier()
        self.results.clear()
        self.statuses.setRowCount(0)
        self.progress.setRange(0, len(nodes))
        self.progress.setValue(0)
        self.search_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.message.setText(f"Searching {len(nodes)} node(s)...")
        worker = self.pool.submit(
            search, self.config, nodes, identifier, worklist=worklist,
            on_node=lambda status, matches: self._bridge.node_done.emit(status, matches),
            on_count=self._bridge.node_count.emit,
            on_done=self._search_done, on_error=self._search_failed,
            on_progress=lambda done, total: self.progress.setValue(done),
        )
        self._cancellable.append(worker)

    def cancel(self) -> None:
        """Cancel the running search (C-CANCEL) or retrieve."""
        for worker in self._cancellable:
            worker.cancel_token.cancel()
        self.message.setText("Cancelling...")

    def _show_count(self, node: str, count: int) -> None:
        self.message.setText(f"Searching {node}: {count} matches so far...")

    def _on_node_done(self, status: NodeStatus, matches: list[Match]) -> None:
        row = self.statuses.rowCount()
        self.statuses.insertRow(row)
        self.statuses.setItem(row, 0, QTableWidgetItem(status.node))
        answer = QTableWidgetItem(status.message)
        if not status.ok:
            answer.setForeground(Qt.GlobalColor.red)
        self.statuses.setItem(row, 1, answer)
        self.results.setSortingEnabled(False)
        for match in matches:
            self.results.addTopLevelItem(match_item(match))
        self.results.setSortingEnabled(True)

    def _search_done(self, outcome: SearchOutcome) -> None:
        self._finish_search()
        failed = sum(1 for s in outcome.statuses if not s.ok)
        text = f"{len(outcome.matches)} match(es) from {len(outcome.statuses)} node(s)"
        if failed:
            text += f"; {failed} node(s) failed"
        self.message.setText(text + (" (cancelled)" if outcome.cancelled else "."))
        self.search_finished.emit(outcome)

    def _search_failed(self, exc: Exception) -> None:
        self._finish_search()
        self.message.setText(f"Search failed: {exc}")
        self.search_finished.emit(exc)

    def _finish_search(self) -> None:
        self._prune()
        self.search_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- series -----------------------------------------------------------------------------
    def _expand(self, item: QTreeWidgetItem) -> None:
        match: Match | None = item.data(0, MATCH_ROLE)
        if match is None or match.level != "STUDY" or item.childCount() or item.data(1, MATCH_ROLE):
            return
        item.setData(1, MATCH_ROLE, "loading")
        node = self.config.node(match.node)

        def done(outcome: SearchOutcome) -> None:
            for series in outcome.matches:
                item.addChild(match_item(series))
            if outcome.statuses and not outcome.statuses[0].ok:
                self.message.setText(f"Series of {match.uid}: {outcome.statuses[0].message}")

        self.pool.submit(series_of, self.config, node, match.uid, on_done=done,
                         on_error=lambda exc: self.message.setText(str(exc)))

    def selected_requests(self) -> list[RetrieveRequest]:
        """The selection as retrieve requests (:func:`app.ui.search_results.selected_requests`)."""
        return selected_requests(self.results, self.config)

    # -- import and fetch -------------------------------------------------------------------
    def import_selected(self) -> None:
        """C-MOVE the selected studies or series to the server's Storage SCP."""
        requests = self.selected_requests()
        if not requests:
            self.message.setText("Select studies or series to import.")
            return
        self._start_move(f"Importing {len(requests)} item(s) to {self.import_ae_title}...")
        self._cancellable.append(self.pool.submit(
            retrieve_all, self.config, requests, self.import_ae_title,
            on_done=lambda results: self._move_done(results, self.import_finished),
            on_error=self._move_failed, on_progress=self._move_progress,
        ))

    def fetch_selected(self) -> None:
        """C-MOVE the first selected study or series to the temporary store and open it."""
        requests = self.selected_requests()
        if self.store is None or self.store.area is None or not requests:
            self.message.setText("Select a study or series to fetch." if self.store else self.fetch_button.toolTip())
            return
        fetch = Fetch(self.config, self.store.area, self.store.ae_title, requests[0],
                      on_first_image=self._bridge.first_image.emit)
        self._start_move(f"Fetching {requests[0].study_instance_uid} to {self.store.ae_title}...")
        self._cancellable.append(self.pool.submit(
            fetch.run, on_done=lambda result: self._move_done([result], self.fetch_finished),
            on_error=self._move_failed, on_progress=self._move_progress,
        ))

    def _prune(self) -> None:
        """Forget the workers that have finished (their result delivered)."""
        if not self.pool.busy:
            self._cancellable.clear()

    def _start_move(self, text: str) -> None:
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.message.setText(text)

    def _move_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _move_done(self, results: list[MoveResult], signal: Any) -> None:
        self._prune()
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.message.setText("\n".join(r.describe() for r in results) or "Nothing moved.")
        signal.emit(results)

    def _move_failed(self, exc: Exception) -> None:
        self._prune()
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.message.setText(f"Retrieve failed: {exc}")

    def shutdown(self) -> None:
        """Cancel the running search or retrieve (C-CANCEL) and wait for the workers."""
        self.pool.shutdown()

    def _on_first_image(self, source: LocalSeriesSource) -> None:
        self._open_source(source)
        self.source_opened.emit(source)

    def _open_in_viewer(self, source: Any) -> None:
        """A fetched series (in the temporary store, not on the server) in a viewer of its own."""
        self.launcher.open_sources(f"fetch:{source_key(source)}", f"{source.title} - fetched - Lightbox", [source])


def install_search_panel(window: Any, config: Config, session: Session) -> SearchPanel:
    """Add the search panel to the information window (``window.add_panel``), wired to the
    session's server (Import destination) and temporary Storage SCP (Fetch)."""
    server_info = session.embedded.info if session.embedded is not None else None
    panel = SearchPanel(config, import_destination(config, server_info), session.temporary_store,
                        store_error=session.temporary_store_error, parent=window, launcher=launcher_of(window))
    window.add_panel("Search", panel)
    application = QApplication.instance()
    if application is not None:
        application.aboutToQuit.connect(panel.shutdown)
    return panel
