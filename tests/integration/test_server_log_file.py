"""The bundled server logs into the user log directory too (``server.log``, rotated like the
workstation's ``lightbox.log``), so one folder holds what a support request needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import QueryRetrieveAE, ServerConfig, StorageAE, WorklistAE
from app.core.paths import user_log_dir
from app.services.embedded_server import EmbeddedServer


def test_embedded_server_writes_server_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = ServerConfig(data_dir=tmp_path / "server", storage=(StorageAE(port=0),), qr=QueryRetrieveAE(port=0),
                          mwl=WorklistAE(port=0), fsync=False)
    server = EmbeddedServer.from_config(config, http_port=0)
    assert server.command()[server.command().index("--log-dir") + 1] == str(user_log_dir())
    server.start(timeout=60)
    try:
        url = server.http_url
    finally:
        assert server.stop() == 0
    log = (user_log_dir() / "server.log").read_text()
    assert str(tmp_path / "state") in str(user_log_dir())
    assert url.rsplit(":", 1)[1].rstrip("/") in log  # the HTTP port it listened on, as logged on stderr
