"""The quick filter bar above the study list: patient name, patient ID, accession, modality, date.

Emits :attr:`FilterBar.changed` with a :class:`~app.services.study_filters.StudyFilter`; the main
window queries the server with it (QIDO-RS). Typing is debounced (300 ms); choices apply at once.
The date presets are computed from the day they are applied (:func:`preset_range`).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.services.study_filters import DatePreset, StudyFilter, preset_range

#: Modalities offered in the filter (PS3.3 C.7.3.1.1.1 defined terms most seen in a reading room).
MODALITIES = ("CT", "MR", "CR", "DX", "MG", "US", "NM", "PT", "XA", "RF", "OT", "SR", "PR")


class FilterBar(QWidget):
    """Quick filters of the study list.

    Signals
    -------
    changed(object)
        The filter (a :class:`StudyFilter`) after an edit.
    """

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, today: dt.date | None = None) -> None:
        super().__init__(parent)
        self._today = today
        self.patient_name = self._line("Patient name", "Name (Family, Given)", 160)
        self.patient_id = self._line("Patient ID", "Patient ID", 110)
        self.accession = self._line("Accession", "Accession number", 110)
        self.modality = QComboBox(self)
        self.modality.setObjectName("filter-modality")
        self.modality.addItem("All modalities", "")
        for code in MODALITIES:
            self.modality.addItem(code, code)
        self.modality.setEditable(False)
        self.date_preset = QComboBox(self)
        self.date_preset.setObjectName("filter-date")
        for preset in DatePreset:
            self.date_preset.addItem(preset.value, preset)
        self.date_from = self._date_edit("from")
        self.date_to = self._date_edit("to")
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setToolTip("Clear all filters")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.to_label = QLabel("to", self)
        widgets: tuple[QWidget, ...] = (
            self.patient_name, self.patient_id, self.accession, self.modality, self.date_preset,
            self.date_from, self.to_label, self.date_to, self.clear_button,
        )  # fmt: skip
        for widget in widgets:
            layout.addWidget(widget)
        layout.addStretch(1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.emit_changed)
        for line in (self.patient_name, self.patient_id, self.accession):
            line.textEdited.connect(lambda _text: self._debounce.start())
            line.returnPressed.connect(self.emit_changed)
        self.modality.currentIndexChanged.connect(lambda _i: self.emit_changed())
        self.date_preset.currentIndexChanged.connect(self._on_preset)
        self.date_from.dateChanged.connect(lambda _d: self.emit_changed())
        self.date_to.dateChanged.connect(lambda _d: self.emit_changed())
        self.clear_button.clicked.connect(self.clear)
        self._show_custom(False)

    def _line(self, name: str, placeholder: str, width: int) -> QLineEdit:
        line = QLineEdit(self)
        line.setObjectName(f"filter-{name.lower().replace(' ', '-')}")
        line.setPlaceholderText(placeholder)
        line.setToolTip(f"{name}: matches the beginning; * and ? are wildcards")
        line.setClearButtonEnabled(True)
        line.setMinimumWidth(width)
        return line

    def _date_edit(self, name: str) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setObjectName(f"filter-date-{name}")
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setDate(QDate.currentDate())
        return edit

    def today(self) -> dt.date:
        return self._today or dt.date.today()

    def _show_custom(self, visible: bool) -> None:
        for widget in (self.date_from, self.to_label, self.date_to):
            widget.setVisible(visible)

    def _on_preset(self, _index: int) -> None:
        self._show_custom(self.preset() is DatePreset.CUSTOM)
        self.emit_changed()

    def preset(self) -> DatePreset:
        value = self.date_preset.currentData()
        return value if isinstance(value, DatePreset) else DatePreset.ANY

    def set_preset(self, preset: DatePreset) -> None:
        self.date_preset.setCurrentIndex(self.date_preset.findData(preset))

    def set_custom_range(self, first: dt.date, last: dt.date) -> None:
        """Choose the custom range ``first``..``last`` (one change emitted)."""
        self.blockSignals(True)
        try:
            self.set_preset(DatePreset.CUSTOM)
            self.date_from.setDate(QDate(first.year, first.month, first.day))
            self.date_to.setDate(QDate(last.year, last.month, last.day))
        finally:
            self.blockSignals(False)
        self.emit_changed()

    def set_modality(self, code: str) -> None:
        self.modality.setCurrentIndex(max(self.modality.findData(code), 0))

    def current(self) -> StudyFilter:
        """The filter the widgets show now."""
        preset = self.preset()
        if preset is DatePreset.CUSTOM:
            first, last = self.date_from.date().toPython(), self.date_to.date().toPython()
            assert isinstance(first, dt.date) and isinstance(last, dt.date)
            low, high = (first, last) if first <= last else (last, first)
            dates: tuple[dt.date | None, dt.date | None] = (low, high)
        else:
            dates = preset_range(preset, self.today())
        return StudyFilter(
            patient_name=self.patient_name.text(),
            patient_id=self.patient_id.text(),
            accession_number=self.accession.text(),
            modality=str(self.modality.currentData() or ""),
            date_from=dates[0],
            date_to=dates[1],
        )

    def emit_changed(self) -> None:
        self._debounce.stop()
        self.changed.emit(self.current())

    def clear(self) -> None:
        """Back to no filter (one change emitted)."""
        self.blockSignals(True)
        try:
            for line in (self.patient_name, self.patient_id, self.accession):
                line.clear()
            self.modality.setCurrentIndex(0)
            self.set_preset(DatePreset.ANY)
        finally:
            self.blockSignals(False)
        self._show_custom(False)
        self.emit_changed()
