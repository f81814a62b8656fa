"""Which services a node accepts: one association proposing Verification and the SOP classes
the workstation will use with it (PS3.8 9.3.2.2: each as its own presentation context), then a
C-ECHO when Verification was accepted (PS3.4 A). Nothing else is sent; the association is
released."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.dicom.sop_classes import VERIFICATION
from app.net.association import Peer, ScuSettings, associated, status_of


@dataclass(frozen=True)
class ContextProbe:
    """The node's answer: the abstract syntaxes it accepted, the C-ECHO status (-1 = none sent or
    none came) and the time the whole exchange took."""

    peer: Peer
    accepted: frozenset[str]
    echo_status: int
    seconds: float

    def accepts(self, abstract_syntax: str) -> bool:
        return abstract_syntax in self.accepted


def probe_contexts(settings: ScuSettings, peer: Peer, abstract_syntaxes: Sequence[str]) -> ContextProbe:
    """Propose Verification and ``abstract_syntaxes`` to ``peer``; C-ECHO if it accepts Verification.

    Raises
    ------
    AssociationError
        When the association fails (refused, rejected, timed out) or none of the contexts is accepted.
    """
    start = time.monotonic()
    wanted = [VERIFICATION, *(uid for uid in abstract_syntaxes if uid != VERIFICATION)]
    with associated(settings, peer, wanted) as assoc:
        accepted = frozenset(str(cx.abstract_syntax) for cx in assoc.accepted_contexts)
        status = status_of(assoc.send_c_echo()) if VERIFICATION in accepted else -1
    return ContextProbe(peer, accepted, status, time.monotonic() - start)
