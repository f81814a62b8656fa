"""The media import dialog (File-set Reader): a disc's patient / study / series tree with check boxes.

Choose a folder (a disc's mount point) or an ISO image; the DICOMDIR (or, without one, the
folder's files) is read on a worker and shown as a tree with the optional keys present (dates,
descriptions, modalities, counts). Tick any part, then **Import** (STOW-RS into the server,
with progress and Cancel; the report says what was and was not imported) or **Open in viewer**
(read from the disc, nothing imported). Problems found on the disc are listed under the tree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.media.tree import MediaTree
from app.services.media import ImportReport, OpenedMedia, import_selection, open_media, series_sources
from app.services.studies import StudyService
from app.ui.job_dialog import JobDialog
from app.ui.media_tree import MediaTreeWidget

log = logging.getLogger(__name__)


class MediaImportDialog(JobDialog):
    """Read a disc, pick a part of it, import it or open it.

    Signals
    -------
    tree_loaded(object)
        The :class:`~app.media.tree.MediaTree` of the disc was read and shown.
    import_finished(object)
        An import ended (done, cancelled or stopped); the :class:`~app.services.media.ImportReport`.
    sources_opened(list)
        Series sources handed to the viewer by **Open in viewer**.
    """

    tree_loaded = Signal(object)
    import_finished = Signal(object)
    sources_opened = Signal(list)

    def __init__(
        self,
        studies: StudyService,
        open_sources: Callable[[list[Any]], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Import media", 2, 110, "Cancelling after the request on its way ...", parent)
        self.studies = studies
        self.open_sources = open_sources
        self.opened: OpenedMedia | None = None

        self.path_edit = QLineEdit(self)
        self.path_edit.setPlaceholderText("A disc's folder, a DICOMDIR or an ISO image")
        self.path_edit.returnPressed.connect(self.read)
        self.folder_button = QPushButton("Folder...", self)
        self.folder_button.clicked.connect(self.choose_folder)
        self.iso_button = QPushButton("ISO image...", self)
        self.iso_button.clicked.connect(self.choose_iso)
        self.read_button = QPushButton("Read", self)
        self.read_button.clicked.connect(self.read)
        top = QHBoxLayout()
        for widget in (self.path_edit, self.folder_button, self.iso_button, self.read_button):
            top.addWidget(widget)

        self.tree = MediaTreeWidget(self)
        self.tree.itemChanged.connect(lambda *_: self._update_buttons())
        self.summary = QLabel("Choose a disc, a folder or an ISO image.", self)
        self.report.setPlaceholderText("Problems found on the disc and the import report appear here.")

        self.all_button = QPushButton("Select all", self)
        self.all_button.clicked.connect(lambda: self.tree.set_all(True))
        self.none_button = QPushButton("Select none", self)
        self.none_button.clicked.connect(lambda: self.tree.set_all(False))
        self.import_button = QPushButton("Import", self)
        self.import_button.clicked.connect(self.start_import)
        self.open_button = QPushButton("Open in viewer", self)
        self.open_button.clicked.connect(self.open_selected)
        buttons = QHBoxLayout()
        for widget in (self.all_button, self.none_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        for widget in (self.open_button, self.import_button, self.cancel_button, self.close_button):
            buttons.addWidget(widget)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.report)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        self.resize(900, 600)
        self._update_buttons()

    # -- reading -----------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Disc or folder", self.path_edit.text())
        if folder:
            self.path_edit.setText(folder)
            self.read()

    def choose_iso(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "ISO image", self.path_edit.text(), "ISO images (*.iso);;All (*)")
        if path:
            self.path_edit.setText(path)
            self.read()

    def read(self, path: Path | str | None = None) -> None:
        """Read ``path`` (default: the path field) on a worker and show its tree."""
        text = str(path) if path else self.path_edit.text().strip()
        if not text:
            return
        self.path_edit.setText(text)
        self.summary.setText(f"Reading {text} ...")
        self.tree.clear()
        self.report.clear()
        self._busy(True)
        self.pool.submit(open_media, Path(text), on_done=self._on_opened, on_error=self._on_read_error)

    def _on_opened(self, result: object) -> None:
        assert isinstance(result, OpenedMedia)
        if self.opened is not None:
            self.opened.close()
        self.opened = result
        self._busy(False)
        self.show_tree(result.tree)

    def _on_read_error(self, exc: Exception) -> None:
        self._busy(False)
        self.summary.setText(f"Cannot read the disc: {exc}")

    def show_tree(self, tree: MediaTree) -> None:
        """Fill the tree (everything ticked) and list the disc's problems."""
        self.tree.show_tree(tree)
        studies = sum(len(p.studies) for p in tree.patients)
        self.summary.setText(f"{tree.root} ({tree.source}): {len(tree.patients)} patient(s), {studies} study(ies), "
                             f"{tree.instance_count} object(s).")  # fmt: skip
        if tree.problems:
            self.report.setPlainText("\n".join(f"{p.where}: {p.reason}" for p in tree.problems))
        self._update_buttons()
        self.tree_loaded.emit(tree)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        for widget in (self.read_button, self.folder_button, self.iso_button, self.path_edit):
            widget.setEnabled(not busy)
        self._update_buttons(busy)

    def _update_buttons(self, busy: bool | None = None) -> None:
        busy = self.worker is not None if busy is None else busy
        chosen = bool(self.opened is not None and self.tree.selections())
        self.import_button.setEnabled(chosen and not busy)
        self.open_button.setEnabled(chosen and not busy)
        self.cancel_button.setEnabled(self.worker is not None)
        for widget in (self.all_button, self.none_button):
            widget.setEnabled(self.opened is not None and not busy)

    # -- import / open -------------------------------------------------------------------------
    def start_import(self) -> None:
        """Import the ticked series into the server on a worker (progress, Cancel)."""
        if self.opened is None or not self.tree.selections():
            return
        tree, chosen = self.opened.tree, self.tree.selections()
        total = len(tree.instances(chosen))
        self.report.setPlainText(f"Importing {total} object(s) ...")
        self._busy(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self.worker = self.pool.submit(
            import_selection, self.studies, tree, chosen,
            on_done=self._on_imported, on_error=self._on_import_error, on_progress=self._on_progress,
        )  # fmt: skip
        self._update_buttons(True)

    def _on_imported(self, result: object) -> None:
        assert isinstance(result, ImportReport)
        self.worker = None
        self._busy(False)
        self.report.setPlainText(result.summary())
        self.import_finished.emit(result)

    def _on_import_error(self, exc: Exception) -> None:
        self.worker = None
        self._busy(False)
        self.report.setPlainText(f"The import failed: {exc}")

    def open_selected(self) -> list[Any]:
        """Open the ticked series in the viewer, read from the disc (nothing imported)."""
        if self.opened is None:
            return []
        sources: list[Any] = list(series_sources(self.opened.tree, self.tree.selections()))
        if sources and self.open_sources is not None:
            self.open_sources(sources)
        self.sources_opened.emit(sources)
        return sources

    def shutdown(self) -> None:
        """Wait for the worker and remove an extracted ISO image (at the workstation's exit)."""
        self.pool.shutdown()
        if self.opened is not None:
            self.opened.close()
            self.opened = None
