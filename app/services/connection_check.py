"""The settings' Test buttons: one C-ECHO (PS3.4 A, Verification) to a destination; for a remote
node, one association proposing Verification and the C-FIND of each service it is set to offer
(Study Root FIND, PS3.4 C.4.1; Modality Worklist FIND, PS3.4 K.4.1), the answer saying which the
node accepts; for a printer, C-ECHO then N-GET Printer (PS3.4 H.4.11.1.1) for its status (NORMAL,
WARNING, FAILURE and its Printer Status Info). The answer is one line for the dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import AppError
from app.core.workstation_config import RemoteNode
from app.net.association import Peer, ScuSettings
from app.net.context_probe import probe_contexts
from app.net.echo import EchoResult, echo
from app.net.find import MODALITY_WORKLIST_FIND, STUDY_ROOT_FIND
from app.net.print_scu import printer_status

#: What each service of a node needs, and how the answer names it.
NODE_SERVICES = {"qr": (STUDY_ROOT_FIND, "Study Root FIND", "Query/Retrieve"),
                 "mwl": (MODALITY_WORKLIST_FIND, "Modality Worklist FIND", "Worklist")}


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


def check_node(calling_ae_title: str, node: RemoteNode, timeout: float = 10.0) -> CheckResult:
    """Propose Verification and the FIND of each service of ``node``; OK when every one of those
    FINDs is accepted (and the C-ECHO, when Verification is accepted, succeeds). Never raises."""
    peer = Peer(node.ae_title, node.host, node.port)
    wanted = [NODE_SERVICES[s] for s in node.services if s in NODE_SERVICES]
    try:
        probe = probe_contexts(ScuSettings(calling_ae_title, timeout=timeout), peer, [uid for uid, _, _ in wanted])
    except AppError as exc:
        return CheckResult(False, str(exc))
    except OSError as exc:
        return CheckResult(False, f"{peer} cannot be reached ({exc}); check the host and port.")
    parts = [EchoResult(peer, probe.echo_status, probe.seconds).describe() if probe.echo_status >= 0
             else f"{peer} does not accept C-ECHO (Verification)."]
    ok = probe.echo_status in (-1, 0x0000)
    for uid, name, box in wanted:
        if probe.accepts(uid):
            parts.append(f"{name}: accepted.")
        else:
            ok = False
            parts.append(f"{name}: NOT accepted; the node does not offer it to {calling_ae_title!r} "
                         f"(untick {box} or check the node's configuration).")
    return CheckResult(ok, " ".join(parts))


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
