"""What the HTTP API needs from the rest of the server, passed in by the wiring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.core.config import Destination
from app.server.context import Ingest
from app.server.index.admin_records import (
    ChangeLogProtocol,
    CorrectionStoreProtocol,
    DeletionStoreProtocol,
    StudyStatusStoreProtocol,
)
from app.server.index.job_records import JobStoreProtocol
from app.server.index.mpps_records import MppsStoreProtocol
from app.server.index.records import CatalogueProtocol
from app.server.index.worklist_records import WorklistStoreProtocol
from app.server.send_requests import SendRequests
from app.server.storage import Storage
from app.server.study_events import StudyEvents

if TYPE_CHECKING:
    from app.server.archive import ArchiveTier

#: Default bound of a request body read from the network (STOW-RS): 2 GiB.
DEFAULT_MAX_REQUEST_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class ApiContext:
    """The server parts the routes use; one per application."""

    catalogue: CatalogueProtocol
    storage: Storage
    ingest: Ingest
    version: str
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    mpps: MppsStoreProtocol | None = None
    jobs: JobStoreProtocol | None = None
    worklist: WorklistStoreProtocol | None = None
    sends: SendRequests | None = None
    study_status: StudyStatusStoreProtocol | None = None
    changes: ChangeLogProtocol | None = None
    corrections: CorrectionStoreProtocol | None = None
    deletions: DeletionStoreProtocol | None = None
    study_events: StudyEvents | None = None
    destinations: tuple[Destination, ...] = ()
    archive: ArchiveTier | None = None
