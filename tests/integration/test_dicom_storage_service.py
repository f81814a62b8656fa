"""StorageService in process (app.server.scp): what a peer sees of the AEs, and their lifecycle.

Real associations on 127.0.0.1 with a recording ingest: several AEs with their own titles
and ports, the implementation identity and maximum PDU announced (PS3.7 D.3.3), TCP_NODELAY
on accepted sockets, and ``stop()`` letting a running association finish.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom import AE

from app.core.config import ServerConfig, StorageAE
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.server.scp import StorageService

VERIFICATION = "1.2.840.10008.1.1"


@dataclass(frozen=True)
class Outcome:
    status: int
    comment: str = ""
    sop_instance_uid: str = ""


class NullIngest:
    def store_encoded(self, dataset: Any, **kwargs: str) -> Outcome:
        return Outcome(0)


def _config(*aes: StorageAE, max_pdu: int = 131072) -> ServerConfig:
    return ServerConfig(
        data_dir=Path("unused"), dicom_host="127.0.0.1", max_pdu=max_pdu, network_timeout=10.0, storage=aes
    )


def _echo_assoc(port: int, called: str) -> Any:
    ae = AE("SVC_TEST")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(VERIFICATION, [ImplicitVRLittleEndian])
    return ae.associate("127.0.0.1", port, ae_title=called)


def test_several_aes_each_with_its_title_and_port() -> None:
    service = StorageService(_config(StorageAE("FIRST_AE", 0), StorageAE("SECOND_AE", 0)), NullIngest())
    started = service.start()
    try:
        assert [title for title, _ in started] == ["FIRST_AE", "SECOND_AE"]
        ports = dict(started)
        assert ports["FIRST_AE"] != ports["SECOND_AE"] and all(ports.values())
        for title, port in started:
            assoc = _echo_assoc(port, title)
            assert assoc.is_established
            assert assoc.send_c_echo().Status == 0x0000
            assoc.release()
        crossed = _echo_assoc(ports["FIRST_AE"], "SECOND_AE")
        assert crossed.is_rejected
    finally:
        service.stop(grace=1.0)
    with socket.socket() as probe:  # the listening sockets are closed
        assert probe.connect_ex(("127.0.0.1", ports["FIRST_AE"])) != 0


def test_identity_max_pdu_and_tcp_nodelay() -> None:
    service = StorageService(_config(StorageAE("IDENT_AE", 0), max_pdu=65536), NullIngest())
    ((_title, port),) = service.start()
    try:
        assoc = _echo_assoc(port, "IDENT_AE")
        assert assoc.is_established
        acceptor = assoc.acceptor
        assert acceptor.implementation_class_uid == IMPLEMENTATION_CLASS_UID
        assert acceptor.implementation_version_name == IMPLEMENTATION_VERSION_NAME
        assert acceptor.maximum_length == 65536
        (ae, _server, _thread) = service._servers[0]
        (server_side,) = ae.active_associations
        raw = server_side.dul.socket.socket
        assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert raw.gettimeout() == 10.0
        assoc.release()
    finally:
        service.stop(grace=1.0)


def test_stop_lets_a_running_association_finish_then_aborts_the_rest() -> None:
    service = StorageService(_config(StorageAE("STOP_AE", 0)), NullIngest())
    ((_title, port),) = service.start()
    assoc = _echo_assoc(port, "STOP_AE")
    assert assoc.is_established

    def finish_soon() -> None:
        time.sleep(0.5)
        assert assoc.send_c_echo().Status == 0x0000  # still served while stopping
        assoc.release()

    worker = threading.Thread(target=finish_soon)
    worker.start()
    start = time.monotonic()
    service.stop(grace=5.0)
    worker.join(5)
    assert assoc.is_released
    assert 0.4 < time.monotonic() - start < 5.0

    service = StorageService(_config(StorageAE("STOP_AE", 0)), NullIngest())
    ((_title, port),) = service.start()
    idle = _echo_assoc(port, "STOP_AE")
    assert idle.is_established
    start = time.monotonic()
    service.stop(grace=0.5)  # an idle association is aborted after the grace period
    assert time.monotonic() - start < 3.0
    deadline = time.monotonic() + 3
    while idle.is_established and time.monotonic() < deadline:
        time.sleep(0.05)
    assert idle.is_aborted


def test_a_burst_beyond_the_limit_rejects_only_the_excess() -> None:
    service = StorageService(_config_limit(StorageAE("BURST_AE", 0), limit=2), NullIngest())
    ((_title, port),) = service.start()
    try:
        for _trial in range(3):
            results: list[Any] = []
            lock = threading.Lock()
            threads = [threading.Thread(target=_request_into, args=(port, results, lock)) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(15)
            established = [a for a in results if a.is_established]
            rejected = [a for a in results if a.is_rejected]
            assert len(established) == 2 and len(rejected) == 1
            rj = rejected[0].acceptor.primitive
            assert (rj.result, rj.result_source, rj.diagnostic) == (0x02, 0x03, 0x02)
            for assoc in established:
                assoc.release()
            time.sleep(0.3)
    finally:
        service.stop(grace=1.0)


def _request_into(port: int, results: list[Any], lock: threading.Lock) -> None:
    assoc = _echo_assoc(port, "BURST_AE")
    with lock:
        results.append(assoc)


def _config_limit(ae: StorageAE, limit: int) -> ServerConfig:
    return ServerConfig(
        data_dir=Path("unused"), dicom_host="127.0.0.1", max_associations=limit, network_timeout=10.0, storage=(ae,)
    )
