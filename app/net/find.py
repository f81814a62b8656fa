"""C-FIND as SCU: Study Root Query/Retrieve (PS3.4 C.4.1) at study, series or image level,
and Modality Worklist (PS3.4 K.4.1).

One request per association, one association at a time (reference 3.2.1.2). A cancel
token, when set while the request is outstanding, sends C-CANCEL-RQ (PS3.7 9.3.2.3); the
matches received until the peer's final response are kept. The number of matches kept is
bounded (``max_matches``): beyond it the request is cancelled, so a peer cannot fill memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.dataset import Dataset

from app.net.association import (
    AssociationError,
    Cancellable,
    Peer,
    ScuSettings,
    cancellable_request,
    error_comment_of,
    status_of,
)

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"

PENDING = (0xFF00, 0xFF01)
CANCELLED = 0xFE00
#: Default bound of the matches one C-FIND may bring back.
MAX_MATCHES = 10000

_MSG_ID = 1


@dataclass(frozen=True)
class FindResult:
    """Outcome of one C-FIND: final status (-1 = none came), matches, Error Comment, time.

    ``cancelled`` is true when a C-CANCEL was sent (by the user or because ``max_matches``
    was reached); ``truncated`` when matches beyond ``max_matches`` were dropped.
    """

    peer: Peer
    status: int
    matches: tuple[Dataset, ...]
    error_comment: str = ""
    seconds: float = 0.0
    cancelled: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Success, or the cancel the user asked for."""
        return self.status == 0x0000 or (self.cancelled and self.status == CANCELLED)

    def describe(self) -> str:
        """One line: the count and time, or the failure with its Error Comment."""
        count = len(self.matches)
        if self.status == 0x0000:
            return f"{count} match{'es' if count != 1 else ''} in {self.seconds:.2f} s"
        if self.status == CANCELLED or self.cancelled:
            more = " (limit reached)" if self.truncated else ""
            return f"cancelled after {count} match{'es' if count != 1 else ''}{more}"
        if self.status < 0:
            return "no final response (association lost or timed out)"
        comment = f": {self.error_comment}" if self.error_comment else ""
        kind = "warning" if self.status in (0x0001,) or 0xB000 <= self.status <= 0xBFFF else "failure"
        return f"{kind} 0x{self.status:04X}{comment}"


def find(
    settings: ScuSettings,
    peer: Peer,
    identifier: Dataset,
    *,
    model: str = STUDY_ROOT_FIND,
    cancel: Cancellable | None = None,
    on_match: Callable[[Dataset], None] | None = None,
    max_matches: int = MAX_MATCHES,
) -> FindResult:
    """Send one C-FIND-RQ with ``identifier`` to ``peer`` and collect the pending matches.

    Parameters
    ----------
    model
        :data:`STUDY_ROOT_FIND` or :data:`MODALITY_WORKLIST_FIND`.
    cancel
        When set during the request, a C-CANCEL-RQ is sent.
    on_match
        Called with each match as it arrives (progress).
    max_matches
        Matches kept at most; the request is cancelled beyond.

    Raises
    ------
    AssociationError
        Only when the association cannot be established.
    """
    start = time.monotonic()
    matches: list[Dataset] = []
    truncated = False
    last: Dataset | None = None
    limit = _Limit(cancel)
    with cancellable_request(settings, peer, model, _MSG_ID, limit) as (assoc, watch):
        for status, found in assoc.send_c_find(identifier, model, msg_id=_MSG_ID):
            last = status
            if status_of(status) in PENDING:
                if found is None:
                    continue
                if len(matches) >= max_matches:
                    truncated = True
                    limit.reached = True
                    continue
                matches.append(found)
                if on_match is not None:
                    on_match(found)
    cancelled = watch.sent
    if last is None and not cancelled:
        raise AssociationError("aborted", f"{peer} sent no C-FIND response (association aborted or timed out).")
    return FindResult(
        peer=peer,
        status=status_of(last),
        matches=tuple(matches),
        error_comment=error_comment_of(last),
        seconds=time.monotonic() - start,
        cancelled=cancelled,
        truncated=truncated,
    )


class _Limit:
    """The user's cancel token, or the match bound reached."""

    def __init__(self, cancel: Cancellable | None) -> None:
        self.reached = False
        self._cancel = cancel

    @property
    def cancelled(self) -> bool:
        return self.reached or (self._cancel is not None and self._cancel.cancelled)
