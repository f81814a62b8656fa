"""The removal policy of the archive tier: which online copies go (the reference's 5.3).

Only a *committed* study may lose its online copy: every instance row of it must have a SOP
Instance UID the archive committed to keep (a study that received new instances since, or was
archived without commitment, stays). Among those, and not held online by a recent fetch-back:

- with ``remove_after_days``, the studies whose newest instance was received that long ago
  (instances fetched back count as received when they came back);
- with ``min_free_gib``, while the storage area has less free space, the oldest others too.

A removed study is marked offline first (by one conditional update: of several server
processes on one index running the policy at once, one removes it and tells), then its files
are deleted: its catalogue rows stay (C-FIND and QIDO still find it; C-MOVE and WADO-RS fetch
it back). Then ``on_removed`` is told (:meth:`app.server.study_events.StudyEvents.offline`:
the reference's 4.6 notification event "the last on-line copy of an exam is deleted", sent
when ``[server.notify] on_offline``). ``dry_run`` lists only. The policy runs every
``purge_interval_seconds`` and on ``POST /api/archive/purge``.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.archive_config import ArchiveSettings
from app.server.index.archive_records import ArchiveStoreProtocol, RemovalCandidate
from app.server.index.records import CatalogueProtocol, StoredInstance

LOGGER = logging.getLogger(__name__)

GIB = 1024**3


@dataclass(frozen=True)
class PurgeReport:
    """What one run of the policy removed (or, in a dry run, would remove)."""

    dry_run: bool
    studies: tuple[dict[str, Any], ...]
    free_bytes: int

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "studies": list(self.studies), "free_bytes": self.free_bytes}


class ArchivePurge:
    """Applies the removal policy.

    Parameters
    ----------
    settings
        ``[server.archive]``.
    store
        The archive state.
    catalogue
        The index (the instance rows whose files go).
    storage_root
        The storage area (its free space).
    delete
        Deletes one stored file by relpath (``Storage.delete``).
    free_bytes
        Free bytes of a folder (``shutil.disk_usage(...).free`` by default).
    on_removed
        Called with the Study Instance UID, its removed instances ``(series UID, SOP Class
        UID, SOP Instance UID)`` and why, after a study's online copy was removed
        (``StudyEvents.offline``); None: nobody is told.
    """

    def __init__(
        self, settings: ArchiveSettings, store: ArchiveStoreProtocol, catalogue: CatalogueProtocol,
        storage_root: Path, delete: Callable[[str], bool], free_bytes: Callable[[Path], int] | None = None,
        on_removed: Callable[[str, tuple[tuple[str, str, str], ...], str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._catalogue = catalogue
        self._root = storage_root
        self._delete = delete
        self._free = free_bytes or (lambda path: shutil.disk_usage(path).free)
        self._on_removed = on_removed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def chosen(self, now: dt.datetime) -> tuple[list[tuple[RemovalCandidate, str]], int]:
        """The studies the policy removes now, each with why; and the free bytes."""
        settings = self._settings
        candidates = self._store.removal_candidates(now)
        free = self._free(self._root)
        chosen: list[tuple[RemovalCandidate, str]] = []
        rest: list[RemovalCandidate] = []
        cutoff = now - dt.timedelta(days=settings.remove_after_days)
        for c in candidates:
            if settings.remove_after_days > 0 and c.last_received_at <= cutoff:
                chosen.append((c, f"received more than {settings.remove_after_days:g} days ago"))
            else:
                rest.append(c)
        if settings.min_free_gib > 0:
            gained = sum(c.size for c, _why in chosen)
            for c in rest:  # oldest first
                if free + gained >= settings.min_free_gib * GIB:
                    break
                chosen.append((c, f"less than {settings.min_free_gib:g} GiB free"))
                gained += c.size
        return chosen, free

    def run(self, dry_run: bool | None = None) -> PurgeReport:
        """Apply the policy once (``dry_run`` None: the configured one)."""
        dry = self._settings.dry_run if dry_run is None else dry_run
        with self._lock:
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            chosen, free = self.chosen(now)
            listed = []
            for c, why in chosen:
                listed.append({"study_instance_uid": c.study_instance_uid, "instances": c.instances, "size": c.size,
                               "last_received_at": c.last_received_at.isoformat(), "why": why})
                if dry:
                    continue
                if not self._store.take_offline(c.study_instance_uid):
                    listed.pop()  # another process on this index removed it meanwhile (and told)
                    continue
                files = self._catalogue.stored_instances(c.study_instance_uid)
                for f in files:
                    self._delete(f.relpath)
                LOGGER.info("online copy of archived study %s removed (%d files, %s)", c.study_instance_uid,
                            len(files), why)
                self._removed(c.study_instance_uid, files, why)
        if dry and listed:
            LOGGER.info("archive policy dry run: %d studies would be removed", len(listed))
        return PurgeReport(dry, tuple(listed), free)

    def _removed(self, study_uid: str, files: list[StoredInstance], why: str) -> None:
        if self._on_removed is None:
            return
        instances = tuple((f.series_instance_uid, f.sop_class_uid, f.sop_instance_uid) for f in files)
        try:
            self._on_removed(study_uid, instances, why)
        except Exception:  # the removal is done; a listener must not undo the run
            LOGGER.exception("the removal of the online copy of %s was not told to its listeners", study_uid)

    def start(self) -> None:
        """Run the policy every ``purge_interval_seconds`` on a thread (not when 0)."""
        interval = self._settings.purge_interval_seconds
        if interval <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.run()
                except Exception:
                    LOGGER.exception("the archive removal policy failed; it runs again in %.0f s", interval)

        self._thread = threading.Thread(target=loop, name="ArchivePurge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
