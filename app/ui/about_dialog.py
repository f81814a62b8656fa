"""Help -> About: versions (Lightbox, Qt, pydicom, pynetdicom, Python...) and where the settings,
logs and data live, each with a button that opens the folder (:mod:`app.services.about`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.config import Config
from app.services.about import locations, versions


def open_folder(path: Path) -> bool:
    """Open ``path`` (its folder when it is a file) in the desktop's file manager; made if missing."""
    folder = path if path.is_dir() or not path.suffix else path.parent
    folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class AboutDialog(QDialog):
    """Versions and file locations; :attr:`open_buttons` maps each location's label to its button."""

    def __init__(self, config: Config, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Lightbox")
        self.versions = {**versions(), "Qt": qVersion()}
        self.locations = locations(config)
        title = QLabel(f"<h2>Lightbox {self.versions['Lightbox']}</h2>"
                       "<p>Radiology workstation and DICOM image server.</p>")
        grid = QGridLayout()
        row = 0
        for name, version in self.versions.items():
            if name == "Lightbox":
                continue
            grid.addWidget(QLabel(name), row, 0)
            grid.addWidget(QLabel(version), row, 1)
            row += 1
        self.open_buttons: dict[str, QPushButton] = {}
        for label, path in self.locations.items():
            where = QLabel(str(path))
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            button = QPushButton("Open folder")
            button.clicked.connect(lambda _=False, p=path: open_folder(p))
            self.open_buttons[label] = button
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(where, row, 1)
            grid.addWidget(button, row, 2)
            row += 1
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def text(self) -> str:
        """Everything shown, as plain text (for a support request)."""
        lines = [f"{name} {version}" for name, version in self.versions.items()]
        lines += [f"{label}: {path}" for label, path in self.locations.items()]
        return "\n".join(lines)
