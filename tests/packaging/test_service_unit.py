"""The systemd unit of the headless server (packaging/linux) and the site configuration it reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.core.config import load_config
from tests.conftest import require_tool

LINUX = Path(__file__).resolve().parents[2] / "packaging" / "linux"


def _unit_keys() -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (LINUX / "lightbox-server.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def test_systemd_analyze_verifies_the_unit_without_a_warning(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    # verify checks that ExecStart's program exists: point it at this environment's lightbox
    lightbox = str(Path(sys.executable).parent / "lightbox")
    text = (LINUX / "lightbox-server.service").read_text(encoding="utf-8").replace("/opt/lightbox/lightbox", lightbox)
    unit = tmp_path / "lightbox-server.service"
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120, check=False)
    # a misspelt key or bad value is only a warning on stderr (exit 0): require silence
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stdout + done.stderr


def test_the_unit_runs_the_server_as_its_user_restarts_on_failure_and_may_bind_port_104_only() -> None:
    keys = _unit_keys()
    assert keys["ExecStart"] == ["/opt/lightbox/lightbox server --config /etc/lightbox/lightbox.toml"]
    assert keys["User"] == ["lightbox"] and keys["Restart"] == ["on-failure"]
    assert keys["StateDirectory"] == ["lightbox"]  # /var/lib/lightbox, writable under ProtectSystem=strict
    assert keys["ProtectSystem"] == ["strict"] and keys["NoNewPrivileges"] == ["yes"]
    assert keys["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"] == keys["AmbientCapabilities"]
    assert "AF_INET" in keys["RestrictAddressFamilies"][0].split()
    sysusers = (LINUX / "lightbox-sysusers.conf").read_text(encoding="utf-8")
    assert "u lightbox - " in sysusers and "/var/lib/lightbox" in sysusers


def test_the_site_configuration_loads_and_keeps_data_in_the_state_directory() -> None:
    server = load_config(files=[LINUX / "lightbox-site.toml"]).server
    assert server.data_dir == Path("/var/lib/lightbox")
    assert [(ae.ae_title, ae.port) for ae in server.storage] == [("DICOM_STORAGE", 104)]
