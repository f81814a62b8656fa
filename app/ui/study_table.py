"""The table views of the information window: row selection, sorting, compact rows, fitted columns."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget


def make_table(parent: QWidget, multi: bool = False) -> QTableView:
    """A read-only, sortable table selecting whole rows (several with Ctrl/Shift when ``multi``)."""
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(
        QAbstractItemView.SelectionMode.ExtendedSelection if multi else QAbstractItemView.SelectionMode.SingleSelection
    )
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setSortingEnabled(True)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


def fit_columns(view: QTableView) -> None:
    """Size the columns to their contents (capped), the last one taking the remaining width."""
    header = view.horizontalHeader()
    view.resizeColumnsToContents()
    for column in range(header.count() - 1):
        header.resizeSection(column, min(header.sectionSize(column) + 12, 300))
