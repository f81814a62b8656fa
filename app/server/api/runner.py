"""Serve the HTTP API with uvicorn on a thread of its own, on a socket we bind ourselves
(so that port 0 gives an ephemeral port we can report)."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from app.core.errors import ServerUnavailableError

LOGGER = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerUnavailableError(
            f"cannot listen for HTTP on {host}:{port}: {exc.strerror}; choose another http_port"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class HttpServer:
    """uvicorn serving ``app`` on ``host:port`` (0 = any free port) until :meth:`stop`."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.host = host
        self._socket = _bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5,
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._failed: BaseException | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start()
            self._failed = exc
            LOGGER.exception("the HTTP server stopped")

    def start(self, timeout: float = 30.0) -> int:
        """Start serving; returns the bound port once requests are accepted."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerUnavailableError(f"the HTTP server did not start: {self._failed!r}")
            time.sleep(0.01)
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, finish running requests (at most ``timeout`` seconds)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2.0)
        self._socket.close()
