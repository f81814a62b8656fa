"""Fields of the settings dialog that check what is typed and say what is wrong next to it.

Each :class:`CheckedLine` has a checker from :mod:`app.core.config_checks` (the rules the
configuration file is read with), so the dialog refuses exactly what the file would refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.core import config_checks as check
from app.core.errors import ConfigError

ERROR_STYLE = "color: #b00020"
BUNDLED_SERVER_RESTART = "Takes effect after Lightbox restarts (the bundled server reads it at start)."


def ae_title_checker(optional: bool = False) -> Callable[[str], str]:
    """A checker of AE titles (PS3.5 6.2: 1 to 16 characters, no backslash); ``optional`` accepts empty."""

    def run(text: str) -> str:
        if optional and not text.strip():
            return ""
        try:
            return check.validate_ae_title(text, "AE title")
        except ConfigError:
            raise ConfigError(f"\u201c{text}\u201d is not an AE title: use 1 to 16 printable ASCII characters "
                              "(letters, digits, space, punctuation), no backslash.") from None

    return run


def host_checker(text: str) -> str:
    """A host name (RFC 1123) or an IP address: :func:`app.core.config_checks.host`, the rule of the file."""
    try:
        return check.host(text, "Host")
    except ConfigError:
        raise ConfigError(f"\u201c{text.strip()}\u201d is not a host: give a host name (letters, digits, hyphens, "
                          "dots, e.g. pacs.example.org) or an IP address (e.g. 192.168.1.20), without spaces, "
                          "slashes or port.") from None


def url_checker(text: str) -> str:
    """Empty (the bundled server) or an http(s) URL with a host (port 1 to 65535):
    :func:`app.core.config_checks.server_url`, the rule of the file."""
    return check.server_url(text, "The")


class CheckedLine(QWidget):
    """A line edit with a red message under it when its checker refuses the text."""

    def __init__(self, text: str, checker: Callable[[str], object], name: str, max_length: int = 0,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.checker = checker
        self.edit = QLineEdit(text)
        self.edit.setObjectName(name)
        if max_length:
            self.edit.setMaxLength(max_length)
        self.error = QLabel("")
        self.error.setObjectName(f"{name}-error")
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setWordWrap(True)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit)
        layout.addWidget(self.error)
        self.edit.textChanged.connect(self.validate)

    def text(self) -> str:
        return self.edit.text().strip()

    def validate(self) -> bool:
        """Check the text; show the reason under the field when it is refused."""
        try:
            self.checker(self.edit.text())
        except ConfigError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return False
        self.error.setText("")
        self.error.hide()
        return True


def restart_label(text: str = "Takes effect after Lightbox restarts.") -> QLabel:
    """The grey note next to settings read only at start."""
    label = QLabel(text)
    label.setStyleSheet("color: #666; font-style: italic")
    return label


def note_label(name: str, style: str = "") -> QLabel:
    """An empty word-wrapped label named ``name`` (with ``style``) for a note the page fills in later."""
    label = QLabel("")
    label.setObjectName(name)
    label.setWordWrap(True)
    if style:
        label.setStyleSheet(style)
    return label


def add_row(form: QFormLayout, label: str, widget: QWidget, restart: bool = False) -> None:
    """A form row, with the restart note under the field when ``restart``."""
    if not restart:
        form.addRow(label, widget)
        return
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(widget)
    layout.addWidget(restart_label())
    form.addRow(label, box)
