"""Hand-made DIMSE frames for tests that must send what a well-behaved SCU never would
(a data set cut short, an abort in the middle of a C-STORE)."""

from __future__ import annotations

import struct
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.dsutils import encode

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def store_command(message_id: int, sop_instance: str, sop_class: str = CT_IMAGE) -> bytes:
    """A C-STORE-RQ command set, implicit VR little endian (PS3.7 9.3.1.1)."""
    ds = Dataset()
    ds.AffectedSOPClassUID = sop_class
    ds.CommandField = 0x0001
    ds.MessageID = message_id
    ds.Priority = 0
    ds.CommandDataSetType = 0x0001
    ds.AffectedSOPInstanceUID = sop_instance
    body = encode(ds, True, True)
    assert body is not None
    ds.CommandGroupLength = len(body)
    out = encode(ds, True, True)
    assert out is not None
    return out


def request_command(command_field: int, message_id: int, sop_class: str, **extra: Any) -> bytes:
    """A DIMSE request command set with a data set following (C-FIND-RQ 0x0020, C-MOVE-RQ
    0x0021, ...; PS3.7 9.3), implicit VR little endian; ``extra`` adds command elements."""
    ds = Dataset()
    ds.AffectedSOPClassUID = sop_class
    ds.CommandField = command_field
    ds.MessageID = message_id
    ds.Priority = 0
    ds.CommandDataSetType = 0x0001
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    body = encode(ds, True, True)
    assert body is not None
    ds.CommandGroupLength = len(body)
    out = encode(ds, True, True)
    assert out is not None
    return out


def p_data(context_id: int, control: int, data: bytes) -> bytes:
    """One P-DATA-TF PDU with one presentation data value item (PS3.8 9.3.5)."""
    item = struct.pack(">IBB", len(data) + 2, context_id, control) + data
    return struct.pack(">BBI", 0x04, 0, len(item)) + item


def associate_qr(
    calling: str, port: int, model: str, called: str, *, relational: bool = False, timeout: float = 20
) -> Any:
    """An association to a Q/R SCP on 127.0.0.1 proposing ``model``, optionally asking for
    relational queries/retrievals (SOP Class Extended Negotiation, PS3.4 C.5.1)."""
    from pydicom.uid import ExplicitVRLittleEndian
    from pynetdicom import AE
    from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation

    ae = AE(calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(model, ExplicitVRLittleEndian)
    ext_neg = []
    if relational:
        item = SOPClassExtendedNegotiation()
        item.sop_class_uid = model
        item.service_class_application_information = b"\x01"
        ext_neg.append(item)
    assoc = ae.associate("127.0.0.1", port, ae_title=called, ext_neg=ext_neg)
    assert assoc.is_established
    return assoc


def find_and_cancel(assoc: Any, query: Any, model: str, msg_id: int) -> tuple[int, int]:
    """Send a C-FIND and, right behind it, a C-CANCEL for it (PS3.7 9.3.2.3); read the answers.
    Returns the number of pending responses received and the final status.

    pynetdicom's ``send_c_find`` puts the request on the wire before it returns, so the
    cancel always follows it. Cancelling only once the first pending response is read would
    race with a fast SCP, which may have sent every response by then.
    """
    responses = assoc.send_c_find(query, model, msg_id=msg_id)
    assoc.send_c_cancel(msg_id, assoc.accepted_contexts[0].context_id)
    pending, final = 0, -1
    for status, _identifier in responses:
        if status.Status in (0xFF00, 0xFF01):
            pending += 1
        else:
            final = int(status.Status)
    return pending, final


def collect_find(assoc: Any, query: Any, model: str) -> tuple[list[Any], Any]:
    """Send one C-FIND on an established association and release it: the pending identifiers
    and the final status data set."""
    from pydicom.dataset import Dataset

    matches: list[Any] = []
    final = Dataset()
    try:
        for status, identifier in assoc.send_c_find(query, model):
            if status.Status in (0xFF00, 0xFF01):
                matches.append(identifier)
            else:
                final = status
    finally:
        assoc.release()
    return matches, final
