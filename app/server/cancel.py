"""C-CANCEL requests, including those that arrive before the SCP starts on their request.

A C-CANCEL-RQ may follow its C-FIND/C-GET/C-MOVE request at any time (PS3.7 9.1.2.1.5,
9.3.2.3). pynetdicom keeps the C-CANCELs it receives in ``assoc.dimse.cancel_req`` but empties
that dictionary just before it runs the service for a request, so a cancel that arrives
while the request still waits in the queue (an SCU whose user cancels at once) is lost and the
whole result is sent. Here every received DIMSE message is watched as it is decoded, in
arrival order (``EVT_DIMSE_RECV``): a request forgets any earlier cancel of its Message ID,
a C-CANCEL marks the Message ID it responds to, and :func:`is_cancelled` sees both marks.
"""

from __future__ import annotations

from typing import Any

from pynetdicom import evt

#: Attribute of the pynetdicom association holding the cancelled Message IDs.
_ATTR = "_lightbox_cancelled"
#: Command Field values (PS3.7 E.1): C-CANCEL-RQ, and the requests it may cancel.
_C_CANCEL_RQ = 0x0FFF
_CANCELLABLE_RQ = frozenset({0x0010, 0x0020, 0x0021})  # C-GET-RQ, C-FIND-RQ, C-MOVE-RQ
#: At most this many cancel marks per association (a peer cannot grow it without bound).
_MAX_MARKS = 64


def _on_dimse_recv(event: Any) -> None:
    command = getattr(event.message, "command_set", None)
    if command is None:
        return
    field = command.get("CommandField")
    marks: set[int] = event.assoc.__dict__.setdefault(_ATTR, set())
    if field == _C_CANCEL_RQ:
        msg_id = command.get("MessageIDBeingRespondedTo")
        if msg_id is not None and len(marks) < _MAX_MARKS:
            marks.add(int(msg_id))
    elif field in _CANCELLABLE_RQ and command.get("MessageID") is not None:
        marks.discard(int(command.MessageID))


def handlers() -> list[Any]:
    """The event binding that watches for C-CANCEL on an SCP AE."""
    return [(evt.EVT_DIMSE_RECV, _on_dimse_recv)]


def cancelled(assoc: Any, message_id: int) -> bool:
    """True when a C-CANCEL for ``message_id`` was received on ``assoc`` since its request."""
    if message_id in getattr(assoc.dimse, "cancel_req", {}):
        return True
    return message_id in assoc.__dict__.get(_ATTR, ())


def is_cancelled(event: Any) -> bool:
    """True when the request of a C-FIND/C-GET/C-MOVE handler ``event`` was cancelled: seen by
    pynetdicom (``event.is_cancelled``) or marked here before its service started."""
    if event.is_cancelled:
        return True
    assoc = getattr(event, "assoc", None)
    msg_id = getattr(event.request, "MessageID", None)
    return assoc is not None and msg_id is not None and int(msg_id) in assoc.__dict__.get(_ATTR, ())
