"""The welcome shown at the first start (:mod:`app.services.first_run`): where Lightbox keeps its
data, and a button that stores the demo studies installed with Lightbox into the server
(:func:`app.services.demo_files.load_demo_studies`, on a worker thread; made on the spot when
the installed folder is missing)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.config import Config
from app.services.about import locations
from app.services.demo_files import DemoLoad, installed_demo_dir, load_demo_studies
from app.services.first_run import mark_first_run_done
from app.services.studies import StudyService
from app.ui.settings_fields import ERROR_STYLE
from app.ui.workers import WorkerPool


class WelcomeDialog(QDialog):
    """Welcome text, file locations, "Load demo studies", "Settings..." and "Start".

    Closing it in any way writes the first-run marker (``marker``: default the user data
    directory's). ``demo_dir`` is the installed demo folder (default
    :func:`~app.services.demo_files.installed_demo_dir`). :attr:`demo_loaded` carries the stored
    demo studies (a list of :class:`~app.services.demo_studies.DemoStudy`); :attr:`settings_requested`
    asks the caller to open the settings dialog.
    """

    demo_loaded = Signal(list)
    settings_requested = Signal()

    def __init__(self, config: Config, studies: StudyService, marker: Path | None = None,
                 parent: QWidget | None = None, demo_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Lightbox")
        self.studies = studies
        self.marker = marker
        self.demo_dir = demo_dir or installed_demo_dir()
        self.workers = WorkerPool(self, max_threads=1)
        server = ("the bundled image server, started with the workstation" if not config.workstation.server_url
                  else f"the image server at {config.workstation.server_url}")
        places = "".join(f"<tr><td>{label}</td><td><code>{path}</code></td></tr>"
                         for label, path in locations(config).items())
        text = QLabel(
            "<h2>Welcome to Lightbox</h2>"
            f"<p>Studies are kept by {server}. Imported, received and fetched images stay on this "
            "computer in the folders below; nothing is sent anywhere until you configure a destination.</p>"
            f"<table cellspacing='6'>{places}</table>"
            "<p>To try the viewer, load the demo studies: a CT head with a presentation state, an MR brain "
            "and a chest CR with an overlay, all synthetic: made when Lightbox was installed, never downloaded, "
            "no real patient.</p>"
            "<p>Remote archives, printers, AE titles and the viewer's presets are set in "
            "<b>File &rarr; Settings</b>; <b>Help &rarr; About</b> shows these folders again.</p>")
        text.setWordWrap(True)
        text.setObjectName("welcome-text")
        self.text = text
        self.demo_button = QPushButton("Load demo studies")
        self.demo_button.clicked.connect(self.load_demo)
        self.settings_button = QPushButton("Settings...")
        self.settings_button.clicked.connect(self.settings_requested)
        self.status = QLabel("")
        self.status.setObjectName("welcome-status")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        buttons.addButton(self.demo_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.settings_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(720, 440)

    def load_demo(self) -> None:
        """Store the installed demo studies on a worker; the outcome goes to :attr:`status`."""
        self.demo_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText("Storing the demo studies into the server...")
        self.workers.submit(load_demo_studies, self.studies, self.demo_dir, on_done=self._loaded,
                            on_error=self._failed)

    def _loaded(self, load: DemoLoad) -> None:
        source = (f"from {load.source}" if load.source is not None
                  else f"made now: none were installed in {self.demo_dir}")
        self.status.setStyleSheet("color: #1b7f2a")
        self.status.setText(f"{len(load.studies)} demo studies stored ({load.objects} objects, {source}): "
                            + "; ".join(study.description for study in load.studies) + ".")
        self.demo_loaded.emit(list(load.studies))

    def _failed(self, exc: Exception) -> None:
        self.demo_button.setEnabled(True)
        self.status.setStyleSheet(ERROR_STYLE)
        self.status.setText(f"The demo studies were not stored: {exc}")

    def done(self, result: int) -> None:
        mark_first_run_done(self.marker)
        super().done(result)
