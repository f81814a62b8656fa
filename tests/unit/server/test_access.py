"""The calling-AE allow-list (:mod:`app.server.access`): the rule, and its A-ASSOCIATE-RJ over a
real association on 127.0.0.1 (PS3.8 9.3.4, Table 9-21)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pynetdicom import AE, evt

from app.core.config import Destination, KnownPeer, ServerConfig
from app.server.access import PeerPolicy, resolve
from app.server.handlers.echo import handle_echo
from app.server.scp import Admission, make_scp_ae, serve

VERIFICATION = "1.2.840.10008.1.1"


def _config(**changes: Any) -> ServerConfig:
    base: dict[str, Any] = {
        "restrict_to_known_peers": True,
        "allow_loopback": False,
        "known_peers": (KnownPeer("MODALITY", "10.1.2.3"), KnownPeer("MODALITY", "10.1.2.4"),
                        KnownPeer("LOCAL", "localhost")),
        "destinations": (Destination("WORKSTATION", "10.9.9.9", 104),),
    }
    base.update(changes)
    return ServerConfig(**base)


def test_policy_matches_title_and_address() -> None:
    policy = PeerPolicy.from_config(_config())
    assert policy.admits("MODALITY", "10.1.2.3") and policy.admits("MODALITY", "10.1.2.4")
    assert policy.admits("MODALITY", "::ffff:10.1.2.3")  # IPv4-mapped IPv6 peer address
    assert not policy.admits("MODALITY", "10.1.2.5")  # a known AE from another host
    assert not policy.admits("UNKNOWN", "10.1.2.3")  # an unknown AE from a known host
    assert policy.admits("WORKSTATION", "10.9.9.9")  # destinations are known peers too
    assert policy.admits("LOCAL", "127.0.0.1")  # host name resolved once, at start
    assert not policy.admits("UNKNOWN", "127.0.0.1")  # loopback not exempt with allow_loopback = false
    loopback_ok = PeerPolicy.from_config(_config(allow_loopback=True))
    assert loopback_ok.admits("UNKNOWN", "127.0.0.1") and loopback_ok.admits("UNKNOWN", "::1")
    assert not loopback_ok.admits("UNKNOWN", "10.1.2.3")
    assert PeerPolicy.from_config(_config(restrict_to_known_peers=False)).admits("ANY", "203.0.113.5")


def test_a_peer_may_be_limited_to_some_of_our_aes() -> None:
    config = _config(known_peers=(KnownPeer("CT1", "10.1.2.3", ("DICOM_STORAGE",)), KnownPeer("RIS", "10.1.2.9")))
    storage = PeerPolicy.from_config(config, "DICOM_STORAGE")
    qr = PeerPolicy.from_config(config, "DICOM_QR_SCP")
    assert storage.admits("CT1", "10.1.2.3") and not qr.admits("CT1", "10.1.2.3")
    assert storage.admits("RIS", "10.1.2.9") and qr.admits("RIS", "10.1.2.9")  # no list: every AE
    assert qr.admits("WORKSTATION", "10.9.9.9")  # destinations may call every AE


def test_unresolvable_host_admits_nobody(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.server.access"):
        assert resolve("no-such-host.invalid") == frozenset()
    assert "cannot be resolved" in caplog.text
    assert resolve("::ffff:192.0.2.1") == frozenset({"192.0.2.1"})


@pytest.fixture
def scp() -> Iterator[int]:
    config = _config(known_peers=(KnownPeer("LISTED", "127.0.0.1"),), max_associations=1)
    ae = make_scp_ae(config, "ACCESS_SCP")
    handlers = [*Admission(config.max_associations).handlers(), (evt.EVT_C_ECHO, handle_echo)]
    server, thread = serve(ae, "127.0.0.1", 0, "ACCESS_SCP", handlers, "AccessTest")
    yield int(server.server_address[1])
    server.shutdown()
    thread.join(5)


def _associate(port: int, calling: str) -> tuple[Any, list[tuple[int, int, int]]]:
    """Associate as ``calling``; the (result, source, reason) of any A-ASSOCIATE-RJ received."""
    rejections: list[tuple[int, int, int]] = []

    def on_acse(event: Any) -> None:
        primitive = event.primitive
        if getattr(primitive, "result", None) in (0x01, 0x02):
            rejections.append((primitive.result, primitive.result_source, int(primitive.diagnostic)))

    ae = AE(calling)
    ae.acse_timeout = ae.network_timeout = 10
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="ACCESS_SCP", evt_handlers=[(evt.EVT_ACSE_RECV, on_acse)])
    return assoc, rejections


def test_unknown_calling_ae_gets_reason_3_and_a_warning_ahead_of_the_limit(
    scp: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.server.access"):
        assoc, rejections = _associate(scp, "STRANGER")
    assert assoc.is_rejected
    assert rejections == [(0x01, 0x01, 0x03)]  # permanent, service-user, calling AE title not recognised
    assert "'STRANGER' at 127.0.0.1 to ACCESS_SCP rejected: not a known peer" in caplog.text
    # A known peer still gets the only association slot (max_associations = 1).
    first, _ = _associate(scp, "LISTED")
    try:
        assert first.is_established and first.send_c_echo().Status == 0
        # The slot is taken now: the limit answers a second known peer, the allow-list a stranger.
        second, reasons = _associate(scp, "LISTED")
        assert second.is_rejected and reasons == [(0x02, 0x03, 0x02)]
        third, reasons = _associate(scp, "STRANGER")
        assert third.is_rejected and reasons == [(0x01, 0x01, 0x03)]
    finally:
        first.release()
