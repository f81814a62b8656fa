"""The settings dialog's "Workstation" page: the server, the temporary Storage SCP, AE titles,
polling and network timeout, dates (pattern and language), and the bundled server's DICOM ports.

Written keys: ``workstation.server_url`` (empty = bundled server), ``workstation.calling_ae_title``,
``workstation.print_calling_ae_title``, ``workstation.temporary_store.ae_title`` and ``.port``,
``workstation.refresh_seconds``, ``workstation.network_timeout``,
``workstation.viewer.corner_text.date_format``, ``workstation.viewer.date_language``, and of the
bundled server: the first ``[[server.storage]]`` AE's ``ae_title`` and ``port`` (what modalities
send to), ``server.qr.port``, ``server.mwl.port``. Only the values changed on the page are
written: saving an untouched page writes nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QVBoxLayout, QWidget

from app.core.config import Config
from app.core.errors import ConfigError
from app.core.workstation_config import default_store_ae_title
from app.services.settings_store import SettingsStore
from app.ui.date_language import LANGUAGES, locale_of
from app.ui.settings_fields import (
    BUNDLED_SERVER_RESTART,
    CheckedLine,
    add_row,
    ae_title_checker,
    note_label,
    restart_label,
    url_checker,
)

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d %b %Y", "%d. %B %Y")
STORAGE_KEY = "server.storage"


def _date_checker(text: str) -> str:
    if "%" not in text:
        raise ConfigError(f"Date format {text!r}: use a strftime pattern such as %Y-%m-%d or %d.%m.%Y.")
    return text


def _port_box(value: int, name: str, minimum: int = 1) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(minimum, 65535)
    box.setValue(value)
    return box


def _seconds_box(value: float, low: float, high: float, name: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setDecimals(1)
    box.setSuffix(" s")
    box.setValue(value)
    return box


class GeneralPage(QWidget):
    """Server, temporary store, AE titles, polling, dates, the bundled server's AE and ports."""

    def __init__(self, config: Config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ws = config.workstation
        self.storage = config.server.storage
        self.server_url = CheckedLine(ws.server_url, url_checker, "server-url")
        self.server_url.edit.setPlaceholderText("empty = the bundled server (data in the user data folder)")
        self.store_ae = CheckedLine(ws.temporary_store.ae_title, ae_title_checker(optional=True), "store-ae", 16)
        self.store_ae.edit.setPlaceholderText(f"{default_store_ae_title()} (from the host name)")
        self.store_port = _port_box(ws.temporary_store.port or 7820, "store-port")
        self.calling_ae = CheckedLine(ws.calling_ae_title, ae_title_checker(optional=True), "calling-ae", 16)
        self.calling_ae.edit.setPlaceholderText("empty = the temporary store's AE title")
        self.print_ae = CheckedLine(ws.print_calling_ae_title, ae_title_checker(), "print-ae", 16)
        self.refresh = _seconds_box(ws.refresh_seconds, 0.5, 3600, "refresh-seconds")
        self.refresh.setToolTip("How often the study list asks the server for new studies")
        self.timeout = _seconds_box(ws.network_timeout, 1, 3600, "network-timeout")
        self.timeout.setToolTip("How long a remote node may stay silent during a query, retrieve or print")
        date_format = str(ws.viewer.corner_text.get("date_format", "%Y-%m-%d"))
        self.date_format = CheckedLine(date_format, _date_checker, "date-format")
        self.date_format.edit.setToolTip("Dates in the study list and the viewer's corner text (strftime): "
                                         + ", ".join(DATE_FORMATS) + "; %B / %b = month name, %A / %a = day name")
        self.date_language = QComboBox()
        self.date_language.setObjectName("date-language")
        for code, name in LANGUAGES:
            shown = f"{name} ({locale_of('').nativeLanguageName()})" if not code else name
            self.date_language.addItem(shown, code)
        if self.date_language.findData(ws.viewer.date_language) < 0:  # a locale written by hand
            self.date_language.addItem(ws.viewer.date_language, ws.viewer.date_language)
        self.date_language.setCurrentIndex(self.date_language.findData(ws.viewer.date_language))
        self.date_language.setToolTip("Language of month and day names (%B, %b, %A, %a) in dates")
        form = QFormLayout()
        add_row(form, "Server URL", self.server_url, restart=True)
        add_row(form, "Temporary store AE title", self.store_ae, restart=True)
        add_row(form, "Temporary store port", self.store_port, restart=True)
        add_row(form, "Query AE title", self.calling_ae, restart=True)
        add_row(form, "Print AE title", self.print_ae)
        add_row(form, "Study list refresh", self.refresh, restart=True)
        add_row(form, "Network timeout", self.timeout, restart=True)
        add_row(form, "Date format", self.date_format)
        add_row(form, "Language of dates", self.date_language)
        first = self.storage[0] if self.storage else None
        self.server_ae = CheckedLine(first.ae_title if first else "DICOM_STORAGE", ae_title_checker(), "server-ae", 16)
        self.server_port = _port_box(first.port if first else 7810, "server-storage-port", 0)
        self.qr_port = _port_box(config.server.qr.port, "server-qr-port", 0)
        self.mwl_port = _port_box(config.server.mwl.port, "server-mwl-port", 0)
        self.bundled = QGroupBox("Bundled server (what modalities and archives send to)")
        self.bundled.setObjectName("bundled-server")
        bundled_form = QFormLayout(self.bundled)
        add_row(bundled_form, "Storage AE title", self.server_ae)
        add_row(bundled_form, "Storage port", self.server_port)
        add_row(bundled_form, "Query/Retrieve port", self.qr_port)
        add_row(bundled_form, "Worklist port", self.mwl_port)
        bundled_form.addRow(restart_label(BUNDLED_SERVER_RESTART))
        self.bundled_note = note_label("bundled-note", "color: #666")
        bundled_form.addRow(self.bundled_note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bundled)
        layout.addStretch(1)
        self.server_url.edit.textChanged.connect(self._server_changed)
        self._server_changed()
        self._initial: dict[str, object] = self._values()

    def uses_remote_server(self) -> bool:
        """Whether the server URL field names a server (the bundled server is then not started)."""
        return bool(self.server_url.text())

    def _server_changed(self) -> None:
        remote = self.uses_remote_server()
        for field in (self.server_ae, self.server_port, self.qr_port, self.mwl_port):
            field.setEnabled(not remote)
        self.bundled_note.setText(
            "Not used: the workstation uses the server at the URL above (its DICOM settings are that server's)."
            if remote else "Port 0 = any free port (modalities cannot be configured with it).")

    def fields(self) -> list[CheckedLine]:
        return [self.server_url, self.store_ae, self.calling_ae, self.print_ae, self.date_format, self.server_ae]

    def _values(self) -> dict[str, object]:
        try:
            url = url_checker(self.server_url.text()) or None
        except ConfigError:
            url = self.server_url.text()  # refused by fields() before it is written
        return {
            "workstation.server_url": url,
            "workstation.temporary_store.ae_title": self.store_ae.text() or None,
            "workstation.temporary_store.port": self.store_port.value(),
            "workstation.calling_ae_title": self.calling_ae.text() or None,
            "workstation.print_calling_ae_title": self.print_ae.text(),
            "workstation.refresh_seconds": round(self.refresh.value(), 1),
            "workstation.network_timeout": round(self.timeout.value(), 1),
            "workstation.viewer.corner_text.date_format": self.date_format.text(),
            "workstation.viewer.date_language": str(self.date_language.currentData() or "") or None,
            STORAGE_KEY: (self.server_ae.text(), self.server_port.value()),
            "server.qr.port": self.qr_port.value(),
            "server.mwl.port": self.mwl_port.value(),
        }

    def mark_saved(self) -> None:
        """The values shown are now those of the file (after a save)."""
        self._initial = self._values()

    def write(self, store: SettingsStore) -> None:
        """Put the values changed on the page into ``store`` (an emptied optional value removes its key)."""
        for key, value in self._values().items():
            if value == self._initial.get(key):
                continue
            if key == STORAGE_KEY:
                assert isinstance(value, tuple)
                others = [{"ae_title": ae.ae_title, "port": ae.port} for ae in self.storage[1:]]
                store.set_tables(key, [{"ae_title": value[0], "port": value[1]}, *others])
            else:
                store.set(key, value)
