"""The print preview: the films exactly as they will print, arranged before printing.

The film shown is the composed film image itself (:func:`app.services.printing.compose_films`
with the selected printer's profile: its pixel matrix and bit depth), scaled to the window, so
what the user sees is what prints. The user picks the printer (or a PDF/PNG file), film size,
orientation, layout (the standard ones or any ``CxR``), fit or fill (for all cells, or the
selected images), header and scale; rearranges images by dragging them in the strip below the
film (or with the arrow buttons; a click on a cell selects its image), removes them, and pages
through the films. Print runs on a
pool thread, one association per film; each film's outcome (printer status, every response
with its meaning) is listed in the log pane.

Opens standalone with a list of :class:`~app.printing.print_images.PrintImage` (or data sets,
through :func:`app.services.printing.images_from_datasets`). Signals: ``print_finished(list)``
(the :class:`~app.net.print_scu.PrintOutcome` of each film), ``print_failed(str)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import AppError
from app.net.print_scu import PrintOutcome
from app.printing.compose import FILL, FIT, FilmImage
from app.printing.layouts import STANDARD_LAYOUTS, layout
from app.printing.print_images import PrintImage
from app.printing.profiles import PrinterProfile
from app.services.printing import FilmSettings, PrintService, compose_films, peer_of
from app.ui.film_view import FilmView, to_pixmap
from app.ui.workers import WorkerPool

FILE_TARGET = "PDF or PNG file..."
_THUMB = 72


class PrintPreview(QDialog):
    """The print preview dialog (see the module docstring)."""

    print_finished = Signal(list)
    print_failed = Signal(str)

    def __init__(
        self, images: Sequence[PrintImage], service: PrintService, pool: WorkerPool | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Print preview")
        self.service, self.pool = service, pool or WorkerPool(self, max_threads=1)
        self.images: list[PrintImage] = list(images)
        self.modes: list[str] = [FIT] * len(self.images)
        self.page = 0
        self.films: list[FilmImage] = []
        self.profile: PrinterProfile = service.profile("default")
        self._building = True
        self._build()
        self._building = False
        self._printer_changed()

    # -- widgets ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.printer_box = QComboBox()
        for printer in self.service.printers:
            self.printer_box.addItem(f"{printer.name} ({printer.ae_title}@{printer.host}:{printer.port})", printer)
        self.printer_box.addItem(FILE_TARGET, None)
        self.size_box, self.orientation_box = QComboBox(), QComboBox()
        self.orientation_box.addItems(["PORTRAIT", "LANDSCAPE"])
        self.layout_box = QComboBox()
        self.layout_box.setEditable(True)
        self.layout_box.addItems(list(STANDARD_LAYOUTS))
        self.layout_box.setToolTip("columns x rows; type any other, e.g. 3x2")
        self.mode_box = QComboBox()
        self.mode_box.addItems([FIT, FILL])
        self.mode_box.setToolTip("fit: whole image; fill: cover the cell (the selected images, else all)")
        self.header_box, self.scale_box = QCheckBox("Header (patient, study, institution)"), QCheckBox("Scale")
        self.header_box.setChecked(True)
        self.scale_box.setChecked(True)
        form = QFormLayout()
        for label, widget in (("Printer", self.printer_box), ("Film size", self.size_box),
                              ("Orientation", self.orientation_box), ("Layout", self.layout_box),
                              ("Cells", self.mode_box)):
            form.addRow(label, widget)
        form.addRow(self.header_box)
        form.addRow(self.scale_box)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.print_button = QPushButton("Print")
        self.print_button.setDefault(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addWidget(self.info)
        side.addWidget(self.print_button)
        side.addWidget(QLabel("Outcome"))
        side.addWidget(self.log, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(380)

        self.film_view = FilmView()
        self.prev_button, self.next_button = QPushButton("< Previous film"), QPushButton("Next film >")
        self.page_label = QLabel()
        self.strip = QListWidget()
        self.strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.strip.setFlow(QListWidget.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(_THUMB, _THUMB))
        self.strip.setFixedHeight(_THUMB + 44)
        self.strip.setDragDropMode(QListWidget.DragDropMode.InternalMove)
        self.strip.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.earlier_button, self.later_button = QPushButton("Move earlier"), QPushButton("Move later")
        self.remove_button = QPushButton("Remove")
        nav = QHBoxLayout()
        for w in (self.prev_button, self.page_label, self.next_button):
            nav.addWidget(w)
        nav.addStretch(1)
        for w in (self.earlier_button, self.later_button, self.remove_button):
            nav.addWidget(w)
        centre = QVBoxLayout()
        centre.addWidget(self.film_view, 1)
        centre.addLayout(nav)
        centre.addWidget(self.strip)
        centre_widget = QWidget()
        centre_widget.setLayout(centre)
        splitter = QSplitter()
        splitter.addWidget(side_widget)
        splitter.addWidget(centre_widget)
        splitter.setStretchFactor(1, 1)
        outer = QVBoxLayout(self)
        outer.addWidget(splitter)
        self.resize(1100, 820)
        self._fill_strip()

        self.printer_box.currentIndexChanged.connect(self._printer_changed)
        for box in (self.size_box, self.orientation_box):
            box.currentIndexChanged.connect(self.refresh)
        self.layout_box.currentTextChanged.connect(self.refresh)
        self.mode_box.currentTextChanged.connect(self._mode_changed)
        self.header_box.toggled.connect(self.refresh)
        self.scale_box.toggled.connect(self.refresh)
        self.prev_button.clicked.connect(lambda: self.go_to_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.go_to_page(self.page + 1))
        self.earlier_button.clicked.connect(lambda: self._shift(-1))
        self.later_button.clicked.connect(lambda: self._shift(1))
        self.remove_button.clicked.connect(lambda: self.remove_images(self.selected()))
        self.strip.model().rowsMoved.connect(self._strip_reordered)
        self.print_button.clicked.connect(self.print_films)
        self.film_view.cell_clicked.connect(self._cell_clicked)

    def _fill_strip(self) -> None:
        self.strip.clear()
        for index, image in enumerate(self.images):
            grey = image.grey(8)
            step = max(1, max(grey.shape) // _THUMB)
            item = QListWidgetItem(to_pixmap(np.clip(grey[::step, ::step], 0, 255).astype(np.uint8)), "")
            item.setText(f"{index + 1}  {image.label}".strip())
            item.setData(Qt.ItemDataRole.UserRole, index)
            self.strip.addItem(item)

    # -- state -----------------------------------------------------------------------------
    def settings(self) -> FilmSettings:
        return FilmSettings(self.size_box.currentText(), self.orientation_box.currentText(),
                            self.layout_box.currentText(), FIT, self.header_box.isChecked(),
                            self.scale_box.isChecked())

    def _printer_changed(self) -> None:
        printer = self.printer_box.currentData()
        try:
            self.profile = self.service.profile_of(printer) if printer is not None else self.service.profile("default")
        except AppError as exc:
            self.log.appendPlainText(str(exc))
            self.profile = self.service.profile("default")
        self._building = True
        current = self.size_box.currentText() or self.profile.film_box.film_size_id
        self.size_box.clear()
        sizes = [s.film_size_id for s in self.profile.available_film_sizes()]
        self.size_box.addItems(sizes)
        self.size_box.setCurrentText(current if current in sizes else self.profile.film_box.film_size_id)
        if self.orientation_box.currentIndex() < 0:
            self.orientation_box.setCurrentText(self.profile.film_box.film_orientation)
        self._building = False
        self.print_button.setText("Print" if printer is not None else "Save...")
        self.refresh()

    def refresh(self) -> None:
        """Compose the films again and show the current one."""
        if self._building:
            return
        try:
            layout(self.layout_box.currentText())
            self.films = compose_films(self.images, self.profile, self.settings(), self.modes)
        except AppError as exc:
            self.info.setText(str(exc))
            return
        self.page = min(self.page, len(self.films) - 1)
        self._show_page()

    def _show_page(self) -> None:
        film = self.films[self.page] if self.films else None
        self.film_view.set_film(film)
        self.page_label.setText(f"Film {self.page + 1} of {len(self.films)}")
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < len(self.films) - 1)
        if film is not None:
            spec = film.spec
            self.info.setText(f"{len(self.images)} image(s) on {len(self.films)} film(s); {spec.film_size_id} "
                              f"{spec.orientation}, {spec.columns} x {spec.rows} pixels, {spec.bits} bit "
                              f"(profile {self.profile.name}), sent as STANDARD\\1,1")

    def go_to_page(self, page: int) -> None:
        if 0 <= page < len(self.films):
            self.page = page
            self._show_page()

    def current_film(self) -> FilmImage:
        return self.films[self.page]

    # -- arranging -------------------------------------------------------------------------
    def selected(self) -> list[int]:
        return sorted(self.strip.row(item) for item in self.strip.selectedItems())

    def move_image(self, source: int, target: int) -> None:
        """Move the image at ``source`` to position ``target`` (0-based, in print order)."""
        self.images.insert(target, self.images.pop(source))
        self.modes.insert(target, self.modes.pop(source))
        self._fill_strip()
        self.strip.setCurrentRow(target)
        self.refresh()

    def remove_images(self, indices: Sequence[int]) -> None:
        for index in sorted(set(indices), reverse=True):
            del self.images[index]
            del self.modes[index]
        self._fill_strip()
        self.refresh()

    def _shift(self, step: int) -> None:
        rows = self.selected()
        if len(rows) == 1 and 0 <= rows[0] + step < len(self.images):
            self.move_image(rows[0], rows[0] + step)

    def _strip_reordered(self, *args: object) -> None:
        order = [self.strip.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.strip.count())]
        self.images = [self.images[i] for i in order]
        self.modes = [self.modes[i] for i in order]
        self._fill_strip()
        self.refresh()

    def _cell_clicked(self, cell: int) -> None:
        """Select the image of the clicked cell (in the strip), or nothing on an empty cell."""
        index = self.page * layout(self.layout_box.currentText()).cells + cell
        self.strip.clearSelection()
        if index < len(self.images):
            self.strip.setCurrentRow(index)

    def _mode_changed(self, mode: str) -> None:
        rows = self.selected() or list(range(len(self.images)))
        for row in rows:
            self.modes[row] = mode
        self.refresh()

    # -- output ----------------------------------------------------------------------------
    def print_films(self) -> None:
        """Print the films on the selected printer (on a pool thread), or ask for a file."""
        printer = self.printer_box.currentData()
        if printer is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save films", "film.pdf", "PDF (*.pdf);;PNG (*.png)")
            if path:
                self.save_to(Path(path))
            return
        if not self.films or not self.images:
            self.log.appendPlainText("Nothing to print: add images first.")
            return
        self.print_button.setEnabled(False)
        self.log.appendPlainText(f"Printing {len(self.films)} film(s) to {printer.name}...")
        self.pool.submit(self.service.print_films, peer_of(printer), self.profile, list(self.films),
                         on_done=self._printed, on_error=self._print_error)

    def _printed(self, outcomes: list[PrintOutcome]) -> None:
        self.print_button.setEnabled(True)
        for index, outcome in enumerate(outcomes, start=1):
            self.log.appendPlainText(f"Film {index}:")
            for line in [*outcome.lines(), *(f"warning: {w}" for w in outcome.warnings)]:
                self.log.appendPlainText(f"  {line}")
        printed = sum(o.printed for o in outcomes)
        self.log.appendPlainText(f"{printed} of {len(self.films)} film(s) printed.")
        self.print_finished.emit(outcomes)

    def _print_error(self, exc: Exception) -> None:
        self.print_button.setEnabled(True)
        self.log.appendPlainText(f"Not printed: {exc}")
        self.print_failed.emit(str(exc))

    def save_to(self, path: Path) -> list[Path]:
        """Write the films to a PDF or PNG file; the files written are listed in the log."""
        try:
            written = self.service.write(self.films, path)
        except AppError as exc:
            self.log.appendPlainText(str(exc))
            return []
        self.log.appendPlainText("Saved " + ", ".join(str(p) for p in written))
        return written
