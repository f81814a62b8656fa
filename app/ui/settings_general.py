"""The settings dialog's "Workstation" page: the server, the temporary Storage SCP, AE titles,
the date format.

Written keys: ``workstation.server_url`` (empty = bundled server), ``workstation.calling_ae_title``,
``workstation.print_calling_ae_title``, ``workstation.temporary_store.ae_title`` and ``.port``,
``workstation.viewer.corner_text.date_format``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QSpinBox, QWidget

from app.core.config import Config
from app.core.workstation_config import default_store_ae_title
from app.services.settings_store import SettingsStore
from app.ui.settings_fields import CheckedLine, add_row, ae_title_checker, url_checker

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d %b %Y")


def _date_checker(text: str) -> str:
    from app.core.errors import ConfigError

    if "%" not in text:
        raise ConfigError(f"Date format {text!r}: use a strftime pattern such as %Y-%m-%d or %d.%m.%Y.")
    return text


class GeneralPage(QWidget):
    """Server, temporary store, AE titles and date format."""

    def __init__(self, config: Config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        ws = config.workstation
        self._initial: dict[str, object] = {}
        self.server_url = CheckedLine(ws.server_url, url_checker, "server-url")
        self.server_url.edit.setPlaceholderText("empty = the bundled server (data in the user data folder)")
        self.store_ae = CheckedLine(ws.temporary_store.ae_title, ae_title_checker(optional=True), "store-ae", 16)
        self.store_ae.edit.setPlaceholderText(f"{default_store_ae_title()} (from the host name)")
        self.store_port = QSpinBox()
        self.store_port.setObjectName("store-port")
        self.store_port.setRange(1, 65535)
        self.store_port.setValue(ws.temporary_store.port or 7820)
        self.calling_ae = CheckedLine(ws.calling_ae_title, ae_title_checker(optional=True), "calling-ae", 16)
        self.calling_ae.edit.setPlaceholderText("empty = the temporary store's AE title")
        self.print_ae = CheckedLine(ws.print_calling_ae_title, ae_title_checker(), "print-ae", 16)
        date_format = str(ws.viewer.corner_text.get("date_format", "%Y-%m-%d"))
        self.date_format = CheckedLine(date_format, _date_checker, "date-format")
        self.date_format.edit.setToolTip("Dates in the viewer's corner text: " + ", ".join(DATE_FORMATS))
        form = QFormLayout(self)
        add_row(form, "Server URL", self.server_url, restart=True)
        add_row(form, "Temporary store AE title", self.store_ae, restart=True)
        add_row(form, "Temporary store port", self.store_port, restart=True)
        add_row(form, "Query AE title", self.calling_ae, restart=True)
        add_row(form, "Print AE title", self.print_ae)
        add_row(form, "Date format", self.date_format)

    def fields(self) -> list[CheckedLine]:
        return [self.server_url, self.store_ae, self.calling_ae, self.print_ae, self.date_format]

        self._initial = self._values()

    def _values(self) -> dict[str, object]:
        return {
            "workstation.server_url": url_checker(self.server_url.text()) or None,
            "workstation.temporary_store.ae_title": self.store_ae.text() or None,
            "workstation.temporary_store.port": self.store_port.value(),
            "workstation.calling_ae_title": self.calling_ae.text() or None,
            "workstation.print_calling_ae_title": self.print_ae.text(),
            "workstation.viewer.corner_text.date_format": self.date_format.text(),
        }

    def mark_saved(self) -> None:
        """The values shown are now those of the file (after a save)."""
        self._initial = self._values()

    def write(self, store: SettingsStore) -> None:
        """Put the values changed on the page into ``store`` (an emptied optional value removes its key)."""
        for key, value in self._values().items():
            if value != self._initial.get(key):
                store.set(key, value)
