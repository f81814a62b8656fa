"""The settings dialog's "Viewer" page: true-size calibration, first layout, stack sort default,
window presets and corner text per modality.

Written keys: ``workstation.viewer.screen_pixel_mm`` (0 = from the screen), ``workstation.viewer.layout``
(rows x columns), ``workstation.viewer.sort``, ``workstation.viewer.presets.<MODALITY>.<name> =
[center, width]`` (only the site's presets; the built-in ones are shown for reference) and
``workstation.viewer.corner_text.templates.<MODALITY>.<corner>`` (lines; only the corners that
differ from the defaults are written). All apply to viewers opened after saving.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import ConfigError
from app.core.viewer_config import ViewerConfig, viewer_from
from app.imaging.corner_text import CORNERS, DEFAULT_TEMPLATES, CornerTemplates
from app.imaging.presets import PRESETS
from app.imaging.stacks import SortKey
from app.services.settings_store import SettingsStore
from app.ui.settings_fields import ERROR_STYLE, CheckedLine

MODALITIES = ("CT", "MR", "CR", "DX", "MG", "XA", "RF", "US", "PT", "NM", "*")


def layout_checker(text: str) -> str:
    """A viewer layout ("2x2": rows x columns, 1 to 8 each), by the file's own rule (:func:`viewer_from`)."""
    return viewer_from({"layout": text}).layout


class ViewerPage(QWidget):
    """Sort default, window presets table, corner text editor."""

    def __init__(self, config: ViewerConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.pixel_mm = QDoubleSpinBox()
        self.pixel_mm.setObjectName("screen-pixel-mm")
        self.pixel_mm.setRange(0, 5)
        self.pixel_mm.setDecimals(4)
        self.pixel_mm.setSingleStep(0.005)
        self.pixel_mm.setSuffix(" mm")
        self.pixel_mm.setSpecialValueText("from the screen (its reported DPI)")
        self.pixel_mm.setValue(config.screen_pixel_mm)
        self.pixel_mm.setToolTip("Size of one screen pixel for true size (1:1): measure a ruler on the screen; "
                                 "e.g. 0.2745 for a 24-inch 1920x1200 screen")
        self.layout_field = CheckedLine(config.layout, layout_checker, "viewer-layout", 3)
        self.layout_field.edit.setToolTip("The image grid a viewer opens with: rows x columns, e.g. 1x1, 2x2, 1x2")
        self.sort = QComboBox()
        self.sort.setObjectName("sort")
        for key in SortKey:
            self.sort.addItem(key.value, key.name)
        self.sort.setCurrentIndex(self.sort.findData(config.sort))
        self.presets = QTableWidget(0, 4)
        self.presets.setObjectName("presets")
        self.presets.setHorizontalHeaderLabels(["Modality", "Name", "Center", "Width"])
        self.presets.horizontalHeader().setStretchLastSection(True)
        self.presets.setMaximumHeight(120)
        for modality, named in config.presets.items():
            for name, (center, width) in named.items():
                self.add_preset(modality, name, center, width)
        add = QPushButton("Add preset")
        add.clicked.connect(lambda: self.add_preset("CT", "new preset", 40, 400))
        remove = QPushButton("Remove preset")
        remove.clicked.connect(lambda: self.presets.removeRow(self.presets.currentRow()))
        builtin = ", ".join(f"{m}: {', '.join(names)}" for m, names in PRESETS.items())
        preset_box = QGroupBox("Window presets of the site (added to the built-in ones)")
        preset_layout = QVBoxLayout(preset_box)
        preset_layout.addWidget(self.presets)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        preset_layout.addLayout(row)
        note = QLabel(f"Built-in: {builtin}")
        note.setWordWrap(True)
        note.setStyleSheet("color: #666")
        preset_layout.addWidget(note)
        self._corner_text: dict[str, dict[str, list[str]]] = {
            m: {c: list(v) for c, v in corners.items()}
            for m, corners in dict(config.corner_text.get("templates", {}) or {}).items()}
        self.modality = QComboBox()
        self.modality.setObjectName("corner-modality")
        self.modality.addItems(list(MODALITIES))
        self._shown = self.modality.currentText()
        self.corners = {corner: QPlainTextEdit() for corner in CORNERS}
        corner_box = QGroupBox("Corner text (one line per row; {Keyword} fields, see the tooltip)")
        corner_layout = QFormLayout(corner_box)
        corner_layout.addRow("Modality", self.modality)
        for corner, edit in self.corners.items():
            edit.setObjectName(f"corner-{corner}")
            edit.setToolTip("DICOM keywords in braces, e.g. {PatientName}, {KVP:.0f} kV; "
                            "A|B = the first present; {Keyword?} = leave the line out when absent.")
            edit.setMinimumHeight(64)
            corner_layout.addRow(corner.replace("_", " "), edit)
        self.corner_error = QLabel("")
        self.corner_error.setObjectName("corner-error")
        self.corner_error.setStyleSheet(ERROR_STYLE)
        self.corner_error.setWordWrap(True)
        corner_layout.addRow(self.corner_error)
        self.modality.currentTextChanged.connect(self._switch_modality)
        self._show_modality(self._shown)
        form = QFormLayout()
        form.addRow("Screen pixel size (true size 1:1)", self.pixel_mm)
        form.addRow("Layout when a viewer opens", self.layout_field)
        form.addRow("Stack order when a series opens", self.sort)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(preset_box)
        layout.addWidget(corner_box)

    # -- window presets ----------------------------------------------------------------------
    def add_preset(self, modality: str, name: str, center: float, width: float) -> None:
        row = self.presets.rowCount()
        self.presets.insertRow(row)
        for column, value in enumerate((modality, name, f"{center:g}", f"{width:g}")):
            self.presets.setItem(row, column, QTableWidgetItem(value))

    def preset_table(self) -> dict[str, dict[str, list[float]]]:
        """The presets as ``{MODALITY: {name: [center, width]}}``; ConfigError names a bad row."""
        out: dict[str, dict[str, list[float]]] = {}
        for row in range(self.presets.rowCount()):
            items = [self.presets.item(row, c) for c in range(4)]
            cells = [item.text().strip() if item is not None else "" for item in items]
            modality, name, center, width = cells
            try:
                numbers = [float(center), float(width)]
            except ValueError:
                raise ConfigError(f"Window preset row {row + 1}: center and width must be numbers.") from None
            if not modality or not name or numbers[1] < 1:
                raise ConfigError(f"Window preset row {row + 1}: give a modality, a name and a width of at least 1.")
            out.setdefault(modality.upper(), {})[name] = numbers
        return out

    # -- corner text -------------------------------------------------------------------------
    def _defaults(self, modality: str) -> dict[str, tuple[str, ...]]:
        base = dict(DEFAULT_TEMPLATES.templates.get("*", {}))
        base.update(DEFAULT_TEMPLATES.templates.get(modality, {}) if modality != "*" else {})
        return base

    def _show_modality(self, modality: str) -> None:
        given = self._corner_text.get(modality, {})
        defaults = self._defaults(modality)
        for corner, edit in self.corners.items():
            edit.setPlainText("\n".join(given.get(corner, defaults.get(corner, ()))))

    def _keep_shown(self) -> None:
        defaults = self._defaults(self._shown)
        changed = {}
        for corner, edit in self.corners.items():
            lines = [line for line in edit.toPlainText().splitlines() if line.strip()]
            if tuple(lines) != tuple(defaults.get(corner, ())):
                changed[corner] = lines
        if changed:
            self._corner_text[self._shown] = changed
        else:
            self._corner_text.pop(self._shown, None)

    def _switch_modality(self, modality: str) -> None:
        self._keep_shown()
        self._shown = modality
        self._show_modality(modality)

    def corner_templates(self) -> dict[str, Any]:
        """The corner text templates that differ from the defaults; ConfigError when a line is malformed."""
        self._keep_shown()
        try:
            CornerTemplates.from_dict({"templates": self._corner_text}, base=DEFAULT_TEMPLATES)
        except ConfigError as exc:
            self.corner_error.setText(str(exc))
            raise
        self.corner_error.setText("")
        return self._corner_text

    def mark_saved(self, config: ViewerConfig) -> None:
        """``config`` is now the file's (after a save)."""
        self.config = config

    def write(self, store: SettingsStore) -> None:
        """Put the values changed on the page into ``store``; ConfigError when a value is refused."""
        layout = layout_checker(self.layout_field.text())
        if layout != self.config.layout:
            store.set("workstation.viewer.layout", layout)
        pixel = round(self.pixel_mm.value(), 4)
        if pixel != round(self.config.screen_pixel_mm, 4):
            store.set("workstation.viewer.screen_pixel_mm", pixel)
        sort = str(self.sort.currentData())
        if sort != self.config.sort:
            store.set("workstation.viewer.sort", sort)
        presets = self.preset_table()
        if presets != {m: {n: list(w) for n, w in named.items()} for m, named in self.config.presets.items()}:
            store.set_mapping("workstation.viewer.presets", presets)
        templates = self.corner_templates()
        if templates != dict(self.config.corner_text.get("templates", {}) or {}):
            store.set_mapping("workstation.viewer.corner_text.templates", templates)
