"""Fetch-back: a study whose online copy was removed is asked back from the archive.

A C-MOVE (:mod:`app.server.handlers.move`) or a WADO-RS request (:mod:`app.server.api.wado`)
for a study that is archived but not online first calls :meth:`ArchiveFetcher.ensure_online`.
It asks the archive's Q/R SCP (PS3.4 C.4): a C-FIND at STUDY level (does the archive hold
it?), then a C-MOVE of the study to our own Storage AE, waiting at most
``fetch_timeout_seconds``. The instances come in through the Storage SCP like any other;
while a study is fetched back, its instances replace their offline rows (duplicates policy
``overwrite`` for those SOP Instance UIDs only, :attr:`app.server.context.Ingest.restoring`),
so the catalogue keeps one row per instance. Once every instance row has its file again the
study is online, kept so for ``keep_online_hours``, and (``notify_on_fetch_back``) notified.

Several server processes on one (PostgreSQL) index: a fetch-back is claimed in the index
(:meth:`~app.server.index.archive.ArchiveStore.claim_fetch`: ``archive_study.fetch_owner`` with
an expiry, so a claim of a process that died ends), after the in-process per-study lock. Only
the claimant asks the archive; the others poll the study's row every
:data:`FETCH_POLL_SECONDS` until it is online (at most ``fetch_timeout_seconds``) and then
serve the online copy. The archive sends the instances to the move destination it knows for
our Storage AE title (the first ``[[server.storage]]`` AE), which may be another process:
there, an instance the archive sends (calling AE title one of ``[server.archive]``'s) of a
study that is offline replaces its offline row as well (:meth:`ArchiveFetcher.restoring` asks
the index, on a shared one only and for the archive's instances only: one indexed query), so
no row is duplicated and no instance refused whichever process receives it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
)

from app.core.config import Destination, ServerConfig
from app.core.errors import ServerUnavailableError
from app.server.index.archive_records import ArchiveStoreProtocol
from app.server.index.records import CatalogueProtocol
from app.server.scu import associate

LOGGER = logging.getLogger(__name__)

#: Reason given to the study notifier for a study fetched back.
FETCHED_BACK = "fetched back"
#: How often a process waiting for another one's fetch-back looks at the study's row.
FETCH_POLL_SECONDS = 0.2
#: A claim outlives ``fetch_timeout_seconds`` by this much (then another process may take over).
CLAIM_MARGIN_SECONDS = 60.0
_PENDING = (0xFF00, 0xFF01)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class FetchFailed(ServerUnavailableError):
    """A study is archived and could not be fetched back (HTTP 503; C-MOVE 0xA702)."""


class ArchiveFetcher:
    """Brings archived studies back online (see the module docstring).

    Parameters
    ----------
    config
        ``archive`` settings, ``destinations``, ``storage`` (our Storage AE is the move destination).
    catalogue
        The index.
    store
        The archive state.
    path_of
        Absolute path of a stored file (``Storage.path_of``).
    on_fetched
        Called with the Study Instance UID once a study is back (the notification), or None.
    """

    def __init__(
        self, config: ServerConfig, catalogue: CatalogueProtocol, store: ArchiveStoreProtocol,
        path_of: Callable[[str], Path], on_fetched: Callable[[str], None] | None = None,
    ) -> None:
        self._config = config
        self._settings = config.archive
        self._catalogue = catalogue
        self._store = store
        self._path_of = path_of
        self._on_fetched = on_fetched
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._restoring: set[str] = set()
        settings = config.archive
        self._archive_titles = {t for t in (settings.destination, settings.effective_qr_ae_title,
                                            settings.effective_commitment_ae_title) if t}
        #: Names this process's claims in the index.
        self.owner = f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def restoring(self, sop_instance_uid: str, source_ae: str = "") -> bool:
        """True while ``sop_instance_uid`` is being fetched back (its row is to be replaced):
        by this process, or, on a shared index, when ``source_ae`` is the archive and the
        instance's study is offline (another process's fetch-back has it delivered here)."""
        if sop_instance_uid in self._restoring:
            return True
        return (self._store.shared and source_ae.strip() in self._archive_titles
                and self._store.offline_instance(sop_instance_uid))

    def ensure_online(self, study_uids: Iterable[str]) -> list[str]:
        """Fetch back those of ``study_uids`` that are offline; the ones that came back (by this
        process, or by another one it waited for: their rows changed, read them again).
        Raises :class:`FetchFailed` with what went wrong (never for online studies)."""
        uids = list(dict.fromkeys(study_uids))
        if not uids or not self._settings.enabled:
            return []
        offline = self._store.offline(uids)
        fetched = []
        timeout = self._settings.fetch_timeout_seconds
        for uid in uids:
            if uid not in offline:
                continue
            deadline = time.monotonic() + timeout
            with self._guard:
                lock = self._locks.setdefault(uid, threading.Lock())
            if not lock.acquire(timeout=timeout):
                raise FetchFailed(f"study {uid} is being fetched back from the archive; try again shortly")
            try:
                self._claim_or_wait(uid, deadline)
            finally:
                lock.release()
            fetched.append(uid)
        return fetched

    def _claim_or_wait(self, study_uid: str, deadline: float) -> None:
        """Fetch a study back unless another process does (then wait until it is online)."""
        waiting_for: str | None = None
        while study_uid in self._store.offline([study_uid]):  # another request may have fetched it meanwhile
            until = _utcnow() + dt.timedelta(seconds=self._settings.fetch_timeout_seconds + CLAIM_MARGIN_SECONDS)
            if self._store.claim_fetch(study_uid, self.owner, until):
                try:
                    self._fetch(study_uid)
                finally:
                    self._store.release_fetch(study_uid, self.owner)
                return
            if waiting_for is None:
                waiting_for = self._store.fetch_owner(study_uid) or "another server process"
                LOGGER.info("study %s is being fetched back by %s; waiting for it", study_uid, waiting_for)
            if time.monotonic() >= deadline:
                raise FetchFailed(f"study {study_uid} is being fetched back from the archive by {waiting_for}; "
                                  "try again shortly")
            time.sleep(FETCH_POLL_SECONDS)
        if waiting_for is not None:
            LOGGER.info("study %s was fetched back by %s; serving the online copy", study_uid, waiting_for)

    def _fetch(self, study_uid: str) -> None:
        settings = self._settings
        title = settings.effective_qr_ae_title
        archive = next((d for d in self._config.destinations if d.ae_title == title), None)
        if archive is None:
            raise FetchFailed(f"study {study_uid} is archived but {title!r} is not in [[server.destinations]]")
        rows = self._catalogue.stored_instances(study_uid)
        expected = {r.sop_instance_uid for r in rows}
        LOGGER.info("fetching study %s (%d instances) back from %s", study_uid, len(expected), title)
        started = time.monotonic()
        with self._guard:
            self._restoring.update(expected)
        try:
            self._find_and_move(archive, study_uid, started)
        finally:
            with self._guard:
                self._restoring.difference_update(expected)
        missing = [r.sop_instance_uid for r in self._catalogue.stored_instances(study_uid)
                   if not self._path_of(r.relpath).is_file()]
        if missing:
            raise FetchFailed(f"study {study_uid}: {len(missing)} instance(s) did not come back from {title}")
        until = _utcnow() + dt.timedelta(hours=settings.keep_online_hours)
        self._store.set_online(study_uid, True, until)
        LOGGER.info("study %s fetched back in %.1f s, online until %s", study_uid, time.monotonic() - started, until)
        if self._on_fetched is not None:
            try:
                self._on_fetched(study_uid)
            except Exception:
                LOGGER.exception("fetch-back notification of %s not queued", study_uid)

    def _find_and_move(self, archive: Destination, study_uid: str, started: float) -> None:
        """C-FIND then C-MOVE at STUDY level on one association (PS3.4 C.4.1, C.4.2)."""
        timeout = self._settings.fetch_timeout_seconds
        syntaxes: list[str | UID] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        contexts = [build_context(StudyRootQueryRetrieveInformationModelFind, syntaxes),
                    build_context(StudyRootQueryRetrieveInformationModelMove, syntaxes)]
        name = archive.ae_title
        try:
            assoc = associate(self._config, archive, contexts)
        except Exception as exc:
            raise FetchFailed(f"study {study_uid} is archived; the archive {name} cannot be reached: {exc}") from exc
        if not assoc.is_established:
            raise FetchFailed(f"study {study_uid} is archived; the archive {name} refused the association")
        assoc.dimse_timeout = min(self._config.network_timeout, timeout)
        try:
            query = Dataset()
            query.QueryRetrieveLevel = "STUDY"
            query.StudyInstanceUID = study_uid
            matches = 0
            for status, _found in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
                code = int(status.get("Status", 0xC000)) if status is not None else None
                if code in _PENDING:
                    matches += 1
                elif code != 0x0000:
                    raise FetchFailed(f"study {study_uid}: the archive {name} answered the C-FIND with "
                                      + ("no response" if code is None else f"0x{code:04X}"))
            if not matches:
                raise FetchFailed(f"study {study_uid} is archived but the archive {name} does not find it")
            ident = Dataset()
            ident.QueryRetrieveLevel = "STUDY"
            ident.StudyInstanceUID = study_uid
            ours = self._config.storage[0].ae_title
            final: int | None = None
            for status, _ident in assoc.send_c_move(ident, ours, StudyRootQueryRetrieveInformationModelMove):
                code = int(status.get("Status", 0xC000)) if status is not None else None
                if time.monotonic() - started > timeout:
                    assoc.abort()
                    raise FetchFailed(f"study {study_uid}: no fetch-back from {name} within {timeout:.0f} s")
                if code not in _PENDING:
                    final = code
            if final is None or not (final == 0x0000 or 0xB000 <= final <= 0xBFFF):
                raise FetchFailed(f"study {study_uid}: the archive {name} answered the C-MOVE to {ours} with "
                                  + ("no response" if final is None else f"0x{final:04X}"))
        finally:
            if assoc.is_established:
                assoc.release()
