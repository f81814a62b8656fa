"""The settings dialog (File -> Settings...): everything a site configures, saved to the user's
TOML file (:func:`app.core.paths.user_config_file`) through
:class:`app.services.settings_store.SettingsStore` (comments and unknown tables kept).

Pages: Workstation (:mod:`app.ui.settings_general`), Remote nodes, Printers, Send destinations
(:mod:`app.ui.settings_peers`, each with a Test button: C-ECHO; a node's also proposes the FIND of
its services and says which it accepts), Viewer
(:mod:`app.ui.settings_viewer`). Fields read only at start say so next to them; after saving,
:attr:`SettingsDialog.saved` carries the new configuration (the caller applies what it can) and
the dialog lists the changes that wait for a restart.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTabWidget, QVBoxLayout, QWidget

from app.core.config import Config, Destination
from app.core.errors import ConfigError
from app.core.paths import user_config_file
from app.core.workstation_config import PrinterConfig, RemoteNode
from app.services.connection_check import check_node, check_printer
from app.services.node_settings import node_table, printer_table
from app.services.settings_store import SettingsStore, needs_restart
from app.ui.node_dialog import NodeDialog
from app.ui.peer_dialogs import DestinationDialog, PrinterDialog
from app.ui.settings_fields import ERROR_STYLE, CheckedLine
from app.ui.settings_general import GeneralPage
from app.ui.settings_peers import PeerKind, PeerListPage
from app.ui.settings_viewer import ViewerPage


def _edit_node(node: RemoteNode | None, parent: QWidget) -> RemoteNode | None:
    dialog = NodeDialog(node, parent)
    return dialog.node if dialog.exec() == QDialog.DialogCode.Accepted else None


def _edit_printer(printer: PrinterConfig | None, parent: QWidget) -> PrinterConfig | None:
    dialog = PrinterDialog(printer, parent)
    return dialog.printer if dialog.exec() == QDialog.DialogCode.Accepted else None


def _edit_destination(destination: Destination | None, parent: QWidget) -> Destination | None:
    dialog = DestinationDialog(destination, parent)
    return dialog.destination if dialog.exec() == QDialog.DialogCode.Accepted else None


class SettingsDialog(QDialog):
    """Edit and save the user's settings.

    Parameters
    ----------
    config
        The configuration in use (the fields start from it).
    path
        The file to save to (default: the user's configuration file).
    """

    saved = Signal(object)  # the new Config

    def __init__(self, config: Config, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lightbox settings")
        self.path = path or user_config_file()
        self.config = config
        ws = config.workstation

        def calling() -> str:
            return self.general.calling_ae.text() or ws.effective_calling_ae_title()

        def print_calling() -> str:
            return self.general.print_ae.text() or ws.print_calling_ae_title

        self.general = GeneralPage(config)
        self.nodes = PeerListPage(PeerKind(
            "workstation.nodes", lambda n: f"{n.name}  ({n.ae_title}@{n.host}:{n.port}, {'+'.join(n.services)})",
            _edit_node, node_table, lambda n: (n.ae_title, n.host, n.port), calling, check_item=check_node), ws.nodes)
        self.printers = PeerListPage(PeerKind(
            "workstation.printers", lambda p: f"{p.name}  ({p.ae_title}@{p.host}:{p.port}, profile {p.profile})",
            _edit_printer, printer_table, lambda p: (p.ae_title, p.host, p.port), print_calling,
            check=check_printer), ws.printers)
        self.destinations = PeerListPage(PeerKind(
            "server.destinations", lambda d: f"{d.ae_title}@{d.host}:{d.port}", _edit_destination,
            lambda d: {"ae_title": d.ae_title, "host": d.host, "port": d.port},
            lambda d: (d.ae_title, d.host, d.port), calling, restart=True), config.server.destinations)
        self.viewer = ViewerPage(ws.viewer)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.general, "Workstation")
        self.tabs.addTab(self.nodes, "Remote nodes")
        self.tabs.addTab(self.printers, "Printers")
        self.tabs.addTab(self.destinations, "Send destinations")
        self.tabs.addTab(self.viewer, "Viewer")
        self.message = QLabel("")
        self.message.setObjectName("settings-message")
        self.message.setWordWrap(True)
        where = QLabel(f"Saved to {self.path}")
        where.setStyleSheet("color: #666")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.message)
        layout.addWidget(where)
        layout.addWidget(self.buttons)
        self.resize(780, 760)
        self.general.server_url.edit.textChanged.connect(self._server_changed)
        self._server_changed()

    def _server_changed(self) -> None:
        """Send destinations belong to the bundled server: greyed out while a remote server is named."""
        self.destinations.set_available(
            not self.general.uses_remote_server(),
            "These destinations are the bundled server's. The server URL on the Workstation page names another "
            "server: its send destinations are set on that server (its [[server.destinations]]), not here.")

    def save(self) -> bool:
        """Check every field, write the file, emit :attr:`saved`; stay open with the reason on failure."""
        checked: tuple[tuple[QWidget, list[CheckedLine]], ...] = (
            (self.general, self.general.fields()), (self.viewer, [self.viewer.layout_field]))
        for shown, fields in checked:
            if [field for field in fields if not field.validate()]:
                self.tabs.setCurrentWidget(shown)
                return self._fail("Correct the fields marked in red, then save again.")
        try:
            store = SettingsStore(self.path)
            for page in (self.general, self.nodes, self.printers, self.destinations, self.viewer):
                page.write(store)
            if not store.changed:  # an untouched dialog writes nothing and asks for no restart
                self.message.setStyleSheet("color: #1b7f2a")
                self.message.setText("Nothing changed.")
                return True
            config = store.save()
        except ConfigError as exc:
            return self._fail(str(exc))
        self.config = config
        for page in (self.general, self.nodes, self.printers, self.destinations):
            page.mark_saved()
        self.viewer.mark_saved(config.workstation.viewer)
        restart = sorted(key for key in store.changed if needs_restart(key))
        text = "Saved."
        if restart:
            text += " Restart Lightbox for these to take effect: " + ", ".join(restart) + "."
        self.message.setStyleSheet("color: #1b7f2a")
        self.message.setText(text)
        self.saved.emit(config)
        return True

    def _fail(self, text: str) -> bool:
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(text)
        return False
