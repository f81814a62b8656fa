"""Table models of the information window: studies and the series of one study."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.services.studies import SeriesSummary, StudySummary

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex


def format_date(value: str) -> str:
    """DICOM DA ``YYYYMMDD`` as ``YYYY-MM-DD`` (PS3.5 6.2); other text unchanged."""
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def format_name(value: str) -> str:
    """DICOM PN ``Family^Given^Middle^Prefix^Suffix`` as ``Family, Given Middle`` (PS3.5 6.2.1)."""
    parts = value.split("=")[0].split("^")
    family = parts[0].strip()
    rest = " ".join(p.strip() for p in parts[1:3] if p.strip())
    return f"{family}, {rest}" if family and rest else family or rest


class _RowModel(QAbstractTableModel, Generic[T]):
    columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[T] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section][0]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        value = self.columns[index.column()][1](self._rows[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_rows(self, rows: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, row: int) -> T:
        return self._rows[row]

    def rows(self) -> list[T]:
        return list(self._rows)


class StudyTableModel(_RowModel[StudySummary]):
    """Studies: patient name, ID, birth date, study date, description, modalities, accession, counts."""

    columns = (
        ("Patient name", lambda s: format_name(s.patient_name)),
        ("Patient ID", lambda s: s.patient_id),
        ("Birth date", lambda s: format_date(s.patient_birth_date)),
        ("Study date", lambda s: format_date(s.study_date)),
        ("Description", lambda s: s.study_description),
        ("Modalities", lambda s: s.modalities.replace("\\", ", ")),
        ("Accession", lambda s: s.accession_number),
        ("Series", lambda s: s.number_of_series),
        ("Images", lambda s: s.number_of_images),
    )

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
