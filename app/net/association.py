"""The workstation's SCU associations (the Q/R-MWL SCU of the reference's section 3.2).

One association at a time, no asynchronous operations window (PS3.7 D.3.3.3), the maximum
PDU length from the settings (16384 by default, reference 3.2.1.1), Lightbox's own
Implementation Class UID and Version Name (PS3.7 D.3.3.2).

Every failure to associate becomes an :class:`AssociationError` whose message says what
happened, in the words of PS3.8 9.3.4 (A-ASSOCIATE-RJ result, source and reason), and what
to check: connection refused, rejected (with the reason), timed out, aborted, or no
presentation context accepted.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu import A_ASSOCIATE_RJ
from pynetdicom.presentation import build_context

from app.core.errors import AppError
from app.dicom.transfer_syntaxes import UNCOMPRESSED
from app.dicom.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from app.net.pdu_limits import bound_pdu_reads

LOGGER = logging.getLogger(__name__)


class Cancellable(Protocol):
    """What the operations need of a cancel token (``app.services.cancel.CancelToken`` fits)."""

    @property
    def cancelled(self) -> bool: ...


@dataclass(frozen=True)
class Peer:
    """A remote application entity: its AE title, host and port."""

    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


@dataclass(frozen=True)
class ScuSettings:
    """How the workstation calls: its AE title, largest PDU it accepts, network timeout (s)."""

    calling_ae_title: str
    max_pdu: int = 16384
    timeout: float = 30.0


class AssociationError(AppError):
    """An association could not be established or broke down.

    ``kind`` is one of ``"refused"``, ``"rejected"``, ``"timed out"``, ``"aborted"``,
    ``"no context"``; the message carries the detail and what to check.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def make_ae(settings: ScuSettings) -> AE:
    """A pynetdicom AE calling as ``settings.calling_ae_title`` with our implementation identity."""
    ae = AE(ae_title=settings.calling_ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.maximum_pdu_size = settings.max_pdu
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = settings.timeout
    ae.connection_timeout = settings.timeout
    return ae


def _connect_failure(peer: Peer, timeout: float) -> str:
    """Why a TCP connection to ``peer`` fails: tried once more to get the system's own words."""
    try:
        with socket.create_connection((peer.host, peer.port), timeout=min(timeout, 5.0)):
            return "the connection was closed at once"
    except TimeoutError:
        return "the connection timed out"
    except OSError as exc:
        return exc.strerror or str(exc)


def _rejection_text(primitive: Any) -> str:
    return f"{primitive.result_str}, source {primitive.source_str}: {primitive.reason_str}"


def keep_responses(assoc: Any) -> None:
    """Make an outbound association's reactor hand back the responses it must not take.

    pynetdicom's ``send_*()`` pause the association's reactor before sending a request and
    then wait for the response on the DIMSE queue, but the pause is a flag that can read
    "paused" while the reactor is about to take one more message off that queue (a thread
    switch between its two assignments; pynetdicom issue #875). The reactor then drops the
    response ("Received unexpected C-STORE service message") and the sender waits for the
    DIMSE timeout: about 1 in 400 C-MOVE sub-operations stalled for a minute and failed
    (``benchmarks/qr_move.py``). Here a response reaching the reactor goes back on the queue
    the sender reads, so it is delivered; requests are served as before. One request is
    outstanding at a time on these associations, so the order is kept. Used by the
    workstation's SCU (:func:`request`) and the server's (:mod:`app.server.scu`).
    """
    serve = assoc._serve_request

    def serve_request(msg: Any, context_id: int) -> None:
        if not msg.is_valid_request and msg.is_valid_response:
            assoc.dimse.msg_queue.put((context_id, msg))
            return
        serve(msg, context_id)

    assoc._serve_request = serve_request


def _nodelay(assoc: Association) -> None:
    sock = getattr(assoc.dul.socket, "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - socket closed under us
            pass


def request(
    settings: ScuSettings, peer: Peer, abstract_syntaxes: Sequence[str], transfer_syntaxes: Sequence[str] = UNCOMPRESSED
) -> Association:
    """An established association with ``peer`` proposing each abstract syntax with the
    uncompressed transfer syntaxes (PS3.8 9.3.2.2), or with ``transfer_syntaxes``.

    Raises
    ------
    AssociationError
        When the peer cannot be reached, rejects or aborts, does not answer within the
        timeout, or accepts none of the presentation contexts.
    """
    ae = make_ae(settings)
    contexts = [build_context(uid, list(transfer_syntaxes)) for uid in abstract_syntaxes]
    opened = threading.Event()

    def on_open(event: Any) -> None:
        opened.set()
        bound_pdu_reads(event)  # a peer's PDU length is bounded before anything is read

    rejections: list[Any] = []

    def on_pdu(event: Any) -> None:
        if isinstance(event.pdu, A_ASSOCIATE_RJ):
            rejections.append(event.pdu)  # kept in case the peer's close overtakes it in pynetdicom

    start = time.monotonic()
    assoc = ae.associate(
        peer.host, peer.port, contexts=contexts, ae_title=peer.ae_title, max_pdu=settings.max_pdu,
        evt_handlers=[(evt.EVT_CONN_OPEN, on_open), (evt.EVT_PDU_RECV, on_pdu)],
    )
    if assoc.is_established:
        keep_responses(assoc)
        _nodelay(assoc)
        return assoc
    where = f"{peer.ae_title} at {peer.host}:{peer.port}"
    rejection = assoc.acceptor.primitive if assoc.is_rejected else (rejections[0] if rejections else None)
    if rejection is not None:
        raise AssociationError(
            "rejected",
            f"{where} rejected the association ({_rejection_text(rejection)}). Check that it knows our AE title "
            f"{settings.calling_ae_title!r} and that its AE title is {peer.ae_title!r}.",
        )
    if not opened.is_set():
        reason = _connect_failure(peer, settings.timeout)
        kind = "timed out" if "timed out" in reason else "refused"
        raise AssociationError(
            kind, f"Cannot connect to {where}: {reason}. Check the host, the port and that the node is running."
        )
    answer = assoc.acceptor.primitive
    if answer is not None and answer.result == 0x00:
        raise AssociationError(
            "no context",
            f"{where} accepted none of the proposed services ({', '.join(abstract_syntaxes)}); check what it offers.",
        )
    if time.monotonic() - start >= settings.timeout * 0.9:
        raise AssociationError(
            "timed out", f"{where} did not answer the association request within {settings.timeout:g} s."
        )
    raise AssociationError("aborted", f"{where} aborted the association request; check its log.")


@contextmanager
def associated(
    settings: ScuSettings, peer: Peer, abstract_syntaxes: Sequence[str], transfer_syntaxes: Sequence[str] = UNCOMPRESSED
) -> Iterator[Association]:
    """:func:`request`, released (or aborted if it broke) when the block ends."""
    assoc = request(settings, peer, abstract_syntaxes, transfer_syntaxes)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        else:
            assoc.abort()


def context_id(assoc: Association, abstract_syntax: str) -> int:
    """The accepted presentation context ID of ``abstract_syntax`` on ``assoc``."""
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax == abstract_syntax and cx.context_id is not None:
            return int(cx.context_id)
    raise AssociationError("no context", f"The peer did not accept {abstract_syntax}.")


class CancelWatch:
    """Sends one C-CANCEL-RQ (PS3.7 9.3.2.3) for ``msg_id`` when ``cancel`` is set, from a
    thread polling it every 50 ms while the request is outstanding."""

    def __init__(self, assoc: Association, msg_id: int, cx_id: int, cancel: Cancellable | None) -> None:
        self.sent = False
        self._assoc, self._msg_id, self._cx_id, self._cancel = assoc, msg_id, cx_id, cancel
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CancelWatch:
        if self._cancel is not None:
            self._thread = threading.Thread(target=self._run, name="c-cancel-watch", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        assert self._cancel is not None
        while not self._done.wait(0.05):
            if self._cancel.cancelled:
                if self._assoc.is_established:
                    LOGGER.info("sending C-CANCEL for message %d", self._msg_id)
                    self._assoc.send_c_cancel(self._msg_id, context_id=self._cx_id)
                    self.sent = True
                return

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


@contextmanager
def cancellable_request(
    settings: ScuSettings, peer: Peer, sop_class: str, msg_id: int, cancel: Cancellable | None
) -> Iterator[tuple[Association, CancelWatch]]:
    """An association to ``peer`` for one request of ``sop_class`` (message ``msg_id``), watched by a
    :class:`CancelWatch` that sends C-CANCEL-RQ (PS3.7 9.3.2.3) when ``cancel`` is set; yields both.

    The watch ends before the association is released; ``watch.sent`` says whether a C-CANCEL went out.
    """
    with (
        associated(settings, peer, [sop_class]) as assoc,
        CancelWatch(assoc, msg_id, context_id(assoc, sop_class), cancel) as watch,
    ):
        yield assoc, watch


def status_of(status: Any) -> int:
    """The Status (0000,0900) of a response data set; -1 when there is none (the
    association broke or timed out)."""
    if status is None or "Status" not in status:
        return -1
    return int(status.Status)


def error_comment_of(status: Any) -> str:
    """The Error Comment (0000,0902) of a response, if any."""
    if status is None:
        return ""
    return str(status.get("ErrorComment", "") or "").strip()
