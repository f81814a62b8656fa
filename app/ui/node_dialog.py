"""A dialog to add or edit one remote node (name, AE title, host, port, Q/R and/or MWL), checked
by the configuration's own rules (:func:`app.services.node_settings.check_nodes`)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import ConfigError
from app.core.workstation_config import RemoteNode
from app.services.node_settings import check_nodes


class NodeDialog(QDialog):
    """Edit one node; :attr:`node` holds the checked result after ``accept``."""

    def __init__(self, node: RemoteNode | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote node")
        self.node: RemoteNode | None = None
        self.name = QLineEdit(node.name if node else "")
        self.ae_title = QLineEdit(node.ae_title if node else "")
        self.ae_title.setMaxLength(16)
        self.host = QLineEdit(node.host if node else "")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(node.port if node else 104)
        self.qr = QCheckBox("Query/Retrieve")
        self.mwl = QCheckBox("Worklist")
        self.qr.setChecked(node.offers_qr if node else True)
        self.mwl.setChecked(node.offers_mwl if node else False)
        services = QHBoxLayout()
        services.addWidget(self.qr)
        services.addWidget(self.mwl)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("AE title", self.ae_title)
        form.addRow("Host", self.host)
        form.addRow("Port", self.port)
        form.addRow("Offers", services)
        self.error = QLabel("")
        self.error.setObjectName("node-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        """Check the fields; stay open with the reason when they are wrong."""
        services = tuple(s for s, box in (("qr", self.qr), ("mwl", self.mwl)) if box.isChecked())
        candidate = RemoteNode(self.name.text().strip() or self.ae_title.text().strip(), self.ae_title.text().strip(),
                               self.host.text().strip(), self.port.value(), services)
        try:
            [self.node] = check_nodes([candidate])
        except ConfigError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
