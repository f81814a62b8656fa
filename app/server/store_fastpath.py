"""Storage SCU fast path for C-MOVE sub-operations (pinned to pynetdicom 3.0.4).

pynetdicom's ``send_c_store`` pauses the association's reactor (a 1 ms loop), encodes the
command set with pydicom, has the DUL thread split the data set into PDVs and send them,
and waits on a queue for the response that the DUL thread (polling the socket with 1 ms
sleeps), its state machine and the DIMSE provider decode. For a stream of sequential
sub-operations that is most of their time. :class:`StoreSender` takes an established
outbound association over for the length of a C-MOVE instead:

1. the association's reactor is paused (as ``send_c_store`` does) and its DUL thread is
   kept off the socket (its ``_is_transport_event`` reports nothing while the sender owns it);
2. each C-STORE-RQ command set (PS3.7 9.3.1.1, implicit VR little endian) is encoded directly
   (``app.server.move_commands``) and written with the stored file's data set, as it is on
   disk after its File Meta Information (PS3.10 7.1), as P-DATA-TF PDUs no longer than the
   peer's Maximum Length (PS3.8 9.3.5, E.2), straight to the socket on the calling thread;
3. the C-STORE-RSP (PS3.7 9.3.1.2) is read on the same thread from the socket, its length
   bounded (``app.server.pdu_limits``);
4. any other PDU (A-ABORT, A-RELEASE-RQ, ...) is handed to pynetdicom's own path exactly as
   its reader would, and the sender stops; a malformed or missing response aborts the
   association. :meth:`StoreSender.close` gives the association back to pynetdicom.

In the established state (Sta6) sending a P-DATA-TF (Evt9, DT-1) only writes it and
receiving one (Evt10, DT-2) only passes it to the DIMSE provider, so the state machine is not
bypassed in anything it would do. No ``EVT_C_STORE``/``EVT_DIMSE_*``/``EVT_PDU_*`` events fire for
these messages. Used only on the pinned pynetdicom version over plain TCP; tests fail when
that version or the replaced internals change.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import struct
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, cast

from app.net.received import data_set_offset
from app.server.fastpath import P_DATA_TF, PINNED_PYNETDICOM, is_supported, parse_command
from app.server.move_commands import encode_store_request
from app.server.pdu_limits import pdu_limit, refuse

LOGGER = logging.getLogger(__name__)

C_STORE_RSP = 0x8001
NO_DATA_SET = 0x0101
#: The DUL thread's loop delay while the sender owns the socket (it has nothing to do).
PARKED_DUL_DELAY = 0.02
#: Longest C-STORE-RSP command set accepted (a few hundred bytes with an Error Comment).
MAX_RESPONSE_COMMAND = 1 << 16
#: Data set fragment size when the peer announces no Maximum Length (0: unlimited, PS3.8 D.1).
UNLIMITED_FRAGMENT = 1 << 20


class NotSendable(Exception):
    """This file cannot go the fast way (no PS3.10 header, other syntax); use ``send_c_store``."""


def read_data_set(path: Path, buffer: bytearray) -> tuple[bytearray, memoryview]:
    """The data set of a stored file: what follows its File Meta Information (PS3.10 7.1), as
    Lightbox writes it (``app.dicom.file_meta``), read into ``buffer`` (or a new, larger one:
    returned with a view of the data set). Raises :class:`NotSendable`."""
    with open(path, "rb", buffering=0) as fh:
        try:
            offset = data_set_offset(cast(BinaryIO, fh))
        except ValueError as exc:
            raise NotSendable(str(exc)) from None
        size = os.fstat(fh.fileno()).st_size - offset
        if size < 0:
            raise NotSendable("file shorter than its File Meta Information")
        if len(buffer) < size:
            buffer = bytearray(size)  # a new object: views of the old one stay valid
        view = memoryview(buffer)[:size]
        fh.seek(offset)
        got = 0
        while got < size:
            n = fh.readinto(view[got:])
            if not n:
                raise NotSendable("file shorter than its size")
            got += n
        return buffer, view


class StoreSender:
    """Sends C-STORE requests on an established outbound association from the calling thread.

    Use :func:`take` to create one; :meth:`close` (always) gives the association back.
    """

    def __init__(self, assoc: Any, sock: socket.socket, timeout: float | None) -> None:
        self._assoc = assoc
        self._sock = sock
        self._timeout = timeout
        self._saved_timeout = sock.gettimeout()
        peer_max = int(assoc.acceptor.maximum_length or 0)
        self._fragment = (peer_max - 6) if peer_max > 6 else UNLIMITED_FRAGMENT  # PDV header: 4 + 2
        self._limit = pdu_limit(int(getattr(assoc.ae, "maximum_pdu_size", 0) or 0))
        self._owned = False
        self._lock = threading.Lock()
        self._buffer = bytearray()  # one data set, reused
        self._dul_delay = float(assoc.dul._run_loop_delay)
        self.usable = True

    # ownership -------------------------------------------------------------------------------

    def _park_dul(self) -> None:
        dul = self._assoc.dul
        original = dul._is_transport_event

        def is_transport_event() -> bool:
            with self._lock:
                if self._owned:
                    return False
                return bool(original())

        dul._is_transport_event = is_transport_event

    def own(self) -> None:
        """Pause the reactor and keep the DUL thread off the socket (again after :meth:`close`)."""
        assoc = self._assoc
        assoc._reactor_checkpoint.clear()
        while not assoc._is_paused and assoc.is_established:
            time.sleep(0.0001)
        with self._lock:  # waits for a PDU the DUL thread may be reading
            self._owned = True
        assoc.dul._run_loop_delay = PARKED_DUL_DELAY  # nothing to poll for: fewer wake-ups on the GIL
        self._sock.settimeout(self._timeout)

    def close(self) -> None:
        """Give the socket back to the DUL thread and resume the association's reactor."""
        if not self._owned:
            return
        try:
            self._sock.settimeout(self._saved_timeout)
        except OSError:
            pass
        with self._lock:
            self._owned = False
        self._assoc.dul._run_loop_delay = self._dul_delay
        self._assoc._reactor_checkpoint.set()

    # one C-STORE -----------------------------------------------------------------------------

    def send(
        self, path: Path, context_id: int, sop_class_uid: str, sop_instance_uid: str, message_id: int,
        originator_aet: str = "", originator_id: int | None = None,
    ) -> int | None:
        """Send one stored file's data set, as it is, in a C-STORE-RQ on ``context_id`` (whose
        transfer syntax must be the file's); the response's status, or ``None`` when the
        association failed (then :attr:`usable` is False).

        Raises :class:`NotSendable` (nothing sent) when the file has no File Meta Information
        Group Length or the context is not an accepted one."""
        if not self.usable:
            return None
        if context_id not in self._assoc._accepted_cx:
            raise NotSendable(f"presentation context {context_id} was not accepted")
        self._buffer, data = read_data_set(path, self._buffer)
        return self.send_data(
            data, context_id, sop_class_uid, sop_instance_uid, message_id, originator_aet, originator_id
        )

    def send_data(
        self, data: memoryview, context_id: int, sop_class_uid: str, sop_instance_uid: str, message_id: int,
        originator_aet: str = "", originator_id: int | None = None,
    ) -> int | None:
        """Send a data set already encoded in the transfer syntax of ``context_id`` (as
        :meth:`send` does with a file's); the response's status, or ``None`` when the
        association failed. Raises :class:`NotSendable` when the context was not accepted."""
        if not self.usable:
            return None
        if context_id not in self._assoc._accepted_cx:
            raise NotSendable(f"presentation context {context_id} was not accepted")
        command = encode_store_request(
            message_id, sop_class_uid, sop_instance_uid, originator_aet, originator_id
        )
        try:
            self._send_message(context_id, command, data)
            return self._read_response(context_id, message_id)
        except (OSError, TimeoutError, ValueError) as exc:
            LOGGER.warning("C-STORE sub-operation failed (%s); aborting the association", exc)
            self._abort()
            return None

    def _send_message(self, context_id: int, command: bytes, data: memoryview) -> None:
        """The command set then the data set, one PDV per P-DATA-TF PDU (PS3.8 E.2); the data
        set fragments are written from the file buffer without copies."""
        room = self._fragment
        pieces: list[Any] = []
        for index in range(0, len(command), room):  # command fragments (PS3.8 E.2: bit 0 set)
            piece = command[index : index + room]
            pieces.append(_pdv_header(context_id, 0x03 if index + room >= len(command) else 0x01, len(piece)))
            pieces.append(piece)
        total = len(data)
        if total == 0:
            pieces.append(_pdv_header(context_id, 0x02, 0))
        for index in range(0, total, room):  # the command goes with the first data PDU
            fragment = data[index : index + room]
            pieces.append(_pdv_header(context_id, 0x02 if index + room >= total else 0x00, len(fragment)))
            pieces.append(fragment)
            self._sendmsg(pieces)
            pieces = []
        if pieces:
            self._sendmsg(pieces)

    def _sendmsg(self, pieces: list[Any]) -> None:
        """Write all of ``pieces`` (gathered, one system call when the socket takes them)."""
        views = [memoryview(p).cast("B") for p in pieces]
        while views:
            sent = self._sock.sendmsg(views)
            while views and sent >= len(views[0]):
                sent -= len(views[0])
                views.pop(0)
            if views and sent:
                views[0] = views[0][sent:]

    def _recv_exactly(self, size: int) -> bytearray:
        buffer = bytearray(size)
        view, got = memoryview(buffer), 0
        while got < size:
            n = self._sock.recv_into(view[got:], size - got)
            if n == 0:
                raise OSError("the destination closed the connection")
            got += n
        return buffer

    def _read_response(self, context_id: int, message_id: int) -> int | None:
        """Read PDUs up to the complete C-STORE-RSP command set; its status."""
        command = bytearray()
        while True:
            header = self._recv_exactly(6)
            pdu_type, _, length = struct.unpack(">BBI", header)
            if length > self._limit:
                raise refuse(length, self._limit, "a move destination")
            body = self._recv_exactly(length)
            self._assoc.dul._idle_timer.restart()
            if pdu_type != P_DATA_TF:
                self._hand_over(bytes(header) + bytes(body))
                return None
            offset = 0
            while offset < length:
                if offset + 6 > length:
                    raise ValueError("truncated PDV")
                item_length, pdv_context, control = struct.unpack_from(">IBB", body, offset)
                stop = offset + 4 + item_length
                if item_length < 2 or stop > length or pdv_context != context_id or not control & 0x01:
                    raise ValueError("unexpected PDV instead of a C-STORE-RSP")
                command += body[offset + 6 : stop]
                if len(command) > MAX_RESPONSE_COMMAND:
                    raise ValueError("C-STORE-RSP command set too long")
                offset = stop
                if control & 0x02:
                    if offset != length:
                        raise ValueError("more PDVs after the C-STORE-RSP")
                    return _status(parse_command(command), message_id)

    def _hand_over(self, pdu: bytes) -> None:
        """Give an unexpected PDU to pynetdicom's own path (as its reader would) and stop."""
        LOGGER.info("Move destination sent PDU type 0x%02X instead of a C-STORE-RSP", pdu[0])
        self.usable = False
        dul = self._assoc.dul
        try:
            decoded, event = dul._decode_pdu(bytearray(pdu))
        except Exception:
            LOGGER.exception("Unable to decode the received PDU data")
            dul.event_queue.put("Evt19")
        else:
            dul.event_queue.put(event)
            dul._recv_pdu.put(decoded)
        self.close()

    def _abort(self) -> None:
        self.usable = False
        self.close()
        try:
            self._assoc.abort()
        except Exception:
            LOGGER.exception("Could not abort the association to the move destination")


def _pdv_header(context_id: int, control: int, size: int) -> bytes:
    """P-DATA-TF PDU header with the header of its one PDV of ``size`` bytes (PS3.8 9.3.5, E.2)."""
    return struct.pack(">BBIIBB", P_DATA_TF, 0, size + 6, size + 2, context_id, control)


def _status(command: dict[int, bytes], message_id: int) -> int:
    """The status of a C-STORE-RSP command set answering ``message_id`` (PS3.7 9.3.1.2)."""
    field = command.get(0x00000100)
    answered = command.get(0x00000120)
    status = command.get(0x00000900)
    if field != struct.pack("<H", C_STORE_RSP) or answered != struct.pack("<H", message_id) or status is None:
        raise ValueError("the response is not the C-STORE-RSP of this request")
    if command.get(0x00000800) != struct.pack("<H", NO_DATA_SET):
        raise ValueError("a C-STORE-RSP with a data set")
    return int(struct.unpack("<H", status)[0])


def take(assoc: Any) -> StoreSender | None:
    """Take an established outbound association over for C-STORE requests; ``None`` when the
    fast path cannot be used (another pynetdicom version, TLS): use ``send_c_store`` then."""
    if not is_supported():
        LOGGER.warning("pynetdicom is not the pinned %s: C-MOVE sub-operations take the slow path", PINNED_PYNETDICOM)
        return None
    sock = getattr(getattr(assoc.dul, "socket", None), "socket", None)
    if not assoc.is_established or sock is None or isinstance(sock, ssl.SSLSocket):
        return None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    sender = StoreSender(assoc, sock, assoc.dimse_timeout)
    sender._park_dul()
    sender.own()
    return sender
