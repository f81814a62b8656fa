"""The series of the selected study, below the study list: number, modality, description, images.

Listed on a worker by the study's source (:mod:`app.services.study_sources`: QIDO-RS for the server,
the headers for the temporary store and media); double-click or Enter on a series opens it in the
viewer (the main window connects :attr:`SeriesPanel.activated`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.dicom.value_format import format_date
from app.dicom.value_format import format_person_name as format_name
from app.services.studies import SeriesSummary, StudySummary
from app.services.study_sources import StudySource
from app.ui.models import SeriesTableModel
from app.ui.study_table import fit_columns, make_table
from app.ui.workers import WorkerPool

PROMPT = "Select a study to see its series."


class SeriesPanel(QWidget):
    """The series of one study.

    Signals
    -------
    loaded(int)
        The series of the study shown were listed (their number).
    activated(object)
        The user opened a :class:`SeriesSummary` (double-click, Enter).
    """

    loaded = Signal(int)
    activated = Signal(object)

    def __init__(
        self, source: StudySource, pool: WorkerPool, on_error: Callable[[Exception], None], parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.source = source  # the window sets the source chosen in its selector
        self.pool = pool
        self.on_error = on_error
        self.study: StudySummary | None = None
        self.model = SeriesTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.label = QLabel(PROMPT, self)
        self.view = make_table(self, multi=False)
        self.view.setModel(self.proxy)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.activated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.view, 1)

    def show_study(self, study: StudySummary) -> None:
        """List the series of ``study`` (on a worker); a later study wins over an earlier answer."""
        if self.study is None or self.study.study_instance_uid != study.study_instance_uid:
            self.model.set_rows([])
        self.study = study
        what = study.study_description or format_date(study.study_date)
        self.label.setText(f"Series of {format_name(study.patient_name)} - {what}")
        uid, source = study.study_instance_uid, self.source

        def done(result: object) -> None:
            if self.study is None or self.study.study_instance_uid != uid or self.source is not source:
                return  # another study (or source) was chosen meanwhile
            assert isinstance(result, list)
            self.model.set_rows(result)
            fit_columns(self.view)
            self.loaded.emit(len(result))

        self.pool.submit(source.list_series, study, on_done=done, on_error=self.on_error)

    def clear(self) -> None:
        self.study = None
        self.model.set_rows([])
        self.label.setText(PROMPT)

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.activated.emit(self.model.row(self.proxy.mapToSource(index).row()))

    def selected(self) -> SeriesSummary | None:
        """The selected series, else the first one, else None."""
        rows = self.view.selectionModel().selectedRows()
        if rows:
            return self.model.row(self.proxy.mapToSource(rows[0]).row())
        return self.model.row(0) if self.model.rowCount() else None
