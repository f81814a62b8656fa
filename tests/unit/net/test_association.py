"""The SCU association (reference 3.2.1): our implementation identity and PDU size are sent,
and every failure says exactly what happened (refused, rejected with its reason, timed out)."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from pynetdicom import AE, evt

from app.dicom.sop_classes import VERIFICATION
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.net.association import AssociationError, Peer, ScuSettings
from app.net.echo import echo


def test_identity_and_pdu_size_are_proposed() -> None:
    seen: dict[str, Any] = {}

    def on_requested(event: Any) -> None:
        rq = event.assoc.requestor
        seen.update(uid=rq.implementation_class_uid, name=rq.implementation_version_name,
                    pdu=rq.primitive.maximum_length_received, calling=str(rq.primitive.calling_ae_title).strip())

    ae = AE("ECHOSCP")
    ae.add_supported_context(VERIFICATION)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_REQUESTED, on_requested)])
    try:
        result = echo(ScuSettings("READ1STORE", max_pdu=16384), Peer("ECHOSCP", "127.0.0.1", server.server_address[1]))
    finally:
        server.shutdown()
    assert result.ok and "Success (0x0000)" in result.describe()
    assert seen == {"uid": IMPLEMENTATION_CLASS_UID, "name": IMPLEMENTATION_VERSION_NAME, "pdu": 16384,
                    "calling": "READ1STORE"}


def test_rejection_carries_its_reason() -> None:
    ae = AE("ECHOSCP")
    ae.add_supported_context(VERIFICATION)
    ae.require_calling_aet = ["SOMEONE"]
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        with pytest.raises(AssociationError) as failure:
            echo(ScuSettings("STRANGER"), Peer("ECHOSCP", "127.0.0.1", server.server_address[1]))
    finally:
        server.shutdown()
    assert failure.value.kind == "rejected"
    assert "Calling AE title not recognised" in str(failure.value) and "'STRANGER'" in str(failure.value)


def test_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        with pytest.raises(AssociationError) as failure:
            echo(ScuSettings("ME", timeout=5), Peer("NOBODY", "127.0.0.1", port))
    assert failure.value.kind == "refused" and "Connection refused" in str(failure.value)


def test_silent_peer_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    try:
        with pytest.raises(AssociationError) as failure:
            echo(ScuSettings("ME", timeout=1.0), Peer("SILENT", "127.0.0.1", listener.getsockname()[1]))
    finally:
        for sock in accepted:
            sock.close()
        listener.close()
    assert failure.value.kind == "timed out" and "within 1 s" in str(failure.value)


def test_no_accepted_context() -> None:
    ae = AE("FINDONLY")
    ae.add_supported_context("1.2.840.10008.5.1.4.1.2.2.1")
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        with pytest.raises(AssociationError) as failure:
            echo(ScuSettings("ME"), Peer("FINDONLY", "127.0.0.1", server.server_address[1]))
    finally:
        server.shutdown()
    assert failure.value.kind == "no context"
