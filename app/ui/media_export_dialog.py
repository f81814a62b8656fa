"""The media export dialog (File-set Creator): studies of one or several patients to a folder, ISO or disc.

The studies selected in the information window are listed ticked; choose the output folder (new
or empty), optionally an ISO image, burning on a CD/DVD (offered only when a burning program and
a drive are found; otherwise the reason is shown), a README and an HTML index. **Export** runs on
a worker with progress and Cancel; the report shows what was written, left out, and the re-read
check's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.media.burner import BurnerError, detect_burner
from app.services.media_export import ExportOptions, ExportReport, export_studies
from app.services.studies import StudyService, StudySummary
from app.ui.job_dialog import JobDialog
from app.ui.models import format_date, format_name

log = logging.getLogger(__name__)


class MediaExportDialog(JobDialog):
    """Export studies as a DICOM file-set.

    Signals
    -------
    export_finished(object)
        The :class:`~app.services.media_export.ExportReport` of a finished export.
    """

    export_finished = Signal(object)

    def __init__(self, studies: StudyService, selected: Sequence[StudySummary], parent: QWidget | None = None) -> None:
        super().__init__("Export to media", 1, 140, "Cancelling ...", parent)
        self.studies = studies

        self.study_list = QListWidget(self)
        self.set_studies(selected)
        self.study_list.itemChanged.connect(lambda _item: self._update_buttons())

        self.folder_edit = QLineEdit(self)
        self.folder_edit.setPlaceholderText("A new or empty folder")
        self.folder_edit.textChanged.connect(lambda _t: self._update_buttons())
        folder_button = QPushButton("Choose...", self)
        folder_button.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(folder_button)
        self.iso_check = QCheckBox("Also write an ISO 9660 image:", self)
        self.iso_edit = QLineEdit(self)
        self.iso_edit.setPlaceholderText("disc.iso")
        self.iso_check.toggled.connect(self.iso_edit.setEnabled)
        self.iso_edit.setEnabled(False)
        iso_row = QHBoxLayout()
        iso_row.addWidget(self.iso_check)
        iso_row.addWidget(self.iso_edit, 1)
        self.burn_check = QCheckBox("Burn on a CD/DVD", self)
        self.burn_note = QLabel(self)
        self.burn_note.setWordWrap(True)
        self.readme_check = QCheckBox("README on the disc", self)
        self.readme_check.setChecked(True)
        self.index_check = QCheckBox("HTML index of the contents", self)
        self.index_check.setChecked(True)
        self.check_burner()

        form = QFormLayout()
        form.addRow("Folder:", folder_row)
        form.addRow("", iso_row)
        form.addRow("", self.burn_check)
        form.addRow("", self.burn_note)
        form.addRow("Extras:", self.readme_check)
        form.addRow("", self.index_check)

        self.export_button = QPushButton("Export", self)
        self.export_button.clicked.connect(self.start_export)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.export_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Studies (one file-set may hold several patients):", self))
        layout.addWidget(self.study_list, 1)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.report)
        layout.addLayout(buttons)
        self.resize(720, 560)
        self._update_buttons()

    def set_studies(self, studies: Sequence[StudySummary]) -> None:
        self.study_list.clear()
        for study in studies:
            text = (f"{format_name(study.patient_name)} [{study.patient_id}]  {format_date(study.study_date)}  "
                    f"{study.study_description}  {study.modalities}  ({study.number_of_images} images)")  # fmt: skip
            item = QListWidgetItem(text, self.study_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, study.study_instance_uid)

    def chosen_studies(self) -> list[str]:
        items = (self.study_list.item(i) for i in range(self.study_list.count()))
        return [str(item.data(Qt.ItemDataRole.UserRole)) for item in items
                if item is not None and item.checkState() == Qt.CheckState.Checked]  # fmt: skip

    def check_burner(self) -> None:
        """Offer burning only when a program and a drive are there; say why not otherwise."""
        try:
            burner = detect_burner()
        except BurnerError as exc:
            self.burn_check.setEnabled(False)
            self.burn_check.setChecked(False)
            self.burn_note.setText(str(exc))
            return
        self.burn_check.setEnabled(True)
        self.burn_note.setText(f"{burner.tool} on {burner.device}")

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder (new or empty)", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def options(self) -> ExportOptions:
        folder = Path(self.folder_edit.text().strip())
        iso_text = self.iso_edit.text().strip()
        iso = (Path(iso_text) if iso_text else folder.with_suffix(".iso")) if self.iso_check.isChecked() else None
        return ExportOptions(folder, iso, burn=self.burn_check.isChecked(), readme=self.readme_check.isChecked(),
                             html_index=self.index_check.isChecked())  # fmt: skip

    def _update_buttons(self) -> None:
        busy = self.worker is not None
        ready = bool(self.folder_edit.text().strip()) and bool(self.chosen_studies())
        self.export_button.setEnabled(ready and not busy)
        self.cancel_button.setEnabled(busy)

    def start_export(self) -> None:
        """Run the export on a worker with progress."""
        uids = self.chosen_studies()
        if not uids or not self.folder_edit.text().strip():
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.report.setPlainText(f"Exporting {len(uids)} study(ies) ...")
        self.worker = self.pool.submit(
            export_studies, self.studies, uids, self.options(),
            on_done=self._on_done, on_error=self._on_error, on_progress=self._on_progress,
        )  # fmt: skip
        self._update_buttons()

    def _on_done(self, result: object) -> None:
        assert isinstance(result, ExportReport)
        self.worker = None
        self.progress.setVisible(False)
        self.report.setPlainText(result.summary())
        self._update_buttons()
        self.export_finished.emit(result)

    def _on_error(self, exc: Exception) -> None:
        self.worker = None
        self.progress.setVisible(False)
        self.report.setPlainText(f"The export stopped: {exc}")
        self._update_buttons()
