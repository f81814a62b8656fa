"""What every SCP AE does with peers that misbehave at the PDU level (:func:`app.server.scp.serve`):
a PDU longer than the limit (:mod:`app.server.pdu_limits`) closes the connection, and a
connection that closes before its A-ASSOCIATE-RQ ends its association thread at once (PS3.8 9.3.1)."""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE, evt

from app.core.config import ServerConfig
from app.server.handlers.echo import handle_echo
from app.server.pdu_limits import MIN_PDU_LIMIT, pdu_limit
from app.server.scp import Admission, make_scp_ae, serve

VERIFICATION = "1.2.840.10008.1.1"


@pytest.fixture
def scp() -> Iterator[tuple[Any, int]]:
    # A long timeout: whatever ends within seconds below is not the timeout's doing.
    config = ServerConfig(network_timeout=120.0, max_pdu=16384)
    ae = make_scp_ae(config, "ROBUST_SCP")
    handlers = [*Admission(config.max_associations).handlers(), (evt.EVT_C_ECHO, handle_echo)]
    server, thread = serve(ae, "127.0.0.1", 0, "ROBUST_SCP", handlers, "RobustTest")
    yield ae, int(server.server_address[1])
    server.shutdown()
    thread.join(5)
    for assoc in ae.active_associations:
        assoc.abort()


def _wait_idle(ae: Any, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while ae.active_associations and time.monotonic() < deadline:
        time.sleep(0.05)
    return not ae.active_associations


def _echo(port: int) -> int:
    requestor = AE("ROBUST_TEST")
    requestor.add_requested_context(VERIFICATION, ImplicitVRLittleEndian)
    assoc = requestor.associate("127.0.0.1", port, ae_title="ROBUST_SCP")
    assert assoc.is_established
    try:
        return int(assoc.send_c_echo().Status)
    finally:
        assoc.release()


def test_limit_is_max_pdu_or_one_mebibyte() -> None:
    assert pdu_limit(16384) == MIN_PDU_LIMIT == 1 << 20
    assert pdu_limit(4 << 20) == 4 << 20


def test_connection_closed_before_the_request_frees_its_thread(scp: tuple[Any, int]) -> None:
    ae, port = scp
    for _ in range(3):  # port probes, and a peer that leaves half-way through a PDU header
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"\x01\x00\x00")
    assert _wait_idle(ae), "association threads still waiting for a request that cannot come"
    assert _echo(port) == 0x0000


def test_huge_pdu_header_is_refused_and_the_thread_ends(
    scp: tuple[Any, int], caplog: pytest.LogCaptureFixture
) -> None:
    ae, port = scp
    with caplog.at_level(logging.WARNING, logger="app.server.pdu_limits"), socket.create_connection(
        ("127.0.0.1", port), timeout=10
    ) as sock:
        sock.sendall(struct.pack(">BBI", 0x01, 0, 0x7FFFFFFF) + b"\x00\x01" + b"\x00" * 64)
        started = time.monotonic()
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 3
    assert "PDU of 2147483647 bytes from 127.0.0.1 refused (longer than 1048576)" in caplog.text
    assert _wait_idle(ae)
    assert _echo(port) == 0x0000
