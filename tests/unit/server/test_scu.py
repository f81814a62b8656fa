"""Outbound associations of the server (:mod:`app.server.scu`) over a real association on 127.0.0.1.

pynetdicom's reactor can take the response a ``send_*()`` call waits for (pynetdicom issue
#875): ``keep_responses`` hands it back to the DIMSE queue. The race itself is rare (about
1 in 400 C-STORE sub-operations, ``benchmarks/qr_move.py``), so the test puts a response
where the reactor would find it and checks the sender still receives it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pynetdicom import AE, build_context, evt
from pynetdicom.dimse_primitives import C_ECHO

from app.core.config import Destination, ServerConfig
from app.server.scu import associate

VERIFICATION = "1.2.840.10008.1.1"


@pytest.fixture
def echo_peer() -> Iterator[int]:
    ae = AE(ae_title="PEER")
    ae.add_supported_context(VERIFICATION)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_ECHO, lambda event: 0x0000)])
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def _response(message_id: int) -> C_ECHO:
    rsp = C_ECHO()
    rsp.MessageIDBeingRespondedTo = message_id
    rsp.AffectedSOPClassUID = VERIFICATION
    rsp.Status = 0x0000
    return rsp


def test_a_response_taken_by_the_reactor_goes_back_to_the_sender(echo_peer: int) -> None:
    assoc = associate(ServerConfig(), Destination("PEER", "127.0.0.1", echo_peer), [build_context(VERIFICATION)])
    assert assoc.is_established
    try:
        rsp = _response(7)
        assoc._serve_request(rsp, 1)  # what the reactor does with a message it takes off the queue
        context_id, msg = assoc.dimse.get_msg(block=False)  # what send_*() waits on
        assert (context_id, msg) == (1, rsp)
        # Requests and real exchanges are unaffected.
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()


def test_without_it_pynetdicom_drops_the_response(echo_peer: int) -> None:
    # The behaviour keep_responses exists for: a plain association loses the message.
    ae = AE(ae_title="DICOM_QR_SCP")
    assoc = ae.associate("127.0.0.1", echo_peer, contexts=[build_context(VERIFICATION)], ae_title="PEER")
    assert assoc.is_established
    try:
        assoc._serve_request(_response(7), 1)
        assert assoc.dimse.get_msg(block=False) == (None, None)
    finally:
        assoc.release()
