"""One SCP application entity listening on its own port: the scaffolding the Q/R and MWL
services share (start, bound address, stop with a grace period)."""

from __future__ import annotations

import threading
from typing import Any

from pynetdicom import AE

from app.server.scp import STOP_GRACE_SECONDS, _NoDelayServer, serve, stop_listener


class SingleAEService:
    """Base of a service with one SCP AE: subclasses say how to build the AE and its handlers.

    Parameters
    ----------
    host
        Address to listen on.
    ae_title, port
        The AE's title and port (0 = any free port).
    what
        How the log names the AE ("the Q/R SCP").
    """

    def __init__(self, host: str, ae_title: str, port: int, what: str) -> None:
        self._host = host
        self._ae_title = ae_title
        self._port = port
        self._what = what
        self._server: tuple[AE, _NoDelayServer, threading.Thread] | None = None
        self._lock = threading.Lock()

    def make_ae(self) -> AE:
        """The pynetdicom AE with its presentation contexts (not listening)."""
        raise NotImplementedError

    def handlers(self) -> list[Any]:
        """The event bindings of the AE."""
        raise NotImplementedError

    @property
    def address(self) -> tuple[str, int] | None:
        """(AE title, bound port) once started."""
        if self._server is None:
            return None
        ae, server, _ = self._server
        return ae.ae_title, int(server.server_address[1])

    def start(self) -> tuple[str, int]:
        """Start listening; non-blocking. Returns the AE title and the bound port."""
        with self._lock:
            ae = self.make_ae()
            thread_name = f"{type(self).__name__}-{self._ae_title}"
            server, thread = serve(ae, self._host, self._port, self._ae_title, self.handlers(), thread_name)
            self._server = (ae, server, thread)
            return self._ae_title, int(server.server_address[1])

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop accepting, let running associations finish for up to ``grace`` s, then abort them."""
        with self._lock:
            if self._server is None:
                return
            ae, server, thread = self._server
            self._server = None
            stop_listener(ae, server, thread, grace, self._what)
