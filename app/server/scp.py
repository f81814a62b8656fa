"""The server's Storage SCP application entities (PS3.4 B.2, PS3.7 9.1.1, PS3.8 7 and 9.3).

One pynetdicom AE per ``[[server.storage]]`` entry, each with its own AE title and port,
bound on ``config.dicom_host``. Every AE offers:

- Verification (PS3.4 A) with the uncompressed transfer syntaxes only;
- every storage SOP class of :data:`app.dicom.sop_classes.ALL_STORAGE`, with the transfer
  syntaxes of :data:`app.dicom.transfer_syntaxes.STORAGE_PREFERENCE` in that order: for
  each proposed presentation context the acceptor takes the first syntax of this list that
  the requestor proposed (PS3.8 9.3.3.2);
- the Storage Commitment Push Model (PS3.4 J.3) with the uncompressed transfer syntaxes,
  when the server gives a commitment handler (:mod:`app.server.handlers.commitment`).

Association negotiation (PS3.8 9.3.4, Table 9-21):

- a wrong Called AE Title is rejected permanent, source service-user, reason 7 (called
  AE title not recognised);
- with ``restrict_to_known_peers``, a calling AE title + host not in the allow-list is
  rejected permanent, source service-user, reason 3 (calling AE title not recognised;
  :mod:`app.server.access`), checked before the association limit;
- beyond ``config.max_associations`` simultaneous associations on one AE, further ones are
  rejected transient, source service-provider (presentation related function), reason 2
  (local limit exceeded), in arrival order (:class:`Admission`).

Every accepted socket gets ``TCP_NODELAY``: DIMSE is request/response, so Nagle's algorithm
would hold each small response for a delayed ACK of the peer.

C-STORE requests are served by the fast path of :mod:`app.server.fastpath` (installed on
each association when pynetdicom is the pinned version; ``LIGHTBOX_STORE_FASTPATH=0``
turns it off), everything else by pynetdicom's own path and :mod:`app.server.handlers`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from pynetdicom import AE, _config, evt

from app.core.config import ServerConfig
from app.dicom.sop_classes import ALL_STORAGE, VERIFICATION
from app.dicom.transfer_syntaxes import STORAGE_PREFERENCE, UNCOMPRESSED
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.net.listener import NoDelayServer as _NoDelayServer  # TCP_NODELAY + network timeout
from app.server import command_encoding, fastpath
from app.server.access import PeerPolicy
from app.server.commitment import PUSH_MODEL
from app.server.handlers.echo import handle_echo
from app.server.handlers.store import IngestLike, handle_store, store_stream
from app.server.pdu_limits import bound_pdu_reads

LOGGER = logging.getLogger(__name__)

#: How long :meth:`StorageService.stop` lets running associations finish before aborting them.
STOP_GRACE_SECONDS = 10.0

#: Set to ``0`` to serve every C-STORE through pynetdicom's stock path (diagnostics, benchmarks).
FASTPATH_ENV = "LIGHTBOX_STORE_FASTPATH"

#: pynetdicom's own association limit is set this far above ours, as a last resort only.
_PYNETDICOM_LIMIT_SLACK = 64

#: Poll interval of the listening loop (bounds how long ``stop`` waits for it).
_ACCEPT_POLL_SECONDS = 0.2


class Admission:
    """At most ``limit`` simultaneous associations on one AE, admitted in arrival order.

    pynetdicom's own ``maximum_associations`` counts every association thread alive when an
    A-ASSOCIATE-RQ is negotiated, including those still negotiating: a burst of ``limit + 1``
    requests can see all of them rejected. Here each request is admitted or rejected once,
    when it arrives (``EVT_REQUESTED``), against the associations admitted before it that
    are still running. A refused one gets A-ASSOCIATE-RJ rejected-transient, source
    service-provider (presentation related function), reason local-limit-exceeded
    (PS3.8 9.3.4, Table 9-21).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._admitted: set[Any] = set()

    def on_requested(self, event: Any) -> None:
        """``EVT_REQUESTED``: admit the association or reject it (transient, local limit exceeded)."""
        assoc = event.assoc
        if assoc.is_rejected or assoc.is_aborted:
            return  # refused before (calling AE not a known peer)
        request = assoc.requestor.primitive
        called = str(getattr(request, "called_ae_title", "") or "").strip()
        if called != str(assoc.acceptor.ae_title).strip():
            return  # pynetdicom rejects it permanently (called AE title not recognised)
        with self._lock:
            self._admitted = {other for other in self._admitted if other.is_alive()}
            if len(self._admitted) < self.limit:
                self._admitted.add(assoc)
                return
        LOGGER.warning(
            "Association from %s rejected: %d associations already running on %s",
            str(getattr(request, "calling_ae_title", "") or "").strip(),
            self.limit,
            called,
        )
        assoc.acse.send_reject(0x02, 0x03, 0x02)
        evt.trigger(assoc, evt.EVT_REJECTED, {})
        assoc.kill()

    def handlers(self) -> list[Any]:
        """The pynetdicom event bindings that enforce the limit on an AE."""
        return [
            (evt.EVT_REQUESTED, self.on_requested),
            (evt.EVT_RELEASED, self.on_finished),
            (evt.EVT_ABORTED, self.on_finished),
            (evt.EVT_CONN_CLOSE, self.on_finished),
        ]

    def on_finished(self, event: Any) -> None:
        """``EVT_RELEASED`` / ``EVT_ABORTED`` / ``EVT_CONN_CLOSE``: the association no longer counts."""
        with self._lock:
            self._admitted.discard(event.assoc)


def _remove_partial_dataset(event: Any) -> None:
    """On abort or connection close, delete the temporary file of a data set being received.

    pynetdicom writes an incoming C-STORE data set to a temporary file and removes it
    only once the handler ran; a peer abort mid-transfer would leave it behind.
    """
    try:
        message = event.assoc.dimse.message
        fh = getattr(message, "_data_set_file", None) if message is not None else None
        if fh is not None:
            fh.close()
            os.unlink(fh.name)
    except Exception:  # never let cleanup raise into pynetdicom's threads
        pass


def _end_unrequested(event: Any) -> None:
    """``EVT_CONN_CLOSE`` before any A-ASSOCIATE-RQ (a port probe, a peer gone, a refused PDU):
    end the association's thread now.

    pynetdicom's acceptor thread otherwise keeps waiting for the request until the ACSE
    timeout (``network_timeout``), holding a thread and delaying shutdown by that long.
    """
    try:
        assoc = event.assoc
        if assoc.is_acceptor and assoc.requestor.primitive is None:
            assoc.dul.to_user_queue.put(None)  # read as "no request came": the thread ends
    except Exception:  # never let cleanup raise into pynetdicom's threads
        pass


def _configure_pynetdicom() -> None:
    """Process-wide pynetdicom settings of the server (PS3.7 9.3.1 C-STORE receive path)."""
    # The received data set goes to a file as it arrives: never held whole in memory,
    # never decoded by pynetdicom; the handler streams it into the storage area.
    _config.STORE_RECV_CHUNKED_DATASET = True
    # Per-PDU/DIMSE logging handlers cost time on every message: keep them unbound.
    _config.LOG_HANDLER_LEVEL = "none"


def _quiet_identifier_logs() -> None:
    """Stop pynetdicom decoding and pretty-printing every C-FIND/C-GET/C-MOVE request and
    response identifier for a debug log (about a tenth of a pending C-FIND response's cost)."""
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False


class ScpAE(AE):
    """A pynetdicom AE that carries the calling-AE allow-list :func:`serve` enforces."""

    def __init__(self, ae_title: str, peers: PeerPolicy) -> None:
        super().__init__(ae_title=ae_title)
        self.peers = peers


def make_scp_ae(config: ServerConfig, ae_title: str) -> AE:
    """A pynetdicom AE with the policies every SCP of the server shares: our implementation
    identity, the PDU size, the called-AE check, the calling-AE allow-list (host names
    resolved now, :mod:`app.server.access`), the timeouts and Verification (PS3.4 A)."""
    _quiet_identifier_logs()
    command_encoding.install()  # command sets (two pydicom encodes per DIMSE message) written by hand
    ae = ScpAE(ae_title, PeerPolicy.from_config(config, ae_title))
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.maximum_pdu_size = config.max_pdu
    # The limit is enforced by Admission (pynetdicom's own check over-rejects bursts).
    ae.maximum_associations = config.max_associations + _PYNETDICOM_LIMIT_SLACK
    ae.require_called_aet = True
    ae.network_timeout = config.network_timeout
    ae.acse_timeout = config.network_timeout
    ae.dimse_timeout = config.network_timeout
    ae.add_supported_context(VERIFICATION, list(UNCOMPRESSED))
    return ae


def make_ae(config: ServerConfig, ae_title: str, *, commitment: bool = False) -> AE:
    """The pynetdicom AE of one Storage SCP, with its contexts and limits (not yet listening);
    with ``commitment``, also the Storage Commitment Push Model (PS3.4 J.3, uncompressed), where
    a peer may take the SCP role (SCP/SCU Role Selection, PS3.7 D.3.3.4) to send us its report
    (the archive tier, :mod:`app.server.archive_commitment`)."""
    ae = make_scp_ae(config, ae_title)
    preference = list(STORAGE_PREFERENCE)
    for sop_class in ALL_STORAGE:
        ae.add_supported_context(sop_class, preference)
    if commitment:
        ae.add_supported_context(PUSH_MODEL, list(UNCOMPRESSED), scu_role=True, scp_role=True)
    return ae


def serve(
    ae: AE, host: str, port: int, ae_title: str, handlers: list[Any], thread_name: str
) -> tuple[_NoDelayServer, threading.Thread]:
    """Listen for ``ae`` on ``host:port`` in a thread of its own (TCP_NODELAY on every
    accepted socket); the caller stops it with ``server.shutdown()``.

    An AE made by :func:`make_scp_ae` gets its calling-AE allow-list bound first, ahead of
    ``handlers`` (so a refused peer never counts against the association limit). Every AE
    gets the PDU length bound of :mod:`app.server.pdu_limits`.
    """
    if isinstance(ae, ScpAE) and ae.peers.restrict:
        handlers = [(evt.EVT_REQUESTED, ae.peers.on_requested), *handlers]
    handlers = [(evt.EVT_CONN_OPEN, bound_pdu_reads), (evt.EVT_CONN_CLOSE, _end_unrequested), *handlers]
    server = cast(
        _NoDelayServer,
        ae.make_server((host, port), ae_title=ae_title, evt_handlers=handlers, server_class=_NoDelayServer),
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": _ACCEPT_POLL_SECONDS}, name=thread_name, daemon=True
    )
    thread.start()
    ae._servers.append(server)  # as AE.start_server does, so server.shutdown() can deregister it
    return server, thread


def stop_listener(ae: AE, server: _NoDelayServer, thread: threading.Thread, grace: float, what: str) -> None:
    """Stop one AE started by :func:`serve`: stop accepting, let its running associations
    finish for up to ``grace`` seconds, then abort those still running. ``what`` names the
    AE in the log ("the Q/R SCP")."""
    try:
        server.shutdown()  # stops serve_forever and closes the listening socket
    except Exception:
        LOGGER.exception("Could not shut down the listener of %s cleanly", what)
    thread.join(timeout=5.0)
    deadline = time.monotonic() + grace
    while ae.active_associations and time.monotonic() < deadline:
        time.sleep(0.05)
    for assoc in ae.active_associations:
        LOGGER.warning("Aborting an association of %s still running at shutdown", what)
        try:
            assoc.abort()
        except Exception:
            LOGGER.exception("Abort failed")


class StorageService:
    """The Storage SCP AEs of ``lightbox server``.

    Parameters
    ----------
    config
        The server settings: ``storage`` (AE titles and ports), ``dicom_host``,
        ``max_pdu``, ``max_associations``, ``network_timeout``.
    ingest
        The server's ingest (``app.server.context.Ingest``); thread-safe.
    commitment
        The ``EVT_N_ACTION`` handler of the Storage Commitment Push Model SCP
        (``CommitmentService.handle_n_action``); when given, every AE offers that SOP class.
    commitment_reports
        The ``EVT_N_EVENT_REPORT`` handler for the reports of the archive's commitment
        (``CommitmentReports.handle``), or None.
    """

    def __init__(
        self, config: ServerConfig, ingest: IngestLike, *, fast_path: bool | None = None,
        commitment: Callable[[Any], Any] | None = None, commitment_reports: Callable[[Any], Any] | None = None,
    ) -> None:
        self._config = config
        self._ingest = ingest
        self._commitment = commitment
        self._reports = commitment_reports
        if fast_path is None:
            fast_path = os.environ.get(FASTPATH_ENV, "1").strip() not in ("0", "false", "no", "off")
        self._fast_path = fast_path and fastpath.is_supported()
        if fast_path and not self._fast_path:
            LOGGER.warning(
                "pynetdicom %s is not the pinned %s: C-STORE fast path disabled",
                fastpath.pynetdicom.__version__,
                fastpath.PINNED_PYNETDICOM,
            )
        self._servers: list[tuple[AE, _NoDelayServer, threading.Thread]] = []
        self._lock = threading.Lock()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(AE title, bound port) of each running AE."""
        return [(ae.ae_title, int(server.server_address[1])) for ae, server, _ in self._servers]

    def start(self) -> list[tuple[str, int]]:
        """Start listening, one AE per configured entry; non-blocking.

        Returns
        -------
        list of (str, int)
            The AE title and the bound port of each AE (a configured port 0 becomes an
            ephemeral port).
        """
        _configure_pynetdicom()
        with self._lock:
            try:
                for entry in self._config.storage:
                    self._start_one(entry.ae_title, entry.port)
            except BaseException:
                self._stop_locked(grace=0.0)
                raise
            started = self.addresses
        for title, port in started:
            LOGGER.debug("Storage SCP %s listening on %s:%d", title, self._config.dicom_host, port)
        return started

    def _start_one(self, ae_title: str, port: int) -> None:
        ae = make_ae(self._config, ae_title, commitment=self._commitment is not None)
        admission = Admission(self._config.max_associations)
        handlers: list[Any] = [
            *admission.handlers(),
            (evt.EVT_C_ECHO, handle_echo),
            (evt.EVT_C_STORE, handle_store, [self._ingest]),
            (evt.EVT_ABORTED, _remove_partial_dataset),
            (evt.EVT_CONN_CLOSE, _remove_partial_dataset),
        ]
        if self._commitment is not None:
            handlers.append((evt.EVT_N_ACTION, self._commitment))
        if self._reports is not None:
            handlers.append((evt.EVT_N_EVENT_REPORT, self._reports))
        if self._fast_path:
            handlers.append((evt.EVT_CONN_OPEN, self._install_fast_path))
        server, thread = serve(ae, self._config.dicom_host, port, ae_title, handlers, f"StorageSCP-{ae_title}")
        self._servers.append((ae, server, thread))

    def _store(self, stream: Any, **identity: str) -> tuple[int, str]:
        return store_stream(self._ingest, stream, **identity)

    def _install_fast_path(self, event: Any) -> None:
        """``EVT_CONN_OPEN``: runs before the association's threads start."""
        try:
            fastpath.install(event.assoc, self._store)
        except Exception:
            LOGGER.exception("Could not install the C-STORE fast path; using pynetdicom's path")

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop accepting, let running associations finish for up to ``grace`` s, then abort them."""
        with self._lock:
            self._stop_locked(grace)

    def _stop_locked(self, grace: float) -> None:
        servers, self._servers = self._servers, []
        for _ae, server, thread in servers:
            try:
                server.shutdown()  # stops serve_forever and closes the listening socket
            except Exception:
                LOGGER.exception("Could not shut down the listener of %s cleanly", server.ae_title)
            thread.join(timeout=5.0)
        deadline = time.monotonic() + grace
        for ae, _server, _thread in servers:
            while ae.active_associations and time.monotonic() < deadline:
                time.sleep(0.05)
            for assoc in ae.active_associations:
                LOGGER.warning("Aborting an association still running at shutdown (peer %s)", assoc.requestor.ae_title)
                try:
                    assoc.abort()
                except Exception:
                    LOGGER.exception("Abort failed")
