"""The bundled server's fixed DICOM ports held by another program: the workstation says which port
and which setting to change, before any server process starts; its standard error file stays bounded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app.core.config import QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE
from app.core.errors import ServerUnavailableError
from app.services.embedded_server import EmbeddedServer, append_only, trim_tail


def test_a_taken_storage_port_is_named_with_its_setting(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen(1)  # another DICOM program listening on the port the modalities send to
    taken = holder.getsockname()[1]
    try:
        config = ServerConfig(data_dir=tmp_path / "data", storage=(StorageAE("DICOM_STORAGE", taken),),
                              qr=QueryRetrieveAE(port=0), mwl=WorklistAE(port=0))
        server = EmbeddedServer.from_config(config)
        private = server.config_file
        with pytest.raises(ServerUnavailableError) as caught:
            server.start(timeout=30)
        message = str(caught.value)
        assert f"DICOM port {taken} (Storage SCP DICOM_STORAGE)" in message
        assert "Settings > Workstation > Bundled server: Storage port" in message
        assert server.process is None and private is not None and not private.exists()  # nothing started or left
    finally:
        holder.close()
    with EmbeddedServer.from_config(config) as started:  # the port free again: the server starts on it
        assert started.process is not None and started.process.poll() is None
        probe = socket.create_connection(("127.0.0.1", taken), timeout=10)
        probe.close()


def test_the_standard_error_file_keeps_a_bounded_tail(tmp_path: Path) -> None:
    keep = 4096
    writer = ("import sys\nfor i in range(int(sys.argv[1])):\n"
              "    print(f'line {sys.argv[2]} {i:06d}', file=sys.stderr)\n")
    with append_only(tempfile.TemporaryFile()) as stderr:
        subprocess.run([sys.executable, "-c", writer, "2000", "A"], stderr=stderr, check=True)
        assert os.fstat(stderr.fileno()).st_size > 2 * keep
        assert trim_tail(stderr, keep)
        assert os.fstat(stderr.fileno()).st_size == keep
        subprocess.run([sys.executable, "-c", writer, "10", "B"], stderr=stderr, check=True)  # the next writes append
        stderr.seek(0)
        lines = stderr.read().decode().splitlines()
        assert lines[-1] == "line B 000009" and "line A 001999" in lines
        assert not trim_tail(stderr, keep)  # under twice the bound: left alone
