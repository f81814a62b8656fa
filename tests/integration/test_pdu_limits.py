"""PDU length bound of every SCP AE (:mod:`app.server.pdu_limits`) against the real server:
a PDU header announcing gigabytes gets the connection closed at once, instead of the server
allocating (C-STORE fast path) or waiting for (pynetdicom) what the header claims; the
server goes on serving (PS3.8 9.3.1)."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE

from tests.conftest import RunningServer, start_server, stop_server, write_server_config

pytestmark = pytest.mark.peer

VERIFICATION = "1.2.840.10008.1.1"
#: Far longer than any limit: 4 GiB less 256 bytes.
HUGE = 0xFFFFFF00


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("pdu")
    data_dir = tmp / "data"
    # A long network timeout: a closed connection within seconds is the bound, not the timeout.
    config = write_server_config(tmp / "server.toml", data_dir, extra_server="network_timeout = 120.0")
    running = start_server(config, data_dir)
    yield running
    assert stop_server(running) == 0


def _seconds_until_closed(sock: socket.socket, limit: float = 20.0) -> float:
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def _echo(port: int, called: str) -> int:
    ae = AE("PDU_TEST")
    ae.add_requested_context(VERIFICATION, ImplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    assert assoc.is_established
    try:
        return int(assoc.send_c_echo().Status)
    finally:
        assoc.release()


def _aes(running: RunningServer) -> list[tuple[str, int]]:
    assert running.qr_port and running.mwl_port
    return [
        *running.storage.items(),
        (running.qr_ae_title or "DICOM_QR_SCP", running.qr_port),
        (running.mwl_ae_title or "DICOM_MWL_SCP", running.mwl_port),
    ]


def test_huge_association_request_closes_the_connection(served: RunningServer) -> None:
    for called, port in _aes(served):  # the Storage AE reads with the fast path, the Q/R AE with pynetdicom
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(struct.pack(">BBI", 0x01, 0, HUGE) + b"\x00\x01" + b"\x00" * 200)
            assert _seconds_until_closed(sock) < 5
        assert served.process.poll() is None
        assert _echo(port, called) == 0x0000


def test_huge_p_data_in_an_association_closes_it(served: RunningServer) -> None:
    for called, port in _aes(served):
        ae = AE("PDU_TEST")
        ae.add_requested_context(VERIFICATION, ImplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", port, ae_title=called)
        assert assoc.is_established
        started = time.monotonic()
        assoc.dul.socket.send(struct.pack(">BBI", 0x04, 0, HUGE) + b"\x00" * 64)
        while assoc.is_alive() and time.monotonic() - started < 20:
            time.sleep(0.05)
        assert not assoc.is_alive() and time.monotonic() - started < 5
        assert served.process.poll() is None
        assert _echo(port, called) == 0x0000
