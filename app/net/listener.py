"""pynetdicom's threaded association server with the socket options every SCP here wants:
the server's SCP AEs and the workstation's temporary Storage SCP."""

from __future__ import annotations

import socket

from pynetdicom.transport import ThreadedAssociationServer


class NoDelayServer(ThreadedAssociationServer):
    """Sets ``TCP_NODELAY`` on accepted sockets (DIMSE is request/response: Nagle's algorithm
    would hold each small response for the peer's delayed ACK) and the AE's network timeout."""

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        client, address = super().get_request()
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # A peer stalling in the middle of a PDU fails the read after the network
            # timeout instead of blocking the association's thread forever.
            client.settimeout(self.ae.network_timeout)
        except OSError:  # pragma: no cover - e.g. a socket already closed by the peer
            pass
        return client, address
