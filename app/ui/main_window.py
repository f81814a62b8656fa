"""The main window: the information window of the studies on the server and their series.

The study list refreshes without a restart: a worker polls the server's ``/api/status``
every ``refresh_seconds`` and the studies are queried again when its ``changes`` counter
moves. Double-click a study to list its series; double-click a series to open it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QMainWindow, QSplitter, QTableView, QWidget

from app.client.dicomweb import ServerStatus
from app.core.errors import ServerUnavailableError
from app.services.studies import SeriesSummary, StudyService, StudySummary
from app.ui.image_window import ImageWindow
from app.ui.models import SeriesTableModel, StudyTableModel, format_name
from app.ui.workers import WorkerPool

log = logging.getLogger(__name__)


def _table(parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setSortingEnabled(True)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


def _fit_columns(view: QTableView) -> None:
    """Size the columns to their contents (capped), the last one taking the remaining width."""
    header = view.horizontalHeader()
    view.resizeColumnsToContents()
    for column in range(header.count() - 1):
        header.resizeSection(column, min(header.sectionSize(column) + 12, 300))


class MainWindow(QMainWindow):
    """Information window: studies above, the selected study's series below.

    Signals
    -------
    studies_loaded(int)
        The study list was (re)loaded with this many studies.
    series_loaded(int)
        The series list of the current study was loaded.
    image_window_opened(object)
        An :class:`ImageWindow` was opened (it loads its series by itself).
    """

    studies_loaded = Signal(int)
    series_loaded = Signal(int)
    image_window_opened = Signal(object)

    def __init__(self, studies: StudyService, refresh_seconds: float = 3.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studies = studies
        self.pool = WorkerPool(self)
        self.image_windows: list[ImageWindow] = []
        self.current_study: StudySummary | None = None
        self.last_changes: int | None = None
        self._polling = False
        self._querying = False
        self._query_again = False
        self.setWindowTitle(f"Lightbox - {studies.url}")

        self.study_model = StudyTableModel()
        self.study_proxy = QSortFilterProxyModel(self)
        self.study_proxy.setSourceModel(self.study_model)
        self.study_proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.series_model = SeriesTableModel()
        self.series_proxy = QSortFilterProxyModel(self)
        self.series_proxy.setSourceModel(self.series_model)
        self.series_proxy.setSortRole(Qt.ItemDataRole.UserRole)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.study_view = _table(splitter)
        self.study_view.setModel(self.study_proxy)
        self.study_view.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        self.study_view.doubleClicked.connect(self.on_study_activated)
        self.series_label = QLabel("Double-click a study to see its series.", splitter)
        self.series_view = _table(splitter)
        self.series_view.setModel(self.series_proxy)
        self.series_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.series_view.doubleClicked.connect(self.on_series_activated)
        splitter.addWidget(self.study_view)
        splitter.addWidget(self.series_label)
        splitter.addWidget(self.series_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(2, 2)
        self.setCentralWidget(splitter)

        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh_studies)
        self.open_action = QAction("Open series", self)
        self.open_action.triggered.connect(self.open_selected_series)
        toolbar = self.addToolBar("Studies")
        toolbar.setObjectName("studies-toolbar")
        toolbar.addAction(self.refresh_action)
        toolbar.addAction(self.open_action)
        self.server_label = QLabel(studies.url, self)
        self.statusBar().addPermanentWidget(self.server_label)

        self.timer = QTimer(self)
        self.timer.setInterval(max(int(refresh_seconds * 1000), 200))
        self.timer.timeout.connect(self.poll)
        self.resize(1100, 640)

    def start(self) -> None:
        """Load the study list and start polling the server for changes."""
        self.refresh_studies()
        self.poll()
        self.timer.start()

    # -- polling ----------------------------------------------------------------------------
    def poll(self) -> None:
        """Ask the server for its change counter (on a worker); re-query when it moved."""
        if self._polling:
            return
        self._polling = True
        self.pool.submit(self.studies.status, on_done=self._on_status, on_error=self._on_poll_error)

    def _on_status(self, status: object) -> None:
        self._polling = False
        assert isinstance(status, ServerStatus)
        self.server_label.setText(f"{self.studies.url}  ({status.instances} images)")
        self.server_label.setStyleSheet("")
        if self.last_changes is not None and status.changes != self.last_changes:
            self.refresh_studies()
            if self.current_study is not None:
                self.load_series(self.current_study)
        self.last_changes = status.changes

    def _on_poll_error(self, exc: Exception) -> None:
        self._polling = False
        self.show_error(exc, permanent=True)

    # -- studies ----------------------------------------------------------------------------
    def refresh_studies(self) -> None:
        """Query the study list again (on a worker)."""
        if self._querying:
            self._query_again = True
            return
        self._querying = True
        self.pool.submit(self.studies.list_studies, on_done=self._on_studies, on_error=self._on_studies_error)

    def _on_studies(self, result: object) -> None:
        self._querying = False
        assert isinstance(result, list)
        selected = self.selected_study()
        self.study_model.set_rows(result)
        _fit_columns(self.study_view)
        if selected is not None:
            row = self.study_model.row_of(selected.study_instance_uid)
            if row >= 0:
                self.study_view.selectRow(self.study_proxy.mapFromSource(self.study_model.index(row, 0)).row())
        self.statusBar().showMessage(f"{len(result)} studies", 5000)
        self.studies_loaded.emit(len(result))
        if self._query_again:
            self._query_again = False
            self.refresh_studies()

    def _on_studies_error(self, exc: Exception) -> None:
        self._querying = False
        self._query_again = False
        self.show_error(exc)

    def selected_study(self) -> StudySummary | None:
        rows = self.study_view.selectionModel().selectedRows() if self.study_view.selectionModel() else []
        if not rows:
            return None
        return self.study_model.row(self.study_proxy.mapToSource(rows[0]).row())

    def on_study_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.load_series(self.study_model.row(self.study_proxy.mapToSource(index).row()))

    def load_series(self, study: StudySummary) -> None:
        """List the series of ``study`` below the studies (on a worker)."""
        if self.current_study is None or self.current_study.study_instance_uid != study.study_instance_uid:
            self.series_model.set_rows([])
        self.current_study = study
        self.series_label.setText(
            f"Series of {format_name(study.patient_name)} - {study.study_description or study.study_date}"
        )
        uid = study.study_instance_uid

        def done(result: object) -> None:
            if self.current_study is None or self.current_study.study_instance_uid != uid:
                return  # another study was chosen meanwhile
            assert isinstance(result, list)
            self.series_model.set_rows(result)
            _fit_columns(self.series_view)
            self.series_loaded.emit(len(result))

        self.pool.submit(self.studies.list_series, uid, on_done=done, on_error=self.show_error)

    # -- series -----------------------------------------------------------------------------
    def on_series_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_series(self.series_model.row(self.series_proxy.mapToSource(index).row()))

    def open_selected_series(self) -> None:
        rows = self.series_view.selectionModel().selectedRows()
        if rows:
            self.on_series_activated(rows[0])
        elif self.series_model.rowCount():
            self.open_series(self.series_model.row(0))
        else:
            self.statusBar().showMessage("Double-click a study, then choose one of its series.", 5000)

    def open_series(self, series: SeriesSummary) -> ImageWindow:
        """Open ``series`` in a new image window; it loads its images on a worker."""
        window = ImageWindow(self.studies, self.current_study, series, self.pool)
        window.load_failed.connect(lambda message: self.statusBar().showMessage(message, 10000))
        self.image_windows = [w for w in self.image_windows if w.isVisible()] + [window]
        window.show()
        window.load()
        self.image_window_opened.emit(window)
        return window

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
        """Stop polling, close image windows and wait for the workers."""
        self.timer.stop()
        for window in self.image_windows:
            window.close()
        self.pool.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
