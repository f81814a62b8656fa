"""Logging setup with a filter that keeps patient data out of INFO and above."""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

_PHI_PATTERN = re.compile(r"(?i)\b(PatientName|PatientID|PatientBirthDate|patient_name|patient_id)\s*[=:]\s*\S+")


class PhiRedactingFilter(logging.Filter):
    """Redacts ``PatientName=...``-style fragments from records at INFO and above.

    DEBUG records are left as they are: debugging a site's data flow needs them, and
    DEBUG is never on by default.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            message = record.getMessage()
            redacted = _PHI_PATTERN.sub(lambda m: f"{m.group(1)}=<redacted>", message)
            if redacted != message:
                record.msg = redacted
                record.args = None
        return True


_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The log file's size before it is rotated, and how many rotated files are kept.
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_COUNT = 5


def log_file_handler(
    folder: Path, name: str = "lightbox.log", max_bytes: int = LOG_FILE_BYTES, backups: int = LOG_FILE_COUNT
) -> logging.Handler:
    """A rotating file handler in ``folder`` (made if missing): ``name``, then ``name.1`` ... ``name.<backups>``
    once ``max_bytes`` are written; PHI redacted like the console."""
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        folder / name, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(PhiRedactingFilter())
    return handler


def setup_logging(level: str | int = "INFO", log_dir: Path | None = None, log_name: str = "lightbox.log") -> None:
    """Configure the root logger once: one line per record on stderr, PHI redacted; with ``log_dir``
    also a rotating file there (:func:`log_file_handler`; the workstation passes the user log directory)."""
    root = logging.getLogger()
    if getattr(root, "_lightbox_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(PhiRedactingFilter())
    root.addHandler(handler)
    if log_dir is not None:
        try:
            root.addHandler(log_file_handler(log_dir, log_name))
        except OSError as exc:  # a read-only home must not stop the workstation
            root.warning("no log file in %s (%s); logging to the console only", log_dir, exc)
    root.setLevel(level)
    # pynetdicom logs every PDU at INFO/DEBUG: costly and noisy; keep its warnings only.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    root._lightbox_configured = True  # type: ignore[attr-defined]
