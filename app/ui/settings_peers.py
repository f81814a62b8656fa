"""The settings dialog's list pages: remote nodes, printers, send destinations.

One :class:`PeerListPage` per list: Add / Edit / Remove, and Test (one C-ECHO on a worker thread,
:func:`app.services.connection_check.check_connection`; the answer is shown under the list in
green or red). Saved as the arrays of tables ``[[workstation.nodes]]``, ``[[workstation.printers]]``
and ``[[server.destinations]]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QPushButton, QVBoxLayout, QWidget

from app.services.connection_check import CheckResult, check_connection
from app.services.settings_store import SettingsStore
from app.ui.settings_fields import BUNDLED_SERVER_RESTART, ERROR_STYLE, note_label, restart_label
from app.ui.workers import WorkerPool


@dataclass(frozen=True)
class PeerKind:
    """How one list is shown, edited, tested and saved."""

    key: str                                   # dotted TOML key of the array of tables
    describe: Callable[[Any], str]
    edit: Callable[[Any, QWidget], Any]              # a dialog: the edited item, None when cancelled
    table: Callable[[Any], Mapping[str, Any]]
    address: Callable[[Any], tuple[str, str, int]]   # (AE title, host, port) for the Test button
    calling_ae_title: Callable[[], str]
    restart: bool = False
    check: Callable[[str, str, str, int], CheckResult] = check_connection  # (calling, AE, host, port)
    check_item: Callable[[str, Any], CheckResult] | None = None  # (calling, item): instead of check


class PeerListPage(QWidget):
    """A list of peers with Add, Edit, Remove and Test."""

    tested = Signal(bool, str)

    def __init__(self, kind: PeerKind, items: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.items: list[Any] = list(items)
        self._initial = list(items)
        self.workers = WorkerPool(self, max_threads=1)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._selection_changed)
        self.add_button = QPushButton("Add...")
        self.edit_button = QPushButton("Edit...")
        self.remove_button = QPushButton("Remove")
        self.test_button = QPushButton("Test")
        self.test_button.setToolTip("Send a C-ECHO (and N-GET Printer to a printer) and show the answer")
        self.add_button.clicked.connect(self.add)
        self.edit_button.clicked.connect(self.edit)
        self.remove_button.clicked.connect(self.remove)
        self.test_button.clicked.connect(self.test)
        self.result = note_label("test-result")
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        if kind.restart:
            layout.addWidget(restart_label(BUNDLED_SERVER_RESTART))
        self.unavailable = note_label("unavailable-note", "color: #8a5a00")
        self.unavailable.hide()
        layout.insertWidget(0, self.unavailable)
        self._refill()

    def set_available(self, available: bool, note: str = "") -> None:
        """Let the list be edited, or grey it out with ``note`` saying why (and where to edit it instead)."""
        self.unavailable.setText("" if available else note)
        self.unavailable.setVisible(not available)
        self.list.setEnabled(available)
        self.add_button.setEnabled(available)
        if available:
            self._selection_changed(self.list.currentRow())
        else:
            for button in (self.edit_button, self.remove_button, self.test_button):
                button.setEnabled(False)

    def _refill(self, row: int = -1) -> None:
        self.list.clear()
        self.list.addItems([self.kind.describe(item) for item in self.items])
        self.list.setCurrentRow(min(row, len(self.items) - 1) if row >= 0 else (0 if self.items else -1))
        self._selection_changed(self.list.currentRow())

    def _selection_changed(self, row: int) -> None:
        for button in (self.edit_button, self.remove_button, self.test_button):
            button.setEnabled(row >= 0 and self.list.isEnabled())

    def add(self) -> None:
        item = self.kind.edit(None, self)
        if item is not None:
            self.items.append(item)
            self._refill(len(self.items) - 1)

    def edit(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        item = self.kind.edit(self.items[row], self)
        if item is not None:
            self.items[row] = item
            self._refill(row)

    def remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            del self.items[row]
            self._refill(row)

    def test(self) -> None:
        """C-ECHO the selected peer on a worker; the answer goes to :attr:`result` and :attr:`tested`."""
        row = self.list.currentRow()
        if row < 0:
            return
        ae_title, host, port = self.kind.address(self.items[row])
        self.test_button.setEnabled(False)
        self.result.setStyleSheet("")
        self.result.setText(f"Testing {ae_title}@{host}:{port}...")
        calling = self.kind.calling_ae_title()
        if self.kind.check_item is not None:
            self.workers.submit(self.kind.check_item, calling, self.items[row],
                                on_done=self._show, on_error=lambda exc: self._show(CheckResult(False, str(exc))))
            return
        self.workers.submit(self.kind.check, calling, ae_title, host, port,
                            on_done=self._show, on_error=lambda exc: self._show(CheckResult(False, str(exc))))

    def _show(self, result: CheckResult) -> None:
        self.test_button.setEnabled(self.list.currentRow() >= 0)
        self.result.setStyleSheet("color: #1b7f2a" if result.ok else ERROR_STYLE)
        self.result.setText(result.message)
        self.tested.emit(result.ok, result.message)

    def mark_saved(self) -> None:
        """The list shown is now the file's (after a save)."""
        self._initial = list(self.items)

    def write(self, store: SettingsStore) -> None:
        """Replace the array of tables in ``store`` when the list changed."""
        if self.items != self._initial:
            store.set_tables(self.kind.key, [self.kind.table(item) for item in self.items])
