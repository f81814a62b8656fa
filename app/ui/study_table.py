"""The table views of the information window: row selection, sorting, compact rows, fitted columns."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

#: Rows looked at to fit a column to its contents (all of a long list would cost seconds).
FIT_ROWS = 50


class RowTable(QTableView):
    """A table of rows: Home and End go to the first and last row (not column), as in a list."""

    def moveCursor(self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        if cursorAction in (QAbstractItemView.CursorAction.MoveHome, QAbstractItemView.CursorAction.MoveEnd):
            modifiers = modifiers | Qt.KeyboardModifier.ControlModifier
        return super().moveCursor(cursorAction, modifiers)


def make_table(parent: QWidget, multi: bool = False) -> QTableView:
    """A read-only, sortable table selecting whole rows (several with Ctrl/Shift when ``multi``)."""
    view = RowTable(parent)
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
    view.horizontalHeader().setResizeContentsPrecision(FIT_ROWS)
    return view


def fit_columns(view: QTableView) -> None:
    """Size the columns to their contents (capped; at most :data:`FIT_ROWS` rows looked at); the
    last column takes the width left."""
    header = view.horizontalHeader()
    view.resizeColumnsToContents()
    for column in range(header.count() - 1):
        header.resizeSection(column, min(header.sectionSize(column) + 6, 300))
