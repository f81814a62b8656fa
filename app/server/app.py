"""Wiring of ``lightbox server``: storage area, index, ingest, Storage SCP AEs, Q/R SCP AE, HTTP API.

The index is opened through a factory passed in by the entry point
(:mod:`app.server.__main__`), so that this module does not depend on the database
library (the SQLAlchemy contract of DESIGN.md section 2).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app import __version__
from app.core.config import ServerConfig
from app.core.errors import ServerUnavailableError
from app.server.api import DEFAULT_MAX_REQUEST_BYTES, ApiContext, create_app
from app.server.api.runner import HttpServer
from app.server.archive import ARCHIVE_KIND, ArchiveTier
from app.server.context import Ingest
from app.server.handlers.commitment import JOB_KIND as COMMITMENT_KIND
from app.server.handlers.commitment import CommitmentService
from app.server.index.admin_records import (
    ChangeLogProtocol,
    CorrectionStoreProtocol,
    DeletionStoreProtocol,
    StudyStatusStoreProtocol,
)
from app.server.index.archive_records import ArchiveStoreProtocol
from app.server.index.job_records import JobStoreProtocol
from app.server.index.mpps_records import MppsStoreProtocol
from app.server.index.records import CatalogueProtocol
from app.server.index.worklist_records import WorklistStoreProtocol
from app.server.jobs import JobRunner
from app.server.mpps import MppsService
from app.server.mpps_relay import RELAY_KIND, MppsRelay
from app.server.mwl import WorklistService
from app.server.notify import NOTIFY_KIND, NotificationSender, StudyNotifier
from app.server.qr import QueryRetrieveService
from app.server.scp import StorageService
from app.server.send import StudySender
from app.server.send_requests import SEND_KIND, SendRequests
from app.server.stable_study import StabilityStoreProtocol, StableStudyWatch
from app.server.storage import Storage
from app.server.study_events import StudyEvents

LOGGER = logging.getLogger(__name__)

#: Prefix of the one line printed on stdout once the server accepts requests.
READY_PREFIX = "LIGHTBOX-READY "



class IndexStoresProtocol(Protocol):
    """The stores of the index (:class:`app.server.index.stores.IndexStores`)."""

    @property
    def catalogue(self) -> CatalogueProtocol: ...

    @property
    def jobs(self) -> JobStoreProtocol: ...

    @property
    def worklist(self) -> WorklistStoreProtocol: ...

    @property
    def mpps(self) -> MppsStoreProtocol: ...

    @property
    def study_status(self) -> StudyStatusStoreProtocol: ...

    @property
    def changes(self) -> ChangeLogProtocol: ...

    @property
    def corrections(self) -> CorrectionStoreProtocol: ...

    @property
    def stability(self) -> StabilityStoreProtocol: ...

    @property
    def deletions(self) -> DeletionStoreProtocol: ...

    @property
    def archive(self) -> ArchiveStoreProtocol: ...

    def close(self) -> None: ...


IndexOpener = Callable[[ServerConfig], IndexStoresProtocol]


def _listening(
    start: Callable[[], tuple[str, int]], cfg: ServerConfig, what: str, title: str, port: int, table: str
) -> tuple[str, int]:
    """Start one SCP AE service; a port that cannot be bound becomes a clear error naming the table."""
    try:
        address = start()
    except OSError as exc:
        raise ServerUnavailableError(
            f"cannot listen for DICOM on {cfg.dicom_host} ({title}:{port}): {exc.strerror or exc}; "
            f"choose another port in {table}"
        ) from exc
    LOGGER.info("%s %s listening on %s port %d", what, address[0], cfg.dicom_host, address[1])
    return address


@dataclass
class Server:
    """One server process's parts, started and stopped in order.

    Parameters
    ----------
    config
        The server settings.
    open_index
        Opens the index (runs the migrations) for ``config``.
    max_request_bytes
        Bound of an HTTP request body (STOW-RS).
    """

    config: ServerConfig
    open_index: IndexOpener
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    storage_addresses: list[tuple[str, int]] = field(default_factory=list, init=False)
    qr_address: tuple[str, int] | None = field(default=None, init=False)
    mwl_address: tuple[str, int] | None = field(default=None, init=False)
    #: Listeners of approvals, deletions and corrections (subscribe before or in :meth:`start`).
    study_events: StudyEvents = field(default_factory=StudyEvents, init=False, repr=False)
    _index: IndexStoresProtocol | None = field(default=None, init=False, repr=False)
    _jobs: JobRunner | None = field(default=None, init=False, repr=False)
    _stable: StableStudyWatch | None = field(default=None, init=False, repr=False)
    _archive: ArchiveTier | None = field(default=None, init=False, repr=False)
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)
    _storage: Storage | None = field(default=None, init=False, repr=False)
    _scp: StorageService | None = field(default=None, init=False, repr=False)
    _qr: QueryRetrieveService | None = field(default=None, init=False, repr=False)
    _mwl: WorklistService | None = field(default=None, init=False, repr=False)
    _http: HttpServer | None = field(default=None, init=False, repr=False)

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API (after :meth:`start`)."""
        return self._http.url if self._http else ""

    def start(self) -> None:
        """Open the storage area and the index, start the Storage SCP AEs and the HTTP API."""
        cfg = self.config
        self._storage = Storage(cfg.data_dir / "storage", fsync=cfg.fsync, sync_directories=cfg.sync_directories)
        self._storage.remove_leftovers()
        self._index = index = self.open_index(cfg)
        catalogue = index.catalogue
        ingest = Ingest(cfg, self._storage, catalogue)
        try:
            self._jobs = JobRunner(index.jobs, retry_seconds=cfg.job_retry_seconds)
            sender = StudySender(cfg, catalogue, self._storage.path_of, index.corrections.catalogue_values)
            notifier = StudyNotifier(cfg, catalogue, index.jobs, self._jobs.wake)
            archive = self._archive = ArchiveTier(
                cfg, catalogue, index.archive, index.jobs, self._storage, self._jobs.wake, sender,
                notifier.study_online, self.study_events,
            ) if cfg.archive.enabled else None
            if archive is not None:
                ingest.restoring = archive.fetcher.restoring
                self._jobs.register(ARCHIVE_KIND, archive.archiver)
            commitment = CommitmentService(cfg, catalogue, index.jobs, self._storage.path_of, self._jobs.wake)
            self._jobs.register(COMMITMENT_KIND, commitment.report)
            self._scp = StorageService(cfg, ingest, commitment=commitment.handle_n_action,
                                       commitment_reports=archive.reports.handle if archive is not None else None)
            try:
                self.storage_addresses = self._scp.start()
            except OSError as exc:
                ports = ", ".join(f"{ae.ae_title}:{ae.port}" for ae in cfg.storage)
                raise ServerUnavailableError(
                    f"cannot listen for DICOM on {cfg.dicom_host} ({ports}): {exc.strerror or exc}; "
                    "choose other ports in [[server.storage]]"
                ) from exc
            for title, port in self.storage_addresses:
                LOGGER.info("Storage SCP %s listening on %s port %d", title, cfg.dicom_host, port)
            self._jobs.register(RELAY_KIND, MppsRelay(cfg, index.jobs))
            mpps = MppsService(cfg, index.mpps, self._jobs.wake)
            self._qr = QueryRetrieveService(
                cfg, catalogue, self._storage.path_of, mpps, values_of=index.corrections.catalogue_values,
                ensure_online=archive.fetcher.ensure_online if archive is not None else None,
            )
            self.qr_address = _listening(self._qr.start, cfg, "Q/R SCP", cfg.qr.ae_title, cfg.qr.port, "[server.qr]")
            self._mwl = WorklistService(cfg, index.worklist)
            self.mwl_address = _listening(
                self._mwl.start, cfg, "MWL SCP", cfg.mwl.ae_title, cfg.mwl.port, "[server.mwl]"
            )
            self._jobs.register(SEND_KIND, sender)
            sends = SendRequests(cfg, catalogue, index.jobs, self._jobs.wake)
            self._unsubscribe = notifier.subscribe(self.study_events)
            self._jobs.register(NOTIFY_KIND, NotificationSender(cfg))
            self._jobs.start()
            if archive is not None:
                archive.purge.start()
            if cfg.notify.stable_seconds > 0:
                self._stable = StableStudyWatch(cfg.notify.stable_seconds, index.stability, notifier)
                self._stable.start()
            ctx = ApiContext(catalogue, self._storage, ingest, __version__, self.max_request_bytes,
                             mpps=index.mpps, jobs=index.jobs, worklist=index.worklist, sends=sends,
                             study_status=index.study_status, changes=index.changes,
                             corrections=index.corrections, deletions=index.deletions,
                             study_events=self.study_events, destinations=cfg.destinations, archive=archive)
            self._http = HttpServer(create_app(ctx), cfg.http_host, cfg.http_port)
            self._http.start()
            LOGGER.info("HTTP API (DICOMweb at /dicom-web, admin at /api) on %s", self._http.url)
        except BaseException:
            self.stop()
            raise

    def ready_line(self) -> str:
        """The ``LIGHTBOX-READY {json}`` line the workstation and the tests wait for."""
        info: dict[str, Any] = {
            "http_url": self.http_url,
            "storage": [{"ae_title": title, "port": port} for title, port in self.storage_addresses],
        }
        if self.qr_address is not None:
            info["qr"] = {"ae_title": self.qr_address[0], "port": self.qr_address[1]}
        if self.mwl_address is not None:
            info["mwl"] = {"ae_title": self.mwl_address[0], "port": self.mwl_address[1]}
        return READY_PREFIX + json.dumps(info)

    def stop(self) -> None:
        """Stop DICOM (let running stores finish), then HTTP, then close the index."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._stable is not None:
            self._stable.stop()
            self._stable = None
        if self._archive is not None:
            self._archive.purge.stop()
            self._archive = None
        if self._scp is not None:
            try:
                self._scp.stop()
            except Exception:
                LOGGER.exception("the Storage SCP did not stop cleanly")
            self._scp = None
        if self._qr is not None:
            try:
                self._qr.stop()
            except Exception:
                LOGGER.exception("the Q/R SCP did not stop cleanly")
            self._qr = None
        if self._mwl is not None:
            try:
                self._mwl.stop()
            except Exception:
                LOGGER.exception("the MWL SCP did not stop cleanly")
            self._mwl = None
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._jobs is not None:
            self._jobs.stop()
            self._jobs = None
        if self._index is not None:
            self._index.close()
            self._index = None
        if self._storage is not None:
            self._storage.remove_leftovers()
            self._storage.close()
            self._storage = None


def run(config: ServerConfig, open_index: IndexOpener, *, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> int:
    """Start the server, print the ready line, serve until SIGINT/SIGTERM, stop; returns 0."""
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        LOGGER.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = Server(config, open_index, max_request_bytes)
    try:
        server.start()
        sys.stdout.write(server.ready_line() + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    LOGGER.info("server stopped")
    return 0
