"""What Help -> About shows: the versions in use and where Lightbox keeps its files."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from app import __version__
from app.core.config import Config
from app.core.paths import user_config_file, user_data_dir, user_log_dir

#: Distributions whose versions are shown (besides Lightbox, Python and Qt).
LIBRARIES = ("pydicom", "pynetdicom", "highdicom", "numpy", "PySide6-Essentials")


def versions() -> dict[str, str]:
    """Lightbox, Python and the libraries' versions (``"not installed"`` when one is missing)."""
    out = {"Lightbox": __version__, "Python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def locations(config: Config) -> dict[str, Path]:
    """Where the settings, the logs and the data live (the bundled server's data when it is used)."""
    places = {
        "Settings file": user_config_file(),
        "Logs": user_log_dir(),
        "Workstation data": user_data_dir(),
    }
    if not config.workstation.server_url:
        places["Image server data (bundled)"] = config.server.data_dir
    return places
