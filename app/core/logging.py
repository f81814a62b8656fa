"""Logging setup with a filter that keeps patient data out of INFO and above."""

from __future__ import annotations

import logging
import re
import sys

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


def setup_logging(level: str | int = "INFO") -> None:
    """Configure the root logger once: one line per record on stderr, PHI redacted."""
    root = logging.getLogger()
    if getattr(root, "_lightbox_configured", False):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PhiRedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # pynetdicom logs every PDU at INFO/DEBUG: costly and noisy; keep its warnings only.
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    root._lightbox_configured = True  # type: ignore[attr-defined]
