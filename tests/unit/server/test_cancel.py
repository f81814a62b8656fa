"""C-CANCEL marks kept in arrival order (PS3.7 9.3.2.3): a cancel counts for the request it
follows, and a later request with the same Message ID starts uncancelled."""

from __future__ import annotations

from types import SimpleNamespace

from pydicom.dataset import Dataset

from app.server import cancel


def _message(**command: int) -> SimpleNamespace:
    ds = Dataset()
    for keyword, value in command.items():
        setattr(ds, keyword, value)
    return SimpleNamespace(command_set=ds)


def _received(assoc: SimpleNamespace, **command: int) -> None:
    ((_, handler),) = cancel.handlers()
    handler(SimpleNamespace(assoc=assoc, message=_message(**command)))


def _event(assoc: SimpleNamespace, msg_id: int) -> SimpleNamespace:
    return SimpleNamespace(assoc=assoc, request=SimpleNamespace(MessageID=msg_id), is_cancelled=False)


def test_a_cancel_received_before_the_service_starts_counts() -> None:
    assoc = SimpleNamespace(dimse=SimpleNamespace(cancel_req={}))
    _received(assoc, CommandField=0x0020, MessageID=7)  # C-FIND-RQ
    _received(assoc, CommandField=0x0FFF, MessageIDBeingRespondedTo=7)  # C-CANCEL-RQ
    assoc.dimse.cancel_req = {}  # what pynetdicom does before it runs the service
    assert cancel.is_cancelled(_event(assoc, 7))
    assert not cancel.is_cancelled(_event(assoc, 8))


def test_a_new_request_with_the_same_id_is_not_cancelled() -> None:
    assoc = SimpleNamespace(dimse=SimpleNamespace(cancel_req={}))
    _received(assoc, CommandField=0x0021, MessageID=1)  # C-MOVE-RQ
    _received(assoc, CommandField=0x0FFF, MessageIDBeingRespondedTo=1)
    _received(assoc, CommandField=0x0020, MessageID=1)  # the next request reuses the ID
    assert not cancel.cancelled(assoc, 1)


def test_marks_are_bounded() -> None:
    assoc = SimpleNamespace(dimse=SimpleNamespace(cancel_req={}))
    for n in range(1000):
        _received(assoc, CommandField=0x0FFF, MessageIDBeingRespondedTo=n)
    assert len(assoc.__dict__["_lightbox_cancelled"]) <= 64
