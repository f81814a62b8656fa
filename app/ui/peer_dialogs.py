"""Dialogs to add or edit a printer or a send destination, checked by the configuration's own
rules (as :class:`app.ui.node_dialog.NodeDialog` is for remote nodes)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.config import Destination
from app.core.errors import ConfigError
from app.core.workstation_config import PrinterConfig
from app.printing.profiles import profile_names
from app.services.node_settings import check_printers
from app.ui.settings_fields import ERROR_STYLE, ae_title_checker, host_checker


class _PeerDialog(QDialog):
    """AE title, host and port (and the rows a subclass adds), with the reason shown when refused."""

    def __init__(self, title: str, ae_title: str, host: str, port: int, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.ae_title = QLineEdit(ae_title)
        self.ae_title.setMaxLength(16)
        self.host = QLineEdit(host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(port)
        self.form = QFormLayout()
        self.error = QLabel("")
        self.error.setObjectName("peer-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _address_rows(self) -> None:
        self.form.addRow("AE title", self.ae_title)
        self.form.addRow("Host", self.host)
        self.form.addRow("Port", self.port)

    def _checked(self) -> bool:
        """Check AE title and host (the subclass checks the rest); show the reason when refused."""
        try:
            ae_title_checker()(self.ae_title.text())
            host_checker(self.host.text())
            self._check_more()
        except ConfigError as exc:
            self.error.setText(str(exc))
            return False
        return True

    def _check_more(self) -> None:
        """Checks of the subclass; raise ConfigError."""


class PrinterDialog(_PeerDialog):
    """Edit one printer; :attr:`printer` holds the checked result after ``accept``."""

    def __init__(self, printer: PrinterConfig | None = None, parent: QWidget | None = None) -> None:
        d = printer or PrinterConfig(name="")
        super().__init__("Printer", d.ae_title, d.host, d.port, parent)
        self.printer: PrinterConfig | None = None
        self.name = QLineEdit(d.name)
        self.profile = QComboBox()
        self.profile.addItems(profile_names())
        self.profile.setCurrentText(d.profile)
        self.form.addRow("Name", self.name)
        self._address_rows()
        self.form.addRow("Profile", self.profile)

    def _check_more(self) -> None:
        candidate = PrinterConfig(self.name.text().strip() or self.ae_title.text().strip(),
                                  self.ae_title.text().strip(), self.host.text().strip(), self.port.value(),
                                  self.profile.currentText())
        [self.printer] = check_printers([candidate])

    def accept(self) -> None:
        if self._checked():
            super().accept()


class DestinationDialog(_PeerDialog):
    """Edit one send destination of the bundled server (``[[server.destinations]]``)."""

    def __init__(self, destination: Destination | None = None, parent: QWidget | None = None) -> None:
        d = destination or Destination("", "", 104)
        super().__init__("Send destination", d.ae_title, d.host, d.port, parent)
        self.destination: Destination | None = None
        self._address_rows()

    def _check_more(self) -> None:
        self.destination = Destination(self.ae_title.text().strip(), self.host.text().strip(), self.port.value())

    def accept(self) -> None:
        if self._checked():
            super().accept()
