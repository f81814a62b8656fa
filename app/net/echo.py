"""C-ECHO: verify the communication with a remote node (PS3.4 A, PS3.7 9.1.5)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.dicom.sop_classes import VERIFICATION
from app.net.association import AssociationError, Peer, ScuSettings, associated, status_of


@dataclass(frozen=True)
class EchoResult:
    """The answer to a C-ECHO: its status (0x0000 = success; -1 = none came) and round-trip time."""

    peer: Peer
    status: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 0x0000

    def describe(self) -> str:
        """One line for the user: "Success (0x0000) from AE@host:port in 12 ms"."""
        if self.status < 0:
            return f"No C-ECHO response from {self.peer} within the timeout."
        word = "Success" if self.ok else "Failure"
        return f"{word} (0x{self.status:04X}) from {self.peer} in {self.seconds * 1000:.0f} ms."


def echo(settings: ScuSettings, peer: Peer) -> EchoResult:
    """Associate with ``peer``, send one C-ECHO-RQ, release.

    Raises
    ------
    AssociationError
        When the association fails (refused, rejected with its reason, timed out).
    """
    start = time.monotonic()
    with associated(settings, peer, [VERIFICATION]) as assoc:
        status = assoc.send_c_echo()
        if not assoc.is_established and status is None:
            raise AssociationError("aborted", f"{peer} aborted the association during the C-ECHO.")
    return EchoResult(peer, status_of(status), time.monotonic() - start)
