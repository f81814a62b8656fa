"""A bound on the length of every PDU our associations receive (PS3.8 9.3.1, 9.3.5): the
server's SCP AEs, the workstation's SCU and its temporary Storage SCP.

A PDU header gives its length in 4 bytes (up to 4 GiB). pynetdicom reads whatever length a
peer announces into memory, and a reader that allocates its buffer from the header would
take the whole amount at once. Here a PDU is refused when it is longer than
:func:`pdu_limit`: the server's Maximum Length (``max_pdu``, the largest P-DATA-TF it asks
peers to send, PS3.8 D.1) or 1 MiB, whichever is larger (association PDUs are not bound by
the Maximum Length; 1 MiB holds any A-ASSOCIATE-RQ of 128 presentation contexts). The
connection is then closed with a WARNING.

:func:`bound_pdu_reads` is bound to ``EVT_CONN_OPEN`` of every SCP AE by
:func:`app.server.scp.serve`, of the workstation's associations by :mod:`app.net.association`
and :mod:`app.net.temporary_store`; the C-STORE fast path (:mod:`app.server.fastpath`), which
reads PDUs itself, checks the same limit.
"""

from __future__ import annotations

import logging
from typing import Any

LOGGER = logging.getLogger(__name__)

#: Every PDU may be at least this long, whatever the Maximum Length.
MIN_PDU_LIMIT = 1 << 20


class PduTooLong(OSError):
    """A peer announced a PDU longer than the limit; the connection is closed."""


def pdu_limit(max_pdu: int) -> int:
    """The longest PDU (bytes after its 6-byte header) accepted when our Maximum Length is ``max_pdu``."""
    return max(int(max_pdu or 0), MIN_PDU_LIMIT)


def refuse(length: int, limit: int, peer: str) -> PduTooLong:
    """Log the refusal of a PDU of ``length`` bytes and return the error to raise."""
    LOGGER.warning(
        "PDU of %d bytes from %s refused (longer than %d); connection closed. A peer must respect "
        "the Maximum Length the server announces (max_pdu).",
        length, peer, limit,
    )
    return PduTooLong(f"PDU of {length} bytes is longer than {limit}")


def bound_pdu_reads(event: Any) -> None:
    """``EVT_CONN_OPEN``: make the association's socket refuse reads longer than the limit.

    pynetdicom reads a PDU as ``recv(6)`` for its header, then ``recv(length)``; a length
    over the limit raises :class:`PduTooLong` (an ``OSError``), which pynetdicom handles as
    a closed connection. Never raises itself.
    """
    try:
        assoc = event.assoc
        sock = assoc.dul.socket
        limit = pdu_limit(assoc.ae.maximum_pdu_size)
        original = sock.recv
        address = event.address[0] if getattr(event, "address", None) else "?"

        def recv(nr_bytes: int) -> Any:
            if nr_bytes > limit:
                raise refuse(nr_bytes, limit, str(address))
            return original(nr_bytes)

        sock.recv = recv
    except Exception:
        LOGGER.exception("Could not bound the PDU reads of an association")
