"""One workstation per user: a second ``lightbox [FILE...]`` hands its paths to the running one.

The bundled server listens on fixed DICOM ports (what the modalities send to), so a second
workstation of the same user cannot start its own: it would die with "Address already in use".
The first workstation listens on a local socket (:class:`QLocalServer`); a later start connects,
sends one line of JSON ``{"paths": [...]}`` (absolute paths) and waits for ``ok``; the running
workstation opens the paths in a viewer and raises its window, and the second process exits 0.

The socket's name is per user and per data folder (a hash of :func:`app.core.paths.user_data_dir`):
two users of one machine, or tests with their own HOME, never meet.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.core.paths import user_data_dir

log = logging.getLogger(__name__)

#: Largest message a second start may send (bytes): many paths, never unbounded.
MAX_MESSAGE = 1024 * 1024
_ACK = b"ok\n"


def instance_name() -> str:
    """The local socket name of this user's workstation (``lightbox-<user>-<hash of the data folder>``)."""
    digest = hashlib.sha256(str(user_data_dir()).encode("utf-8")).hexdigest()[:12]
    user = "".join(ch for ch in getpass.getuser() if ch.isalnum())[:16] or "user"
    return f"lightbox-{user}-{digest}"


def hand_over(paths: Sequence[Path], name: str | None = None, timeout_ms: int = 5000) -> bool:
    """Give ``paths`` to a running workstation; True when one took them (this process may exit).

    False when none is listening (this process becomes the workstation).
    """
    socket = QLocalSocket()
    socket.connectToServer(name or instance_name())
    if not socket.waitForConnected(timeout_ms // 5):
        return False
    message = json.dumps({"paths": [str(Path(p).absolute()) for p in paths]}).encode("utf-8") + b"\n"
    socket.write(message)
    socket.flush()
    answer = b""
    while _ACK not in answer and socket.state() == QLocalSocket.LocalSocketState.ConnectedState:
        if not socket.waitForReadyRead(timeout_ms):
            break
        answer += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    if _ACK not in answer:
        log.warning("a running Lightbox accepted the connection but did not confirm the paths")
        return False
    log.info("handed %d path(s) to the running Lightbox", len(paths))
    return True


class SingleInstance(QObject):
    """The running workstation's end: listens for later starts.

    Signals
    -------
    paths_received(list)
        The paths (``list[Path]``, possibly empty) a later ``lightbox`` start was given.

    A start that comes while this workstation is still starting (its server not ready yet) is
    answered at once; its paths wait until :meth:`deliver_to` names who opens them.
    """

    paths_received = Signal(list)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}
        self._receiver: Callable[[list[Path]], None] | None = None
        self._pending: list[list[Path]] = []

    def deliver_to(self, receiver: Callable[[list[Path]], None]) -> None:
        """Call ``receiver(paths)`` for every later start, first for those that came before."""
        self._receiver = receiver
        pending, self._pending = self._pending, []
        for paths in pending:
            receiver(paths)

    def listen(self) -> bool:
        """Start listening; a socket file left by a crashed workstation is removed first (nobody answered)."""
        if self.server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        if self.server.listen(self.name):
            return True
        log.warning("single instance: cannot listen on %s (%s)", self.name, self.server.errorString())
        return False

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._drop(s))

    def _drop(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if len(data) > MAX_MESSAGE:
            log.warning("single instance: message over %d bytes refused", MAX_MESSAGE)
            socket.abort()
            return
        if b"\n" not in data:
            self._buffers[socket] = data
            return
        line = data.split(b"\n", 1)[0]
        self._buffers[socket] = b""
        try:
            raw = json.loads(line.decode("utf-8"))
            paths = [Path(p) for p in raw["paths"] if isinstance(p, str)]
        except (ValueError, KeyError, TypeError):
            log.warning("single instance: malformed message ignored")
            socket.abort()
            return
        socket.write(_ACK)
        socket.flush()
        log.info("a later start handed over %d path(s)", len(paths))
        self.paths_received.emit(paths)
        if self._receiver is None:
            self._pending.append(paths)
        else:
            self._receiver(paths)
