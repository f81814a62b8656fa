"""The settings' Test buttons: one C-ECHO (PS3.4 A, Verification) to a node or destination; for a
printer, C-ECHO then N-GET Printer (PS3.4 H.4.11.1.1) for its status (NORMAL, WARNING, FAILURE and
its Printer Status Info). The answer is one line for the dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import AppError
from app.net.association import Peer, ScuSettings
from app.net.echo import echo
from app.net.print_scu import printer_status


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


def check_printer(calling_ae_title: str, ae_title: str, host: str, port: int, timeout: float = 10.0) -> CheckResult:
    """C-ECHO, then the printer's status by N-GET Printer; OK when both succeed and it is not FAILURE."""
    echoed = check_connection(calling_ae_title, ae_title, host, port, timeout)
    if not echoed.ok:
        return echoed
    try:
        state, outcome = printer_status(Peer(ae_title, host, port), calling_ae_title, timeout)
    except AppError as exc:
        return CheckResult(False, f"{echoed.message} N-GET Printer failed: {exc}")
    if state is None:
        return CheckResult(False, f"{echoed.message} The printer's status could not be read: {outcome.describe()}")
    return CheckResult(state.status != "FAILURE", f"{echoed.message} {state.describe()}.")
