"""The patient / study / series tree of a disc, with check boxes (the media import dialog's tree).

Every row carries the :class:`~app.media.tree.Selection` it stands for; patients and studies
tick and untick their children (and show partly ticked when some are), series are the unit of
selection. Optional keys show where the disc has them: birth date and sex, study date,
description, modalities, and the number of objects at each level.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from app.media.tree import MediaTree, Selection
from app.ui.models import format_date, format_name

SELECTION_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Patient / study / series", "Date", "Description", "Modality", "Objects")


def _check(item: QTreeWidgetItem, tristate: bool) -> None:
    flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
    if tristate:
        flags |= Qt.ItemFlag.ItemIsAutoTristate
    item.setFlags(flags)
    item.setCheckState(0, Qt.CheckState.Checked)


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    children = (item.child(i) for i in range(item.childCount()))
    return [child for child in children if child is not None]


class MediaTreeWidget(QTreeWidget):
    """The tree of one disc; :meth:`selections` gives the ticked series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(list(COLUMNS))
        self.setAlternatingRowColors(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)

    def show_tree(self, tree: MediaTree) -> None:
        """Fill the tree (everything ticked), without emitting ``itemChanged`` on the way."""
        self.blockSignals(True)
        self.clear()
        for patient in tree.patients:
            born = format_date(patient.patient_birth_date)
            about = ", ".join(t for t in (f"born {born}" if born else "", f"sex {patient.patient_sex}"
                                          if patient.patient_sex else "") if t)  # fmt: skip
            name = f"{format_name(patient.patient_name) or '(no name)'}  [{patient.patient_id}]"
            p_item = QTreeWidgetItem(self, [name, "", about, "", str(patient.instance_count)])
            p_item.setData(0, SELECTION_ROLE, Selection(patient.patient_id))
            _check(p_item, True)
            for study in patient.studies:
                label = f"Study {study.study_id}".strip() + (f" (acc. {study.accession_number})"
                                                             if study.accession_number else "")  # fmt: skip
                s_item = QTreeWidgetItem(p_item, [label, format_date(study.study_date), study.study_description,
                                                  study.modalities, str(study.instance_count)])  # fmt: skip
                s_item.setData(0, SELECTION_ROLE, Selection(patient.patient_id, study.study_instance_uid))
                _check(s_item, True)
                for series in study.series:
                    label = f"Series {series.series_number}" if series.series_number else "Series"
                    se_item = QTreeWidgetItem(s_item, [label, format_date(series.series_date),
                                                       series.series_description, series.modality,
                                                       str(len(series.instances))])  # fmt: skip
                    se_item.setData(0, SELECTION_ROLE, Selection(patient.patient_id, study.study_instance_uid,
                                                                 series.series_instance_uid))  # fmt: skip
                    _check(se_item, False)
        self.expandAll()
        for column in range(1, len(COLUMNS)):
            self.resizeColumnToContents(column)
        self.blockSignals(False)

    def patient_items(self) -> list[QTreeWidgetItem]:
        items = (self.topLevelItem(i) for i in range(self.topLevelItemCount()))
        return [item for item in items if item is not None]

    def series_items(self) -> list[QTreeWidgetItem]:
        out: list[QTreeWidgetItem] = []
        for patient in self.patient_items():
            for study in _children(patient):
                out.extend(_children(study))
        return out

    def selections(self) -> list[Selection]:
        """The ticked series (a whole patient or study is all its series)."""
        return [item.data(0, SELECTION_ROLE) for item in self.series_items()
                if item.checkState(0) == Qt.CheckState.Checked]  # fmt: skip

    def set_all(self, checked: bool) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        for item in self.patient_items():
            item.setCheckState(0, state)

