"""The bundled server never outlives the workstation that started it, even when that one is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import write_server_config

_PARENT = """
import json, sys, time
from pathlib import Path
from app.services.embedded_server import EmbeddedServer
server = EmbeddedServer(data_dir=Path(sys.argv[1]), config_file=Path(sys.argv[2]))
server.start(timeout=120)
print(json.dumps({"pid": server.process.pid}), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_server_stops_when_its_workstation_is_killed(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    config = write_server_config(tmp_path / "server.toml", tmp_path / "data")  # ephemeral ports
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path / "data"), str(config)], stdout=subprocess.PIPE, text=True,
        env=env,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        server_pid = json.loads(line)["pid"]
        assert _alive(server_pid)
        parent.send_signal(signal.SIGKILL)  # a crash: no chance to stop its child
        parent.wait(10)
        deadline = time.monotonic() + 60
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(server_pid), "the bundled server outlived the killed workstation"
    finally:
        if parent.poll() is None:
            parent.kill()
