"""The main window: the information window of the studies (server, temporary store, media) and their series.

The source selector (:mod:`app.ui.source_selector`) chooses where the studies come from
(:mod:`app.services.study_sources`): the server (QIDO-RS, filtered there by the quick filter bar,
:mod:`app.ui.study_filters`; the status column new/read/approved from the admin API), the temporary
store (the images of this run's Fetches; filtered here) or a disc opened without import ("Media: ...").
A worker polls ``/api/status`` every ``refresh_seconds``; the server list is queried again when its
``changes`` counter moves, a local list when its source says it changed. Selecting a study lists its
series below; Enter or a double-click opens it in the viewer. Study actions (send, approve, delete)
run through :mod:`app.ui.study_actions`, on the server only; Import to server and Close media through
:mod:`app.ui.source_actions`.

Keyboard: arrows, Page Up/Down, Home/End move in the list (Shift/Ctrl extend the selection);
Enter opens; Delete deletes (after a confirmation); Ctrl+F goes to the name filter, Ctrl+Shift+F
clears the filters; F5 refreshes; Ctrl+Shift+S sends, Ctrl+Shift+A approves, Ctrl+E exports,
Ctrl+P prints; Alt+O goes to the source, Ctrl+Alt+1..9 choose one; Ctrl+Shift+I imports to the server.

Hooks for other parts of the workstation (keep each hook a few lines)
---------------------------------------------------------------------
The shell part is :class:`app.ui.window_shell.WindowShell`.

``window.make_action(text, slot, shortcut=None, tip="")``
    A ``QAction`` of this window.
``window.menu(name)``
    The menus ``"File"``, ``"Study"``, ``"View"``, ``"Help"`` (a new name adds a menu
    before Help). Add your ``QAction`` to the one it belongs to.
``window.add_study_action(action, menu="Study", toolbar=False)``
    An action on the selected studies: added to ``menu``, the study list's context menu and,
    optionally, the toolbar; enabled only while studies are selected. Read them with
    ``window.selected_studies()``.
``window.add_panel(title, widget, area=LeftDockWidgetArea)``
    A side panel (e.g. the search panel, the media import tree): a dock widget, tabified with the
    other panels in its area, with a toggle in the View menu. Returns the ``QDockWidget``.
``window.export_requested(list)`` / ``window.print_requested(list)``
    Emitted with the selected :class:`~app.services.studies.StudySummary` objects by Study >
    Export... and Study > Print... (connect your dialog to them). With nothing connected the user
    is told the feature is not available.
``window.open_study(study)`` / ``window.open_series(series)``
    Open in the viewer (one :class:`~app.ui.viewer_window.ViewerWindow` per study, its series in
    the matrix); ``viewer_opened(window)`` is emitted and the study is marked read.
``window.refresh_studies()``
    Query the list again (e.g. after an import).
``window.add_study_source(source, choose=False)`` / ``window.add_media(opened)``
    List another :class:`~app.services.study_sources.StudySource` (the temporary store) / a disc
    opened without import (an :class:`~app.services.media.OpenedMedia`, owned by the window from then on).
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from app.client.dicomweb import ServerStatus
from app.core.errors import ServerUnavailableError
from app.services.media import OpenedMedia
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.services.study_actions import StudyActions
from app.services.study_filters import RELATIVE_PRESETS, StudyFilter
from app.services.study_sources import ServerStudySource, StudySource
from app.ui.models import StudyTableModel
from app.ui.series_panel import SeriesPanel
from app.ui.server_watch import ServerWatch
from app.ui.source_actions import SourceActions
from app.ui.source_selector import SourceSelector
from app.ui.study_actions import StudyActionController
from app.ui.study_filters import FilterBar
from app.ui.study_open import StudyOpener
from app.ui.study_table import fit_columns, make_table
from app.ui.viewer_launch import ViewerLauncher
from app.ui.viewer_window import ViewerWindow
from app.ui.window_shell import WindowShell
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)


class MainWindow(WindowShell):
    """Information window: quick filters and studies above, the selected study's series below.

    Signals
    -------
    studies_loaded(int)
        The study list was (re)loaded with this many studies.
    statuses_loaded(object)
        The study statuses were (re)loaded (a dict Study Instance UID -> status).
    series_loaded(int)
        The series list of the current study was loaded.
    viewer_opened(object)
        A :class:`~app.ui.viewer_window.ViewerWindow` was opened or raised (it loads by itself).
    export_requested(list), print_requested(list)
        The user asked to export / print these studies (see the module docstring).
    """

    studies_loaded = Signal(int)
    statuses_loaded = Signal(object)
    series_loaded = Signal(int)
    viewer_opened = Signal(object)
    export_requested = Signal(list)
    print_requested = Signal(list)

    def __init__(
        self,
        studies: StudyService,
        refresh_seconds: float = 3.0,
        parent: QWidget | None = None,
        actions: StudyActions | None = None,
    ) -> None:
        super().__init__(parent)
        self.studies = studies
        self.pool = WorkerPool(self)
        self.launcher = ViewerLauncher(studies, self.pool.pool)
        self.opener = StudyOpener(self)
        self.current_study: StudySummary | None = None
        self.study_filter = StudyFilter()
        self._querying = False
        self._query_again = False
        self._fitted = False
        self._owns_actions = actions is None
        self.study_actions: StudyActions | None = actions or StudyActions.connect(studies.url)
        self.setWindowTitle(f"Lightbox - {studies.url}")

        self.study_model = StudyTableModel()
        self.study_proxy = QSortFilterProxyModel(self)
        self.study_proxy.setSourceModel(self.study_model)
        self.study_proxy.setSortRole(Qt.ItemDataRole.UserRole)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        self.server_source = ServerStudySource(studies)
        self.sources = SourceSelector(self.server_source, central)
        self.sources.chosen.connect(self._on_source)
        self.sources.stale.connect(self.refresh_studies)
        self.filter_bar = FilterBar(central)
        self.filter_bar.changed.connect(self.set_filter)
        top = QHBoxLayout()
        top.addWidget(self.sources)
        top.addWidget(self.filter_bar, 1)
        layout.addLayout(top)
        splitter = QSplitter(Qt.Orientation.Vertical, central)
        self.study_view = make_table(splitter, multi=True)
        self.study_view.setModel(self.study_proxy)
        self.study_view.sortByColumn(StudyTableModel.STUDY_DATE, Qt.SortOrder.DescendingOrder)
        self.study_view.activated.connect(self.on_study_activated)  # Enter, double-click
        self.study_view.selectionModel().selectionChanged.connect(self._on_study_selection)
        self.study_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.study_view.customContextMenuRequested.connect(lambda pos: self.show_context_menu(self.study_view, pos))
        self.series_panel = SeriesPanel(self.server_source, self.pool, self.show_error, splitter)
        self.series_panel.activated.connect(self.open_series)
        self.series_panel.loaded.connect(self.series_loaded)
        self.series_model, self.series_view, self.series_label = (
            self.series_panel.model, self.series_panel.view, self.series_panel.label
        )
        splitter.addWidget(self.study_view)
        splitter.addWidget(self.series_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._build_actions()
        self.controller = StudyActionController(self)
        self.source_actions = SourceActions(self)
        self.server_label = QLabel(studies.url, self)
        self.statusBar().addPermanentWidget(self.server_label)

        self.watch = ServerWatch(studies, self.pool, refresh_seconds, self)
        self.watch.status.connect(self._on_status)
        self.watch.changed.connect(self._on_changes)
        self.watch.failed.connect(lambda exc: self.show_error(exc, permanent=True))
        self.watch.ticked.connect(self.controller.refresh_statuses)
        self._update_actions()
        self.resize(1200, 720)

    # -- actions ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.refresh_action = self.make_action("Refresh", self.refresh_studies, QKeySequence.StandardKey.Refresh)
        self.quit_action = self.make_action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.menu("File").addAction(self.refresh_action)
        self.menu("File").addSeparator()
        self.menu("File").addAction(self.quit_action)

        self.open_action = self.make_action("Open", self.open_selected, tip="Open the study in the viewer (Enter)")
        self.add_study_action(self.open_action, toolbar=True)
        self.open_series_action = self.make_action("Open series", self.open_selected_series)
        self.menu("Study").addAction(self.open_series_action)
        self.menu("Study").addSeparator()
        self.context_menu.addSeparator()
        self.find_action = self.make_action("Find patient", self.focus_filter, QKeySequence.StandardKey.Find)
        self.clear_filter_action = self.make_action("Clear filters", self.filter_bar.clear, "Ctrl+Shift+F")
        self.menu("View").addAction(self.find_action)
        self.menu("View").addAction(self.clear_filter_action)
        self.menu("View").addAction(self.refresh_action)
        self.menu("View").addSeparator()
        self.toolbar.addAction(self.refresh_action)

    def has_selection(self) -> bool:
        return hasattr(self, "study_view") and bool(self.selected_studies())

    def _update_actions(self) -> None:
        self.update_selection_actions()
        self.controller.update_actions()
        if hasattr(self, "source_actions"):
            self.source_actions.update_actions()

    def focus_filter(self) -> None:
        self.filter_bar.patient_name.setFocus()
        self.filter_bar.patient_name.selectAll()

    def start(self) -> None:
        """Load the study list and start polling the server for changes."""
        self.refresh_studies()
        self.watch.start()

    # -- polling ----------------------------------------------------------------------------
    @property
    def last_changes(self) -> int | None:
        """The server's change counter at the last poll (None before the first answer)."""
        return self.watch.last_changes

    def _on_status(self, status: object) -> None:
        assert isinstance(status, ServerStatus)
        self.server_label.setText(f"{self.studies.url}  ({status.instances} images)")
        self.server_label.setStyleSheet("")

    def _on_changes(self) -> None:
        if not self.sources.current.on_server:
            return  # the server changed; the list shown is another source's
        self.refresh_studies()
        if self.current_study is not None:
            self.load_series(self.current_study)

    # -- sources ----------------------------------------------------------------------------
    def add_study_source(self, source: StudySource, choose: bool = False) -> StudySource:
        """List another source of studies (e.g. the temporary store) in the source selector."""
        return self.sources.add(source, choose)

    def add_media(self, opened: OpenedMedia, choose: bool = False) -> StudySource:
        """List a disc opened without import as ``Media: <label>`` (the window owns it until it is closed)."""
        return self.source_actions.add_media(opened, choose)

    def _on_source(self, source: object) -> None:
        """Another source was chosen: its studies replace the list (statuses only on the server)."""
        assert isinstance(source, StudySource)
        self.current_study = None
        self.series_panel.source = source
        self.series_panel.clear()
        self.study_model.set_rows([])
        self.study_model.set_statuses(None)
        self.study_view.setColumnHidden(StudyTableModel.STATUS, not source.on_server)  # local studies: no status
        self._fitted = False  # other studies: fit the columns to them
        self.controller.refresh_statuses()
        self.refresh_studies()
        self._update_actions()

    # -- studies ----------------------------------------------------------------------------
    def set_filter(self, study_filter: object) -> None:
        """Apply quick filters: the list is queried again from the server with them."""
        assert isinstance(study_filter, StudyFilter)
        self.study_filter = study_filter
        self.refresh_studies()

    def refresh_studies(self) -> None:
        """Query the study list again with the current filter (on a worker)."""
        if self._querying:
            self._query_again = True
            return
        self._querying = True
        if self.filter_bar.preset() in RELATIVE_PRESETS:  # Today & co. move on at midnight
            self.study_filter = self.filter_bar.current()
        source = self.sources.current
        query = partial(source.list_studies, self.study_filter)
        self.pool.submit(query, on_done=partial(self._on_studies, source), on_error=self._on_studies_error)

    def _on_studies(self, source: StudySource, result: object) -> None:
        self._querying = False
        if self._query_again or source is not self.sources.current:  # a newer filter, change or source waits
            self._query_again = False
            self.refresh_studies()
            return
        assert isinstance(result, list)
        if result != self.study_model.rows():  # unchanged: keep the view as it is (no flicker)
            self._show_rows(result)
        if self.current_study is not None and self.study_model.row_of(self.current_study.study_instance_uid) < 0:
            self.current_study = None  # filtered out or deleted: its series go too
            self.series_panel.clear()
        described = self.study_filter.describe()
        where = "" if source.on_server else f" in {source.name}"
        self.statusBar().showMessage(f"{len(result)} studies{where}" + (f" ({described})" if described else ""), 5000)
        self._update_actions()
        self.studies_loaded.emit(len(result))

    def _show_rows(self, rows: list[StudySummary]) -> None:
        """Show ``rows``, keeping the selection and the current row; columns are fitted once."""
        selected = {s.study_instance_uid for s in self.selected_studies()}
        current = self.selected_study()
        self.study_model.set_rows(rows)
        if rows and not self._fitted:  # later, the user's column widths stay
            self.fit_study_columns()
        selection = self.study_view.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for uid in selected:
            row = self.study_model.row_of(uid)
            if row >= 0:
                index = self.study_proxy.mapFromSource(self.study_model.index(row, 0))
                selection.select(index, flags)
                if current is not None and uid == current.study_instance_uid:
                    selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def fit_study_columns(self) -> None:
        """Fit the study columns to what they show (on the first load and when statuses arrive)."""
        if self.study_model.rowCount():
            fit_columns(self.study_view)
            self._fitted = True

    def _on_studies_error(self, exc: Exception) -> None:
        self._querying = False
        self._query_again = False
        self.show_error(exc)

    def selected_studies(self) -> list[StudySummary]:
        """The selected studies, in the order shown."""
        selection = self.study_view.selectionModel()
        rows = sorted(selection.selectedRows(), key=lambda i: i.row()) if selection else []
        return [self.study_model.row(self.study_proxy.mapToSource(i).row()) for i in rows]

    def selected_study(self) -> StudySummary | None:
        index = self.study_view.currentIndex()
        if index.isValid() and self.study_view.selectionModel().isRowSelected(index.row(), QModelIndex()):
            return self.study_model.row(self.study_proxy.mapToSource(index).row())
        studies = self.selected_studies()
        return studies[0] if studies else None

    def _on_study_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_actions()
        study = self.selected_study()
        if study is not None and (
            self.current_study is None or self.current_study.study_instance_uid != study.study_instance_uid
        ):
            self.load_series(study)

    def on_study_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_study(self.study_model.row(self.study_proxy.mapToSource(index).row()))

    def load_series(self, study: StudySummary) -> None:
        """List the series of ``study`` below the studies (on a worker)."""
        self.current_study = study
        self.series_panel.show_study(study)

    # -- opening ----------------------------------------------------------------------------
    def open_selected(self) -> None:
        study = self.selected_study()
        if study is not None:
            self.open_study(study)

    def open_study(self, study: StudySummary) -> None:
        """Open ``study`` of the chosen source in the viewer (a server study is marked read)."""
        self.opener.open_study(study)

    def open_selected_series(self) -> None:
        series = self.series_panel.selected()
        if series is None:
            self.statusBar().showMessage("Select a study, then one of its series.", 5000)
        else:
            self.open_series(series)

    def open_series(self, series: object) -> ViewerWindow | None:
        """Open ``series`` of the current study in the viewer (its other series in the matrix)."""
        assert isinstance(series, SeriesSummary)
        return self.opener.open_series(self.current_study, series, self.series_model.rows())

    # -- errors and shutdown ----------------------------------------------------------------
    def show_error(self, exc: Exception, permanent: bool = False) -> None:
        """Show an error in the status bar (red for an unreachable server)."""
        message = str(exc)
        log.warning("%s", message)
        if isinstance(exc, ServerUnavailableError) or permanent:
            self.server_label.setText("Server unavailable")
            self.server_label.setStyleSheet("color: #c00; font-weight: bold")
            self.server_label.setToolTip(message)
        self.statusBar().showMessage(message, 15000)

    def shutdown(self) -> None:
        """Stop polling, close the viewers and wait for the workers."""
        self.watch.stop()
        self.sources.close_all()
        self.controller.stop()
        self.launcher.close_all()
        self.pool.shutdown()
        if self._owns_actions and self.study_actions is not None:
            self.study_actions.close()
            self.study_actions = None

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
