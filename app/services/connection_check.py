"""The settings' Test buttons: one C-ECHO (PS3.4 A, Verification) to a node, printer or destination.

Printers are tested with C-ECHO too (a Print SCP supports Verification, PS3.4 H.4.1 leaves the
printer's N-GET to a print session); the answer is one line for the dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import AppError
from app.net.association import Peer, ScuSettings
from app.net.echo import echo


@dataclass(frozen=True)
class CheckResult:
    """Whether the peer answered C-ECHO with success, and the line to show."""

    ok: bool
    message: str


def check_connection(calling_ae_title: str, ae_title: str, host: str, port: int, timeout: float = 10.0) -> CheckResult:
    """C-ECHO from ``calling_ae_title`` to ``ae_title@host:port``; never raises (the failure is the message)."""
    try:
        result = echo(ScuSettings(calling_ae_title, timeout=timeout), Peer(ae_title, host, port))
    except AppError as exc:
        return CheckResult(False, str(exc))
    except OSError as exc:  # name resolution and the like, before an association exists
        return CheckResult(False, f"{ae_title}@{host}:{port} cannot be reached ({exc}); check the host and port.")
    return CheckResult(result.ok, result.describe())
