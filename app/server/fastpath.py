"""C-STORE fast path in pynetdicom's PDU read loop (pinned to pynetdicom 3.0.4).

pynetdicom handles every received PDU through its state machine, decodes every DIMSE
command set with pydicom and hands complete messages to a second thread; both threads
poll with 1 ms sleeps. For a stream of C-STORE requests that costs several milliseconds
per image. This module replaces, per association, the DUL's ``_read_pdu_data`` with a
reader that serves C-STORE requests itself, on the DUL thread:

1. a P-DATA-TF PDU (PS3.8 9.3.5) whose PDVs (PS3.8 E.2) carry a complete C-STORE-RQ
   command set (PS3.7 9.3.1.1, implicit VR little endian) on an accepted presentation
   context of the same SOP class starts a fast store; any other command goes to
   pynetdicom unchanged (the PDVs already consumed are handed over as one P-DATA-TF);
2. the data set fragments are received, never decoded, straight from the socket into a
   buffer reused from one C-STORE to the next (up to :data:`SPOOL_MEMORY`, then an
   unlinked temporary file), and handed over as a stream of views, not copies;
3. after the last fragment the data set goes to the store function (the ingest), and the
   C-STORE-RSP (PS3.7 9.3.1.2) is encoded here and sent on the DUL thread, which is the
   only thread writing to the socket in pynetdicom;
4. after a fast store the reader waits briefly for the peer's next PDU instead of
   returning to the 1 ms polling loop.

In the association's established state (Sta6) a received P-DATA-TF (Evt10, action DT-2)
only passes data to the DIMSE provider, and a sent one (Evt9, DT-1) only writes it: the
fast path does the same without the state machine. Every other PDU, and everything
outside Sta6, takes pynetdicom's own path. Fast stores fire no ``EVT_PDU_RECV``,
``EVT_DIMSE_RECV`` or ``EVT_C_STORE`` events. The reader is installed only on the pinned
pynetdicom version; tests fail when that version or the replaced functions change.
"""

from __future__ import annotations

import io
import logging
import select
import socket
import ssl
import struct
import tempfile
import time
from collections.abc import Callable
from typing import Any, BinaryIO, cast

import pynetdicom

from app.server.handlers.store import SUCCESS, clean_comment
from app.server.pdu_limits import pdu_limit, refuse

LOGGER = logging.getLogger(__name__)

#: The pynetdicom version whose internals this module was written against.
PINNED_PYNETDICOM = "3.0.4"

#: Data sets up to this size are received in memory; larger ones spill to an unlinked temporary file.
SPOOL_MEMORY = 32 * 1024 * 1024

#: After a fast store, how long to wait for the peer's next PDU before returning to pynetdicom's loop.
LINGER_SECONDS = 0.05
_LINGER_SLICE = 0.005

C_STORE_RQ = 0x0001
C_STORE_RSP = 0x8001
NO_DATA_SET = 0x0101
P_DATA_TF = 0x04

#: ``store(stream, transfer_syntax=..., sop_class_uid=..., sop_instance_uid=..., source_ae=..., called_ae=...)``
#: returning ``(status, error comment)``; must never raise.
StoreFunction = Callable[..., tuple[int, str]]


def is_supported() -> bool:
    """Whether the running pynetdicom is the version the fast path was written against."""
    return str(pynetdicom.__version__) == PINNED_PYNETDICOM


# -- command sets (PS3.7 6.3.1, 9.3.1; always implicit VR little endian, PS3.7 6.3.1) ------------


def parse_command(raw: bytes | bytearray | memoryview) -> dict[int, bytes]:
    """Decode a command set into ``{tag: value bytes}`` (element 0x0000 group only)."""
    view = memoryview(raw)
    out: dict[int, bytes] = {}
    offset, end = 0, len(view)
    while offset + 8 <= end:
        group, element, length = struct.unpack_from("<HHI", view, offset)
        offset += 8
        if offset + length > end:
            raise ValueError("command element runs past the end of the command set")
        out[(group << 16) | element] = bytes(view[offset : offset + length])
        offset += length
    if offset != end:
        raise ValueError("trailing bytes after the command set")
    return out


def _us(command: dict[int, bytes], tag: int) -> int | None:
    value = command.get(tag)
    return struct.unpack("<H", value)[0] if value is not None and len(value) == 2 else None


def _ui(command: dict[int, bytes], tag: int) -> str:
    return command.get(tag, b"").decode("ascii", "replace").rstrip("\0 ")


def _element(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def _even(value: bytes, pad: bytes) -> bytes:
    return value + pad if len(value) % 2 else value


def encode_store_response(
    message_id: int, sop_class_uid: str, sop_instance_uid: str, status: int, comment: str = ""
) -> bytes:
    """Encode a C-STORE-RSP command set (PS3.7 Table 9.3-2), implicit VR little endian."""
    body = [
        _element(0x00000002, _even(sop_class_uid.encode("ascii"), b"\0")),
        _element(0x00000100, struct.pack("<H", C_STORE_RSP)),
        _element(0x00000120, struct.pack("<H", message_id)),
        _element(0x00000800, struct.pack("<H", NO_DATA_SET)),
        _element(0x00000900, struct.pack("<H", status)),
    ]
    if comment and status != SUCCESS:
        body.append(_element(0x00000902, _even(clean_comment(comment).encode("ascii"), b" ")))
    body.append(_element(0x00001000, _even(sop_instance_uid.encode("ascii"), b"\0")))
    payload = b"".join(body)
    return _element(0x00000000, struct.pack("<I", len(payload))) + payload


def p_data_pdus(context_id: int, command: bytes, max_pdu: int) -> list[bytes]:
    """Wrap a command set in P-DATA-TF PDUs (PS3.8 9.3.5, E.2) no larger than the peer's maximum."""
    room = len(command) if max_pdu <= 0 else max(1, max_pdu - 6)
    pieces = [command[i : i + room] for i in range(0, len(command), room)] or [b""]
    pdus = []
    for index, piece in enumerate(pieces):
        header = 0x03 if index == len(pieces) - 1 else 0x01  # command, last fragment
        item = struct.pack(">IBB", len(piece) + 2, context_id, header) + piece
        pdus.append(struct.pack(">BBI", P_DATA_TF, 0, len(item)) + item)
    return pdus


# -- the per-association reader -------------------------------------------------------------------


class _Store:
    """A C-STORE request being received."""

    __slots__ = ("context_id", "message_id", "sop_class_uid", "sop_instance_uid", "transfer_syntax")

    def __init__(self, context_id: int, message_id: int, sop_class: str, sop_instance: str, syntax: str) -> None:
        self.context_id = context_id
        self.message_id = message_id
        self.sop_class_uid = sop_class
        self.sop_instance_uid = sop_instance
        self.transfer_syntax = syntax


class _ViewReader(io.RawIOBase):
    """A read-only binary stream over received bytes; ``read(n)`` hands out views, not copies."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def getbuffer(self) -> memoryview:
        """The whole data set as a view (as ``BytesIO.getbuffer``): the ingest writes and
        parses it without reading it through the stream."""
        return self._view

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> Any:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        if size is None or size < 0:
            chunk: Any = bytes(self._view[self._pos : end])  # whole reads get real bytes
        else:
            chunk = self._view[self._pos : end]  # chunked reads (shutil.copyfileobj): zero copy
        self._pos = end
        return chunk

    def readinto(self, target: Any) -> int:
        data = self._view[self._pos : self._pos + len(target)]
        target[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._view.release()
        super().close()


class _Sink:
    """Where a data set's fragments go: a reused buffer, then an unlinked temporary file
    once the data set outgrows :data:`SPOOL_MEMORY` (so nothing is left behind on abort)."""

    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer
        self.size = 0
        self.file: BinaryIO | None = None

    def room(self, size: int) -> memoryview | None:
        """A view of ``size`` bytes to receive into, or ``None`` once spilled to the file."""
        if self.file is None and self.size + size > SPOOL_MEMORY:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            self.file.write(memoryview(self.buffer)[: self.size])
        if self.file is not None:
            return None
        if len(self.buffer) < self.size + size:
            grown = bytearray(max(2 * len(self.buffer), self.size + size))
            grown[: self.size] = memoryview(self.buffer)[: self.size]
            self.buffer = grown  # a new object: views of the old one stay valid
        view = memoryview(self.buffer)[self.size : self.size + size]
        self.size += size
        return view

    def write(self, data: memoryview) -> None:
        view = self.room(len(data))
        if view is None:
            assert self.file is not None
            self.file.write(data)
        else:
            view[:] = data

    def stream(self) -> BinaryIO:
        if self.file is not None:
            self.file.seek(0)
            return self.file
        return cast(BinaryIO, _ViewReader(memoryview(self.buffer)[: self.size]))

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class FastStoreReader:
    """Replacement of ``DULServiceProvider._read_pdu_data`` for one association.

    Parameters
    ----------
    dul
        The association's ``pynetdicom.dul.DULServiceProvider``.
    store
        Called with each complete data set; returns ``(status, comment)``; never raises.
    """

    def __init__(self, dul: Any, store: StoreFunction) -> None:
        self._dul = dul
        self._store_fn = store
        ae = getattr(getattr(dul, "assoc", None), "ae", None)
        self._limit = pdu_limit(getattr(ae, "maximum_pdu_size", 0))  # app.server.pdu_limits
        self._buffer = bytearray(1 << 17)  # one PDU
        self._data = bytearray(1 << 20)  # one data set, reused from one C-STORE to the next
        self._command = bytearray()
        self._command_items: list[bytes] = []
        self._store: _Store | None = None
        self._sink: _Sink | None = None

    # socket helpers --------------------------------------------------------------------------

    def _recv_into(self, sock: socket.socket, view: memoryview) -> bool:
        got, size = 0, len(view)
        while got < size:
            n = sock.recv_into(view[got:], size - got)
            if n == 0:
                return False
            got += n
        return True

    def _pdu_view(self, size: int) -> memoryview:
        if len(self._buffer) < size:
            self._buffer = bytearray(size)  # a new one: views of the old stay valid
        return memoryview(self._buffer)[:size]

    def _connection_closed(self) -> None:
        self._discard()
        self._dul.event_queue.put("Evt17")  # transport connection closed (PS3.8 9.2.1)

    def _discard(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._data = self._sink.buffer
            self._sink = None
        self._store = None
        self._command.clear()
        self._command_items.clear()

    def _to_pynetdicom(self, pdu: bytes) -> None:
        """Hand one PDU to pynetdicom's own path, exactly as its ``_read_pdu_data`` would."""
        dul = self._dul
        try:
            decoded, event = dul._decode_pdu(bytearray(pdu))
        except Exception:
            LOGGER.exception("Unable to decode the received PDU data")
            dul.event_queue.put("Evt19")
            return
        dul.event_queue.put(event)
        dul._recv_pdu.put(decoded)

    # the reader ------------------------------------------------------------------------------

    def __call__(self) -> None:
        """Read and act on PDUs; returns after handing one to pynetdicom or when the peer is idle."""
        dul = self._dul
        sock = dul.socket.socket
        header = bytearray(6)
        while True:
            try:
                if not self._recv_into(sock, memoryview(header)):
                    self._connection_closed()
                    return
                pdu_type, _, length = struct.unpack(">BBI", header)
                if length > self._limit:  # never allocate or stream what a header claims (PS3.8 9.3.1)
                    refuse(length, self._limit, "a C-STORE peer")
                    self._connection_closed()
                    return
                if pdu_type not in (1, 2, 3, 4, 5, 6, 7):
                    LOGGER.error("Unknown PDU type received 0x%02X", pdu_type)
                    dul.event_queue.put("Evt19")
                    return
                fast = pdu_type == P_DATA_TF and dul.state_machine.current_state == "Sta6"
                if fast and self._store is not None:
                    handled = self._data_pdu(sock, length)
                else:
                    body = self._pdu_view(length)
                    if not self._recv_into(sock, body):
                        self._connection_closed()
                        return
                    if not fast:
                        if self._store is not None or self._command_items:
                            LOGGER.warning("PDU type 0x%02X in the middle of a C-STORE; discarding it", pdu_type)
                            self._discard()
                        self._to_pynetdicom(bytes(header) + bytes(body))
                        return
                    handled = self._p_data(body)
            except (OSError, TimeoutError):
                self._connection_closed()
                return
            if not handled:
                return
            dul._idle_timer.restart()
            if not self._wait_for_more(sock):
                return

    def _data_pdu(self, sock: socket.socket, length: int) -> bool:
        """Receive a P-DATA-TF of data set fragments straight into the data set buffer.

        Raises ``OSError`` when the connection closes in the middle (the caller reports it).
        """
        store, sink = self._store, self._sink
        assert store is not None and sink is not None
        item = bytearray(6)
        remaining = length
        while remaining > 0:
            if remaining < 6 or not self._recv_into(sock, memoryview(item)):
                raise OSError("connection closed in the middle of a PDU")
            item_length, context_id, control = struct.unpack(">IBB", item)
            size = item_length - 2
            if size < 0 or item_length + 4 > remaining or control & 0x01 or context_id != store.context_id:
                LOGGER.warning("Unexpected PDV in a C-STORE data set; handing it to pynetdicom")
                rest = self._pdu_view(remaining - 6)
                if not self._recv_into(sock, rest):
                    raise OSError("connection closed in the middle of a PDU")
                self._discard()
                return self._fallback(memoryview(bytes(item) + bytes(rest)))
            view = sink.room(size)
            if view is None:  # spilled to a file: receive through the PDU buffer
                chunk = self._pdu_view(size)
                if not self._recv_into(sock, chunk):
                    raise OSError("connection closed in the middle of a PDU")
                sink.write(chunk)
            elif not self._recv_into(sock, view):
                raise OSError("connection closed in the middle of a PDU")
            remaining -= 4 + item_length
            if control & 0x02:
                self._finish()
                if remaining:  # more PDVs after the last fragment: a new message
                    rest = self._pdu_view(remaining)
                    if not self._recv_into(sock, rest):
                        raise OSError("connection closed in the middle of a PDU")
                    return self._p_data(rest)
                return True
        return True

    def _wait_for_more(self, sock: socket.socket) -> bool:
        """Linger for the peer's next PDU while nothing local waits to be sent."""
        dul = self._dul
        deadline = time.monotonic() + LINGER_SECONDS
        while time.monotonic() < deadline:
            if dul._kill_thread or dul.to_provider_queue.queue or not dul.event_queue.empty():
                return False
            try:
                ready, _, _ = select.select([sock], [], [], _LINGER_SLICE)
            except (OSError, ValueError):
                return False
            if ready:
                return True
        return False

    def _p_data(self, body: memoryview) -> bool:
        """Act on the PDVs of one P-DATA-TF; ``False`` when it went to pynetdicom."""
        offset, end = 0, len(body)
        while offset < end:
            if offset + 6 > end:
                return self._fallback(body[offset:])
            item_length, context_id, control = struct.unpack_from(">IBB", body, offset)
            start, stop = offset + 6, offset + 4 + item_length
            if item_length < 2 or stop > end:
                return self._fallback(body[offset:])
            fragment = body[start:stop]
            store = self._store
            if store is not None:
                if control & 0x01 or context_id != store.context_id:
                    LOGGER.warning("Unexpected PDV in a C-STORE data set; handing it to pynetdicom")
                    self._discard()
                    return self._fallback(body[offset:])
                assert self._sink is not None
                self._sink.write(fragment)
                if control & 0x02:
                    self._finish()
            elif control & 0x01:  # command fragment
                self._command_items.append(bytes(body[offset:stop]))
                self._command += fragment
                if control & 0x02 and not self._begin(context_id):
                    return self._fallback(body[stop:])
            else:
                return self._fallback(body[offset:])
            offset = stop
        return True

    def _fallback(self, rest: memoryview) -> bool:
        """Give the command PDVs collected so far plus ``rest`` to pynetdicom as one P-DATA-TF."""
        items = b"".join(self._command_items) + bytes(rest)
        self._command.clear()
        self._command_items.clear()
        if items:
            self._to_pynetdicom(struct.pack(">BBI", P_DATA_TF, 0, len(items)) + items)
        return False

    def _begin(self, context_id: int) -> bool:
        """Start a fast store if the complete command is a C-STORE-RQ we can serve."""
        try:
            command = parse_command(self._command)
        except ValueError:
            return False
        if _us(command, 0x00000100) != C_STORE_RQ or _us(command, 0x00000800) in (None, NO_DATA_SET):
            return False
        context = self._dul.assoc._accepted_cx.get(context_id)
        sop_class = _ui(command, 0x00000002)
        message_id = _us(command, 0x00000110)
        if context is None or message_id is None or str(context.abstract_syntax) != sop_class:
            return False
        if context.as_scp is False or not context.transfer_syntax:
            return False
        self._store = _Store(
            context_id, message_id, sop_class, _ui(command, 0x00001000), str(context.transfer_syntax[0])
        )
        self._sink = _Sink(self._data)
        self._command.clear()
        self._command_items.clear()
        return True

    def _finish(self) -> None:
        store, sink = self._store, self._sink
        assert store is not None and sink is not None
        self._store, self._sink = None, None
        assoc = self._dul.assoc
        stream = sink.stream()
        self._dul._idle_timer.restart()  # the network timeout counts from the last received PDU
        try:
            status, comment = self._store_fn(
                stream,
                transfer_syntax=store.transfer_syntax,
                sop_class_uid=store.sop_class_uid,
                sop_instance_uid=store.sop_instance_uid,
                source_ae=str(assoc.requestor.ae_title).strip(),
                called_ae=str(assoc.acceptor.ae_title).strip(),
            )
        finally:
            stream.close()
            sink.close()
            self._data = sink.buffer
        response = encode_store_response(store.message_id, store.sop_class_uid, store.sop_instance_uid, status, comment)
        for pdu in p_data_pdus(store.context_id, response, int(assoc.requestor.maximum_length or 0)):
            self._dul.socket.send(pdu)


def install(assoc: Any, store: StoreFunction) -> bool:
    """Install the fast path on an acceptor association before it starts; ``False`` if not possible."""
    if not is_supported():
        LOGGER.warning(
            "pynetdicom %s is not the pinned %s: C-STORE fast path disabled", pynetdicom.__version__, PINNED_PYNETDICOM
        )
        return False
    dul = assoc.dul
    raw = getattr(getattr(dul, "socket", None), "socket", None)
    if raw is None or isinstance(raw, ssl.SSLSocket):
        return False
    dul._read_pdu_data = FastStoreReader(dul, store)
    return True
