"""Values of the external archive tier exchanged with :mod:`app.server.index.archive` (no SQLAlchemy)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: States of an archived study (``archive_study.state``).
SENDING, COMMITTING, COMMITTED, SENT, FAILED = "sending", "committing", "committed", "sent", "failed"


@dataclass(frozen=True)
class ArchiveState:
    """Where one study stands with the archive.

    ``state``: ``sending`` (C-STORE job running), ``committing`` (N-ACTION answered, the
    report awaited under ``transaction_uid``), ``committed`` (every referenced instance
    committed), ``sent`` (stored, no commitment asked), ``failed``. ``online`` is False once
    the files were removed; ``online_until`` keeps a fetched-back study online.
    """

    study_instance_uid: str
    state: str
    job_id: int | None
    transaction_uid: str
    requested_at: dt.datetime
    committed_at: dt.datetime | None
    online: bool
    online_until: dt.datetime | None
    removed_at: dt.datetime | None
    last_error: str
    committed_instances: int
    failed_instances: int


@dataclass(frozen=True)
class RemovalCandidate:
    """A committed, online study whose every instance the archive committed to keep."""

    study_instance_uid: str
    last_received_at: dt.datetime
    size: int
    instances: int


@dataclass(frozen=True)
class ReportOutcome:
    """What a storage commitment report changed: the study, and whether all was committed."""

    study_instance_uid: str
    committed: int
    failed: int


class ArchiveStoreProtocol(Protocol):
    """The archive state of the index (:class:`app.server.index.archive.ArchiveStore`)."""

    def begin(self, study_uid: str, job_id: int) -> None: ...

    def get(self, study_uid: str) -> ArchiveState | None: ...

    def set_state(self, study_uid: str, state: str, *, transaction_uid: str | None = None, error: str = "") -> None: ...

    def record_report(
        self, transaction_uid: str, committed: Sequence[str], failed: Sequence[tuple[str, int]]
    ) -> ReportOutcome | None: ...

    def removal_candidates(self, now: dt.datetime) -> list[RemovalCandidate]: ...

    def set_online(self, study_uid: str, online: bool, until: dt.datetime | None = None) -> None: ...

    def take_offline(self, study_uid: str) -> bool: ...

    def offline(self, study_uids: Sequence[str]) -> set[str]: ...

    @property
    def shared(self) -> bool: ...

    def claim_fetch(self, study_uid: str, owner: str, until: dt.datetime) -> bool: ...

    def release_fetch(self, study_uid: str, owner: str) -> None: ...

    def fetch_owner(self, study_uid: str) -> str | None: ...

    def offline_instance(self, sop_instance_uid: str) -> bool: ...
