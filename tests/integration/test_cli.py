"""The ``lightbox`` command: version, and the headless server's lifecycle under signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import READY_PREFIX, write_server_config


def test_version() -> None:
    out = subprocess.run([sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.startswith("Lightbox ")


def test_bad_config_is_reported_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nduplicates = "sometimes"\n')
    out = subprocess.run(
        [sys.executable, "-m", "app", "server", "--data-dir", str(tmp_path / "d"), "--config", str(bad)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "duplicates" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_headless_server_logs_ports_and_shuts_down_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    data_dir = tmp_path / "data"
    config = write_server_config(tmp_path / "s.toml", data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "server", "--data-dir", str(data_dir), "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(READY_PREFIX), line
    info = json.loads(line[len(READY_PREFIX):])
    port = info["storage"][0]["port"]
    time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    # It said where it listens, for the administrator.
    assert str(port) in err and "DICOM_STORAGE" in err
    assert info["http_url"].rsplit(":", 1)[1] in err
    # The index is closed (SQLite removes its WAL file on a clean close) and nothing half-written remains.
    assert (data_dir / "index.sqlite").is_file()
    assert not (data_dir / "index.sqlite-wal").exists()
    leftovers = [p for p in (data_dir / "storage").rglob("*") if p.is_file()] if (data_dir / "storage").exists() else []
    assert leftovers == []
