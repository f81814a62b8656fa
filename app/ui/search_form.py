"""The search panel's inputs: the remote nodes (checkable, with a Test button) and the two
search forms, Q/R (the reference's 3.2.2.2 keys) and worklist (SPS keys).

Values are DICOM matching keys as typed (``*`` and ``?`` wildcards, ``a-b`` ranges); the
study date has quick ranges (:data:`app.services.search.QUICK_RANGES`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import ConfigError
from app.core.workstation_config import RemoteNode
from app.services.node_settings import save_nodes
from app.services.search import QUICK_RANGES, StudyQuery, WorklistQuery, quick_range
from app.ui.node_dialog import NodeDialog

STUDIES, WORKLIST = "Studies (Q/R)", "Worklist (MWL)"


class NodeList(QWidget):
    """The configured nodes as checkable rows, a Test button (C-ECHO) and its answer, and
    Add/Edit/Remove, saved as ``[[workstation.nodes]]`` in :attr:`settings_file`
    (``nodes_changed(nodes)`` tells the panel)."""

    nodes_changed = Signal(object)

    def __init__(self, nodes: tuple[RemoteNode, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.nodes: tuple[RemoteNode, ...] = ()
        self.settings_file: Path | None = None
        self.list = QListWidget(self)
        self.list.setObjectName("search-nodes")
        self.list.setMaximumHeight(110)
        self.test_button = QPushButton("Test", self)
        self.test_button.setToolTip("C-ECHO the highlighted node")
        self.add_button = QPushButton("Add...", self)
        self.edit_button = QPushButton("Edit...", self)
        self.remove_button = QPushButton("Remove", self)
        self.answer = QLabel("", self)
        self.answer.setObjectName("echo-answer")
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        for button in (self.test_button, self.add_button, self.edit_button, self.remove_button):
            row.addWidget(button)
        row.addWidget(self.answer, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Nodes (checked ones are searched, in this order):", self))
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.add_button.clicked.connect(self.add_node)
        self.edit_button.clicked.connect(self.edit_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.set_nodes(nodes)

    def add_node(self) -> None:
        """Ask for a new node (:class:`~app.ui.node_dialog.NodeDialog`) and save it."""
        dialog = NodeDialog(parent=self)
        if dialog.exec() == NodeDialog.DialogCode.Accepted and dialog.node is not None:
            self.apply_nodes([*self.nodes, dialog.node])

    def edit_node(self) -> None:
        node = self.current()
        if node is None:
            return
        dialog = NodeDialog(node, parent=self)
        if dialog.exec() == NodeDialog.DialogCode.Accepted and dialog.node is not None:
            self.apply_nodes([dialog.node if n is node else n for n in self.nodes])

    def remove_node(self) -> None:
        node = self.current()
        if node is not None:
            self.apply_nodes([n for n in self.nodes if n is not node])

    def apply_nodes(self, nodes: list[RemoteNode]) -> bool:
        """Save ``nodes`` in :attr:`settings_file`, show them and emit ``nodes_changed``; False
        (the reason shown) when they cannot be saved."""
        if self.settings_file is None:
            self.answer.setText("Nodes cannot be saved: no configuration file.")
            return False
        try:
            saved = save_nodes(self.settings_file, nodes)
        except (ConfigError, OSError) as exc:
            self.answer.setText(f"Nodes not saved: {exc}")
            return False
        self.set_nodes(saved)
        self.answer.setText(f"Nodes saved in {self.settings_file}.")
        self.nodes_changed.emit(saved)
        return True

    def set_nodes(self, nodes: tuple[RemoteNode, ...]) -> None:
        """Show ``nodes`` (all checked); keeps the unchecked state of nodes still there."""
        unchecked = {self.nodes[i].name for i in range(self.list.count())
                     if self.list.item(i).checkState() != Qt.CheckState.Checked}
        self.nodes = nodes
        self.list.clear()
        for node in nodes:
            services = "+".join(s.upper() for s in node.services)
            item = QListWidgetItem(f"{node.name}  ({node.ae_title}@{node.host}:{node.port}, {services})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if node.name in unchecked else Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, node.name)
            self.list.addItem(item)
        if nodes:
            self.list.setCurrentRow(0)
        for button in (self.test_button, self.edit_button, self.remove_button):
            button.setEnabled(bool(nodes))
        if not nodes:
            self.answer.setText("No remote nodes: Add... one (saved in your configuration file).")

    def set_checked(self, names: list[str]) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            wanted = item.data(Qt.ItemDataRole.UserRole) in names
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def checked(self, worklist: bool) -> list[RemoteNode]:
        """The checked nodes offering the service, in list order."""
        out = []
        for i, node in enumerate(self.nodes):
            if self.list.item(i).checkState() == Qt.CheckState.Checked and (
                node.offers_mwl if worklist else node.offers_qr
            ):
                out.append(node)
        return out

    def current(self) -> RemoteNode | None:
        row = self.list.currentRow()
        return self.nodes[row] if 0 <= row < len(self.nodes) else None


def _field(form: QFormLayout, label: str, name: str, hint: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(hint)
    form.addRow(label, edit)
    return edit


class SearchForm(QWidget):
    """The mode (studies or worklist) and the keys of each mode."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox(self)
        self.mode.addItems([STUDIES, WORKLIST])
        self.pages = QStackedWidget(self)
        qr = QWidget()
        f = QFormLayout(qr)
        self.patient_id = _field(f, "Patient ID", "patient_id")
        self.patient_name = _field(f, "Patient name", "patient_name", "SMITH* (wildcards * ?)")
        self.birth_date = _field(f, "Birth date", "birth_date", "YYYYMMDD")
        self.study_date = QLineEdit()
        self.study_date.setObjectName("study_date")
        self.study_date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.quick = QComboBox()
        self.quick.addItems(["Any date", *QUICK_RANGES])
        self.quick.currentTextChanged.connect(self._quick_range)
        dates = QHBoxLayout()
        dates.addWidget(self.study_date, 1)
        dates.addWidget(self.quick)
        f.addRow("Study date", dates)
        self.study_id = _field(f, "Study ID", "study_id")
        self.accession = _field(f, "Accession number", "accession")
        self.modality = _field(f, "Modality", "modality", "CT, MR, ...")
        self.description = _field(f, "Study description", "description", "*CHEST*")
        mwl = QWidget()
        g = QFormLayout(mwl)
        self.station_ae = _field(g, "Scheduled station AE", "station_ae")
        self.station_name = _field(g, "Scheduled station name", "station_name")
        self.mwl_modality = _field(g, "Modality", "mwl_modality")
        self.sps_date = _field(g, "SPS start date", "sps_date", "YYYYMMDD-YYYYMMDD")
        self.sps_time = _field(g, "SPS start time", "sps_time", "HHMM-HHMM")
        self.mwl_patient_id = _field(g, "Patient ID", "mwl_patient_id")
        self.mwl_patient_name = _field(g, "Patient name", "mwl_patient_name")
        self.pages.addWidget(qr)
        self.pages.addWidget(mwl)
        self.mode.currentIndexChanged.connect(self.pages.setCurrentIndex)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode)
        layout.addWidget(self.pages)

    def _quick_range(self, name: str) -> None:
        self.study_date.setText(quick_range(name) if name in QUICK_RANGES else "")

    @property
    def worklist(self) -> bool:
        return self.mode.currentText() == WORKLIST

    def study_query(self) -> StudyQuery:
        return StudyQuery(
            patient_id=self.patient_id.text(), patient_name=self.patient_name.text(),
            patient_birth_date=self.birth_date.text(), study_date=self.study_date.text(),
            study_id=self.study_id.text(), accession_number=self.accession.text(),
            modality=self.modality.text(), study_description=self.description.text(),
        )

    def worklist_query(self) -> WorklistQuery:
        return WorklistQuery(
            scheduled_station_ae_title=self.station_ae.text(), scheduled_station_name=self.station_name.text(),
            modality=self.mwl_modality.text(), sps_start_date=self.sps_date.text(), sps_start_time=self.sps_time.text(),
            patient_id=self.mwl_patient_id.text(), patient_name=self.mwl_patient_name.text(),
        )
