"""Where Lightbox keeps its files (platformdirs), and where its bundled resources are."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "Lightbox"


def user_data_dir() -> Path:
    """Per-user data directory (embedded server's index and storage area live under it)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_log_dir() -> Path:
    """Per-user log directory (``lightbox.log`` and its rotated copies)."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def first_run_marker() -> Path:
    """The file whose presence says the first-run welcome was shown (in the user data directory)."""
    return user_data_dir() / "first-run-done"


def user_config_file() -> Path:
    """The user's configuration file, overlaid on the bundled defaults."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "lightbox.toml"


def resources_dir() -> Path:
    """The bundled ``resources/`` folder (next to the ``app`` package)."""
    return Path(__file__).resolve().parent.parent.parent / "resources"


def default_config_file() -> Path:
    """The commented default configuration shipped in ``resources/``."""
    return resources_dir() / "lightbox.toml"
