"""The server process end to end: C-STORE from a real peer (DCMTK ``storescu``) appears in
QIDO-RS and the admin status; a clean stop leaves no temporary file and a checkpointed
index; a restart keeps the data and clears leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import httpx
import pydicom
from pydicom.data import get_testdata_file

from tests.conftest import require_tool

READY = "LIGHTBOX-READY "


def data_file(name: str) -> str:
    path = get_testdata_file(name, download=False)
    assert path is not None, name
    return str(path)


def start(data_dir: Path, config: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.server", "--data-dir", str(data_dir), "--config", str(config),
         "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(READY):
            return proc, json.loads(line[len(READY):])
    proc.kill()
    raise AssertionError(f"no ready line (exit code {proc.wait()})")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


def test_storescu_to_qido_and_clean_restart(tmp_path: Path, index_url: str) -> None:
    storescu = require_tool("storescu")
    data_dir = tmp_path / "data"
    config = tmp_path / "server.toml"
    config.write_text(
        f'[server]\nhttp_port = 0\nfsync = true\nindex_url = {json.dumps(index_url)}\n'
        '[server.qr]\nport = 0\n[server.mwl]\nport = 0\n'
        '[[server.storage]]\nae_title = "LBX_STORE"\nport = 0\n'
    )
    proc, info = start(data_dir, config)
    try:
        url = str(info["http_url"])
        [ae] = info["storage"]  # type: ignore[misc]
        assert ae["ae_title"] == "LBX_STORE"
        before = httpx.get(f"{url}/api/status").json()["changes"]
        files = [data_file(n) for n in ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm")]
        result = subprocess.run(
            [storescu, "--required", "-aet", "MODALITY", "-aec", "LBX_STORE", "127.0.0.1", str(ae["port"]), *files],
            capture_output=True, text=True, timeout=60, env=dict(os.environ, TCP_NODELAY="1"),
        )
        assert result.returncode == 0, result.stderr
        status = httpx.get(f"{url}/api/status").json()
        assert status["instances"] == 3 and status["changes"] >= before + 3
        ct = pydicom.dcmread(files[0])
        [study] = httpx.get(f"{url}/dicom-web/studies", params={"PatientID": "1CT1"}).json()
        assert study["0020000D"]["Value"] == [ct.StudyInstanceUID]
        single = httpx.get(
            f"{url}/dicom-web/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}/instances/{ct.SOPInstanceUID}",
            headers={"Accept": "application/dicom"},
        )
        stored = pydicom.dcmread(BytesIO(single.content))
        assert stored.file_meta.SourceApplicationEntityTitle == "MODALITY"
        assert stored.PixelData == ct.PixelData
    finally:
        assert stop(proc) == 0
    assert list((data_dir / "storage" / "tmp").iterdir()) == []
    if index_url.startswith("sqlite"):
        assert (tmp_path / "index.sqlite").is_file()  # the index_url fixture's SQLite file
        wal = tmp_path / "index.sqlite-wal"
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed at stop

    leftover = data_dir / "storage" / "tmp" / "tmpdead.part"
    leftover.write_bytes(b"half a file")
    proc, info = start(data_dir, config)
    try:
        assert not leftover.exists()
        assert httpx.get(f"{info['http_url']}/api/status").json()["instances"] == 3
    finally:
        assert stop(proc) == 0
