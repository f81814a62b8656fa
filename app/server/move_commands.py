"""Command sets a C-MOVE SCP sends per sub-operation, encoded directly: the C-STORE-RQ
(PS3.7 9.3.1.1) and the pending C-MOVE-RSP (PS3.7 9.3.4.2, PS3.4 C.4.2.1.6).

Both are implicit VR little endian (PS3.7 6.3.1); only a few values change from one to the next.
The C-STORE-RQ goes out through ``app.server.store_fastpath``. A C-MOVE SCP sends one pending
response per sub-operation. pynetdicom's ``send_msg`` builds
each one's command set through a pydicom ``Dataset`` and encodes it with pydicom, a sizeable
share of a fast sub-operation. A pending response has no data set and only its counts change,
so its command set (implicit VR little endian, PS3.7 6.3.1) is encoded here and queued to the
association's DUL thread as P-DATA primitives, exactly what ``send_msg`` queues (the DUL thread
stays the only writer to the socket). No ``EVT_DIMSE_SENT`` event fires for these responses.
"""

from __future__ import annotations

import struct
from typing import Any

from pynetdicom.pdu_primitives import P_DATA

from app.server.fastpath import _element, _even

C_STORE_RQ = 0x0001
DATA_SET_PRESENT = 0x0001
C_MOVE_RSP = 0x8021
NO_DATA_SET = 0x0101
PENDING = 0xFF00


def encode_store_request(
    message_id: int, sop_class_uid: str, sop_instance_uid: str, originator_aet: str = "",
    originator_id: int | None = None, priority: int = 0,
) -> bytes:
    """Encode a C-STORE-RQ command set (PS3.7 Table 9.3-1), implicit VR little endian."""
    body = [
        _element(0x00000002, _even(sop_class_uid.encode("ascii"), b"\0")),
        _element(0x00000100, struct.pack("<H", C_STORE_RQ)),
        _element(0x00000110, struct.pack("<H", message_id)),
        _element(0x00000700, struct.pack("<H", priority)),
        _element(0x00000800, struct.pack("<H", DATA_SET_PRESENT)),
        _element(0x00001000, _even(sop_instance_uid.encode("ascii"), b"\0")),
    ]
    originator = originator_aet.strip()[:16]
    if originator and originator.isascii() and originator_id is not None:
        body.append(_element(0x00001030, _even(originator.encode("ascii"), b" ")))
        body.append(_element(0x00001031, struct.pack("<H", originator_id % 65536)))
    payload = b"".join(body)
    return _element(0x00000000, struct.pack("<I", len(payload))) + payload


def encode_pending_move_response(
    message_id: int, sop_class_uid: str, remaining: int, completed: int, failed: int, warning: int
) -> bytes:
    """A pending C-MOVE-RSP command set (PS3.7 Table 9.3-6) with the sub-operation counts."""
    body = [
        _element(0x00000002, _even(sop_class_uid.encode("ascii"), b"\0")),
        _element(0x00000100, struct.pack("<H", C_MOVE_RSP)),
        _element(0x00000120, struct.pack("<H", message_id)),
        _element(0x00000800, struct.pack("<H", NO_DATA_SET)),
        _element(0x00000900, struct.pack("<H", PENDING)),
        _element(0x00001020, struct.pack("<H", remaining)),
        _element(0x00001021, struct.pack("<H", completed)),
        _element(0x00001022, struct.pack("<H", failed)),
        _element(0x00001023, struct.pack("<H", warning)),
    ]
    payload = b"".join(body)
    return _element(0x00000000, struct.pack("<I", len(payload))) + payload


def send_command(assoc: Any, context_id: int, command: bytes) -> None:
    """Queue a command set without a data set to the peer, fragmented to its Maximum Length
    (PS3.8 E.2), as pynetdicom's ``DIMSEMessage.encode_msg`` does."""
    max_pdu = int(assoc.dimse.maximum_pdu_size or 0)
    room = len(command) if max_pdu <= 6 else max_pdu - 6
    for index in range(0, len(command), room):
        pdata = P_DATA()
        control = b"\x03" if index + room >= len(command) else b"\x01"
        pdata.presentation_data_value_list.append((context_id, control + command[index : index + room]))
        assoc.dul.send_pdu(pdata)
