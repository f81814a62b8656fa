"""The first start of the workstation: when to show the welcome, and remembering it was shown.

The welcome is shown while the marker file (:func:`app.core.paths.first_run_marker`, in the
user data directory) is missing and the user has no configuration file of their own: a site
that ships a configuration is not greeted as a new installation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from app.core.paths import first_run_marker, user_config_file


def is_first_run(marker: Path | None = None, config_file: Path | None = None) -> bool:
    """Whether the welcome should be shown (no marker, no user configuration file)."""
    return not (marker or first_run_marker()).exists() and not (config_file or user_config_file()).exists()


def mark_first_run_done(marker: Path | None = None) -> Path:
    """Write the marker (with the time it was written); returns its path."""
    path = marker or first_run_marker()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"welcome shown {dt.datetime.now().isoformat(timespec='seconds')}\n", encoding="utf-8")
    return path
