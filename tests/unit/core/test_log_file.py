"""The workstation's log file: rotated by size with a fixed number of copies, patient data redacted."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.core.logging import LOG_FILE_BYTES, LOG_FILE_COUNT, log_file_handler


def test_log_file_rotates_by_size_and_keeps_a_fixed_count(tmp_path: Path) -> None:
    handler = log_file_handler(tmp_path / "logs", max_bytes=2000, backups=2)
    logger = logging.getLogger("lightbox.test.rotation")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for i in range(200):
            logger.info("record %03d PatientName=Doe^Jane stored", i)
    finally:
        logger.removeHandler(handler)
        handler.close()
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["lightbox.log", "lightbox.log.1", "lightbox.log.2"]  # the oldest dropped
    assert all((tmp_path / "logs" / n).stat().st_size <= 2000 for n in names)
    newest = (tmp_path / "logs" / "lightbox.log").read_text()
    assert "record 199" in newest and "record 000" not in "".join(
        (tmp_path / "logs" / n).read_text() for n in names)
    assert "Doe^Jane" not in newest and "PatientName=<redacted>" in newest
    assert LOG_FILE_BYTES == 5 * 1024 * 1024 and LOG_FILE_COUNT == 5  # the documented defaults


def test_setup_logging_adds_the_rotating_file(tmp_path: Path) -> None:
    from app.core.logging import setup_logging

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_flag = getattr(root, "_lightbox_configured", None)
    root.handlers = []
    if saved_flag is not None:
        del root._lightbox_configured  # type: ignore[attr-defined]
    try:
        setup_logging("INFO", log_dir=tmp_path / "logs")
        files = [h for h in root.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
        assert len(files) == 1 and files[0].maxBytes == LOG_FILE_BYTES and files[0].backupCount == LOG_FILE_COUNT
        logging.getLogger("lightbox.test").info("hello PatientID=12345")
        files[0].flush()
        assert "PatientID=<redacted>" in (tmp_path / "logs" / "lightbox.log").read_text()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        if saved_flag is not None:
            root._lightbox_configured = saved_flag  # type: ignore[attr-defined]
        else:
            del root._lightbox_configured  # type: ignore[attr-defined]
