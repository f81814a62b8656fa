"""Table models of the information window: studies (with their reading status) and the series of one study.

Values are shown as people read them through :mod:`app.dicom.value_format` (PS3.5 6.2); the sort
role (``Qt.UserRole``) carries the raw value (numbers as numbers, dates as ``YYYYMMDDHHMMSS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from app.dicom.value_format import format_date, format_shown_date, format_time
from app.dicom.value_format import format_person_name as format_name
from app.services.studies import SeriesSummary, StudySummary

# format_date / format_name: re-exported for app/ui/image_window.py until the viewer stops using it
__all__ = ["SeriesTableModel", "StudyTableModel", "format_date", "format_name"]

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


class _RowModel(QAbstractTableModel, Generic[T]):
    columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[T] = []
        self._keys: list[tuple[Any, ...] | None] = []  # per row, computed once: views ask many times
        self._texts: list[tuple[str, ...] | None] = []  # per row, formatted when first shown

    def _keys_of(self, row: int) -> tuple[Any, ...]:
        keys = self._keys[row]
        if keys is None:
            item = self._rows[row]
            keys = self._keys[row] = tuple(self.value(item, c) for c in range(len(self.columns)))
        return keys

    def _texts_of(self, row: int) -> tuple[str, ...]:
        texts = self._texts[row]
        if texts is None:
            item = self._rows[row]
            texts = self._texts[row] = tuple(self.display(item, c, k) for c, k in enumerate(self._keys_of(row)))
        return texts

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section][0]
        return None

    def value(self, item: T, column: int) -> Any:
        """The sort value of one cell."""
        return self.columns[column][1](item)

    def display(self, item: T, column: int, value: Any) -> str:
        """The text of one cell (its sort value as text unless a subclass formats it)."""
        return "" if value is None else str(value)

    def font(self, item: T) -> QFont | None:
        return None

    def foreground(self, item: T, column: int) -> QColor | None:
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts_of(row)[column]
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return self._keys_of(row)[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if isinstance(self._keys_of(row)[column], int):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self.font(self._rows[row])
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(self._rows[row], column)
        return None

    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._keys = [None] * len(self._rows)
        self._texts = [None] * len(self._rows)
        self.endResetModel()

    def redisplay(self) -> None:
        """Format every cell again (the date pattern or language changed in the settings)."""
        self._texts = [None] * len(self._rows)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.columnCount() - 1))

    def row(self, row: int) -> T:
        return self._rows[row]

    def rows(self) -> list[T]:
        return list(self._rows)


_STATUS_ORDER = {"new": 0, "read": 1, "approved": 2}
_STATUS_COLOURS = {"new": QColor("#b35900"), "approved": QColor("#1e7b34")}


class StudyTableModel(_RowModel[StudySummary]):
    """Studies: status, patient name, ID, birth date, study date and time, modalities, accession,
    numbers of series and images, description. New (unread) studies are shown in bold."""

    STATUS, NAME, PATIENT_ID, BIRTH_DATE, STUDY_DATE, MODALITIES, ACCESSION, SERIES, IMAGES, DESCRIPTION = range(10)
    columns = (
        ("Status", lambda s: ""),  # from the admin API: see value()
        ("Patient name", lambda s: s.patient_name),
        ("Patient ID", lambda s: s.patient_id),
        ("Birth date", lambda s: s.patient_birth_date),
        ("Study date", lambda s: f"{s.study_date}{s.study_time.split('.')[0]}"),
        ("Modalities", lambda s: s.modalities.replace("\\", ", ")),
        ("Accession", lambda s: s.accession_number),
        ("Series", lambda s: s.number_of_series),
        ("Images", lambda s: s.number_of_images),
        ("Description", lambda s: s.study_description),  # last: it takes the width left
    )

    def __init__(self) -> None:
        super().__init__()
        self._statuses: dict[str, str] | None = None  # None: not known (no admin API)
        self._bold = QFont()
        self._bold.setBold(True)

    @property
    def status_known(self) -> bool:
        """Whether statuses came from the admin API (else the column is empty)."""
        return self._statuses is not None

    def status(self, study: StudySummary) -> str:
        """``new``/``read``/``approved`` from the admin API ('' while unknown)."""
        if self._statuses is None:
            return ""
        return self._statuses.get(study.study_instance_uid, "new")

    def set_statuses(self, statuses: dict[str, str] | None) -> None:
        """Statuses by Study Instance UID (a study absent from the answer is new); None = unknown."""
        self._statuses = None if statuses is None else dict(statuses)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.columnCount() - 1))

    def value(self, item: StudySummary, column: int) -> Any:
        if column == self.STATUS:
            return self.status(item)
        return super().value(item, column)

    def display(self, item: StudySummary, column: int, value: Any) -> str:
        if column == self.NAME:
            return format_name(value)
        if column == self.BIRTH_DATE:
            return format_shown_date(value)  # the pattern and language of the settings (app.ui.date_language)
        if column == self.STUDY_DATE:
            time = format_time(item.study_time)[:5] if item.study_time else ""
            return f"{format_shown_date(item.study_date)} {time}".strip()
        return super().display(item, column, value)

    def font(self, item: StudySummary) -> QFont | None:
        return self._bold if self.status(item) == "new" else None

    def foreground(self, item: StudySummary, column: int) -> QColor | None:
        return _STATUS_COLOURS.get(self.status(item)) if column == self.STATUS else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.column() == self.STATUS and index.isValid() and 0 <= index.row() < len(self._rows):
            status = self.status(self._rows[index.row()])  # changes without a reset: not cached
            if role == Qt.ItemDataRole.DisplayRole:
                return status
            if role == Qt.ItemDataRole.UserRole:
                return _STATUS_ORDER.get(status, -1)
        return super().data(index, role)

    def row_of(self, study_instance_uid: str) -> int:
        """Row of a study by its UID, -1 when absent."""
        for i, study in enumerate(self._rows):
            if study.study_instance_uid == study_instance_uid:
                return i
        return -1


class SeriesTableModel(_RowModel[SeriesSummary]):
    """Series of one study: number, modality, description, images."""

    columns = (
        ("Series", lambda s: s.series_number),
        ("Modality", lambda s: s.modality),
        ("Description", lambda s: s.series_description),
        ("Images", lambda s: s.number_of_images),
    )
