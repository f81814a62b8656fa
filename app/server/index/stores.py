"""Everything the server keeps in its index, opened together on one engine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from app.server.index import engine as engine_mod
from app.server.index.archive import ArchiveStore
from app.server.index.catalogue import Catalogue
from app.server.index.changes import ChangeLog
from app.server.index.corrections import CorrectionStore
from app.server.index.deletion import DeletionStore
from app.server.index.jobs import JobStore
from app.server.index.mpps import MppsStore
from app.server.index.stability import StabilityStore
from app.server.index.study_status import StudyStatusStore
from app.server.index.worklist import WorklistStore


@dataclass
class IndexStores:
    """The stores of one index: the catalogue of stored instances, the durable jobs, ..."""

    engine: Engine
    catalogue: Catalogue
    jobs: JobStore
    worklist: WorklistStore
    mpps: MppsStore
    study_status: StudyStatusStore
    changes: ChangeLog
    corrections: CorrectionStore
    deletions: DeletionStore
    stability: StabilityStore
    archive: ArchiveStore

    def close(self) -> None:
        """Close the index (release this process's running-job locks, checkpoint the SQLite
        WAL, close pooled connections)."""
        self.jobs.release_all()
        engine_mod.close_engine(self.engine)


def open_index(
    url: str, *, busy_timeout_ms: int = engine_mod.DEFAULT_BUSY_TIMEOUT_MS, synchronous_full: bool = False
) -> IndexStores:
    """Create the engine, bring the schema up to date (``alembic upgrade head``), open the stores."""
    engine = engine_mod.open_engine(url, busy_timeout_ms=busy_timeout_ms, synchronous_full=synchronous_full)
    return IndexStores(
        engine, Catalogue(engine), JobStore(engine), WorklistStore(engine), MppsStore(engine),
        StudyStatusStore(engine), ChangeLog(engine), CorrectionStore(engine), DeletionStore(engine),
        StabilityStore(engine), ArchiveStore(engine),
    )
