"""The calling-AE allow-list of every SCP AE (the reference's "known hosts"), against DCMTK's
``echoscu`` and ``storescu`` connecting from 127.0.0.1 to the real server process.

With ``restrict_to_known_peers = true`` and ``allow_loopback = false`` a peer on this
machine is accepted only when its calling AE title is listed with a host that resolves to
127.0.0.1; anything else is rejected permanent, service-user, calling AE title not
recognised (PS3.8 9.3.4).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from tests.conftest import RunningServer, require_tool, start_server, stop_server, write_server_config

pytestmark = pytest.mark.peer

REJECTED = "Calling AE Title Not Recognized"

ALLOW_LIST = """
restrict_to_known_peers = true
allow_loopback = false
[[server.known_peers]]
ae_title = "LISTED"
host = "127.0.0.1"
[[server.known_peers]]
ae_title = "BYNAME"
host = "localhost"
[[server.known_peers]]
ae_title = "ELSEWHERE"
host = "192.0.2.7"
[[server.destinations]]
ae_title = "DESTAE"
host = "127.0.0.1"
port = 1
"""


def _called_aes(running: RunningServer) -> list[tuple[str, int]]:
    """(called AE title, port) of every SCP AE: each Storage AE, the Q/R AE (with MPPS) and the MWL AE."""
    aes = list(running.storage.items())
    assert running.qr_port and running.mwl_port
    aes.append((running.qr_ae_title or "DICOM_QR_SCP", running.qr_port))
    aes.append((running.mwl_ae_title or "DICOM_MWL_SCP", running.mwl_port))
    return aes


def echoscu(calling: str, called: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("echoscu"), "-v", "-aet", calling, "-aec", called, "127.0.0.1", str(port)],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("access")
    data_dir = tmp / "data"
    running = start_server(write_server_config(tmp / "server.toml", data_dir, extra_server=ALLOW_LIST), data_dir)
    yield running
    assert stop_server(running) == 0


def test_unlisted_calling_ae_from_loopback_is_rejected_on_every_ae(restricted: RunningServer) -> None:
    for called, port in _called_aes(restricted):
        result = echoscu("STRANGER", called, port)
        out = result.stdout + result.stderr
        assert result.returncode != 0 and "Association Rejected" in out, out
        assert "Rejected Permanent, Source: Service User" in out and REJECTED in out, out


def test_listed_ae_from_another_host_is_rejected(restricted: RunningServer) -> None:
    for called, port in _called_aes(restricted):
        result = echoscu("ELSEWHERE", called, port)
        assert result.returncode != 0 and REJECTED in result.stdout + result.stderr


def test_listed_ae_and_host_is_accepted_by_address_name_or_destination(restricted: RunningServer) -> None:
    for calling in ("LISTED", "BYNAME", "DESTAE"):  # an IP, a host name resolved at start, a destination
        for called, port in _called_aes(restricted):
            result = echoscu(calling, called, port)
            out = result.stdout + result.stderr
            assert result.returncode == 0 and "Received Echo Response (Success)" in out, out


def test_storescu_stores_only_from_a_known_peer(restricted: RunningServer) -> None:
    path = str(get_testdata_file("CT_small.dcm", download=False))
    called, port = next(iter(restricted.storage.items()))

    def storescu(calling: str) -> str:
        result = subprocess.run(
            [require_tool("storescu"), "-v", "-aet", calling, "-aec", called, "127.0.0.1", str(port), path],
            capture_output=True, text=True, timeout=60,
        )
        return result.stdout + result.stderr

    out = storescu("STRANGER")
    assert REJECTED in out and "Received Store Response" not in out
    out = storescu("LISTED")
    assert "Received Store Response (Success)" in out, out


def test_loopback_allowed_by_default_with_the_allow_list_on(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    config = write_server_config(tmp_path / "server.toml", data_dir, extra_server="restrict_to_known_peers = true")
    running = start_server(config, data_dir)
    try:
        for called, port in _called_aes(running):
            result = echoscu("STRANGER", called, port)
            assert result.returncode == 0 and "Received Echo Response (Success)" in result.stdout + result.stderr
    finally:
        assert stop_server(running) == 0
