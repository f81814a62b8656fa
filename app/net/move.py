"""C-MOVE as SCU: Study Root Query/Retrieve (PS3.4 C.4.2) of studies or series.

The pending responses carry the sub-operation counts (completed, remaining, failed,
warning; PS3.4 C.4.2.1.4.2); each is handed to ``on_progress``. A cancel token, when set
while the request is outstanding, sends C-CANCEL-RQ; the peer then ends with status
0xFE00 and the counts so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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

STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"

_MSG_ID = 1
#: At most this many Failed SOP Instance UIDs are kept from a final response.
_MAX_FAILED_UIDS = 1000


@dataclass(frozen=True)
class MoveProgress:
    """Sub-operation counts of one response (-1 when the peer left a count out)."""

    completed: int
    remaining: int
    failed: int
    warning: int

    @property
    def total(self) -> int:
        return max(self.completed, 0) + max(self.remaining, 0) + max(self.failed, 0) + max(self.warning, 0)


@dataclass(frozen=True)
class MoveResult:
    """Outcome of one C-MOVE: final status (-1 = none came), counts, Error Comment, time, and
    the Failed SOP Instance UID List (0008,0058) of the final response."""

    peer: Peer
    destination: str
    status: int
    counts: MoveProgress
    error_comment: str = ""
    seconds: float = 0.0
    cancelled: bool = False
    failed_instances: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every sub-operation completed (status success, nothing failed)."""
        return self.status == 0x0000 and self.counts.failed <= 0

    def describe(self) -> str:
        """One line: the counts and the final status."""
        c = self.counts
        counts = f"{max(c.completed, 0)} completed, {max(c.failed, 0)} failed, {max(c.warning, 0)} warning"
        if self.status == 0x0000:
            head = "Success"
        elif self.status == 0xFE00:
            head = "Cancelled"
        elif self.status < 0:
            head = "No final response"
        elif 0xB000 <= self.status <= 0xBFFF:
            head = f"Warning 0x{self.status:04X} (some sub-operations failed)"
        else:
            head = f"Failure 0x{self.status:04X}"
        comment = f": {self.error_comment}" if self.error_comment else ""
        return f"{head}{comment}; {counts} (to {self.destination} in {self.seconds:.1f} s)"


def _count(status: Dataset, keyword: str) -> int:
    value = status.get(keyword)
    try:
        return int(value) if value is not None and value != "" else -1
    except (TypeError, ValueError):
        return -1


def progress_of(status: Dataset) -> MoveProgress:
    """The sub-operation counts of a C-MOVE response."""
    return MoveProgress(
        completed=_count(status, "NumberOfCompletedSuboperations"),
        remaining=_count(status, "NumberOfRemainingSuboperations"),
        failed=_count(status, "NumberOfFailedSuboperations"),
        warning=_count(status, "NumberOfWarningSuboperations"),
    )


def move_identifier(study_uid: str, series_uids: Sequence[str] = ()) -> Dataset:
    """The C-MOVE identifier of a study, or of some of its series (PS3.4 C.4.2.2.1)."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES" if series_uids else "STUDY"
    ds.StudyInstanceUID = study_uid
    if series_uids:
        ds.SeriesInstanceUID = list(series_uids) if len(series_uids) > 1 else series_uids[0]
    return ds


def move(
    settings: ScuSettings,
    peer: Peer,
    identifier: Dataset,
    destination: str,
    *,
    cancel: Cancellable | None = None,
    on_progress: Callable[[MoveProgress], None] | None = None,
) -> MoveResult:
    """Ask ``peer`` to send what ``identifier`` names to the AE ``destination``.

    Raises
    ------
    AssociationError
        Only when the association cannot be established or breaks before any response.
    """
    start = time.monotonic()
    last: Dataset | None = None
    failed_uids: tuple[str, ...] = ()
    with cancellable_request(settings, peer, STUDY_ROOT_MOVE, _MSG_ID, cancel) as (assoc, watch):
        for status, found in assoc.send_c_move(identifier, destination, STUDY_ROOT_MOVE, msg_id=_MSG_ID):
            if status is None or "Status" not in status:
                break
            last = status
            if status_of(status) in (0xFF00, 0xFF01):
                if on_progress is not None:
                    on_progress(progress_of(status))
            elif found is not None and "FailedSOPInstanceUIDList" in found:
                value = found.FailedSOPInstanceUIDList
                uids = [value] if isinstance(value, str) else list(value or [])
                failed_uids = tuple(str(u) for u in uids[:_MAX_FAILED_UIDS])
    cancelled = watch.sent
    if last is None:
        raise AssociationError("aborted", f"{peer} sent no C-MOVE response (association aborted or timed out).")
    final = status_of(last)
    counts = progress_of(last)
    if final in (0xFF00, 0xFF01):  # the association broke after a pending response
        final = -1
    return MoveResult(
        peer=peer,
        destination=destination,
        status=final,
        counts=counts,
        error_comment=error_comment_of(last),
        seconds=time.monotonic() - start,
        cancelled=cancelled,
        failed_instances=failed_uids,
    )
