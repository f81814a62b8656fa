"""Command sets encoded by hand (PS3.7 E.1): byte for byte what pydicom writes, or left to it."""

from __future__ import annotations

import random
from io import BytesIO
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import dimse_messages, dimse_primitives
from pynetdicom.dsutils import encode

from app.server.command_encoding import encode_command, install

UIDS = ("1.2.840.10008.5.1.4.1.2.2.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.3", "1.2.34")
TITLES = ("A", "AB", "STORESCP", "DICOM_QR_SCP    ")
COMMENTS = ("x", "More than 500 matches: narrow the search", "query failed: ValueError")


def _primitives(rnd: random.Random) -> list[tuple[str, Any]]:
    """Requests and responses of the services the server runs, with random values."""
    uid, iuid, title = rnd.choice(UIDS), rnd.choice(UIDS), rnd.choice(TITLES)
    msg_id = rnd.choice((1, 2, 255, 65535))
    status = rnd.choice((0x0000, 0xFF00, 0xFF01, 0xFE00, 0xA700, 0xA900, 0xC000, 0xB000))
    identifier = BytesIO(b"\x08\x00\x52\x00\x06\x00\x00\x00STUDY ") if rnd.random() < 0.5 else None
    out: list[tuple[str, Any]] = []
    find = dimse_primitives.C_FIND()
    find.MessageIDBeingRespondedTo, find.AffectedSOPClassUID, find.Status = msg_id, uid, status
    find.Identifier = identifier
    out.append(("C_FIND_RSP", find))
    req = dimse_primitives.C_FIND()
    req.MessageID, req.AffectedSOPClassUID, req.Priority = msg_id, uid, rnd.choice((0, 1, 2))
    req.Identifier = BytesIO(b"\x08\x00\x52\x00\x06\x00\x00\x00STUDY ")
    out.append(("C_FIND_RQ", req))
    store = dimse_primitives.C_STORE()
    store.MessageID, store.AffectedSOPClassUID, store.AffectedSOPInstanceUID = msg_id, uid, iuid
    store.Priority = 0
    if rnd.random() < 0.5:
        store.MoveOriginatorApplicationEntityTitle, store.MoveOriginatorMessageID = title, msg_id
    store.DataSet = BytesIO(b"\x08\x00\x18\x00\x06\x00\x00\x001.2.3\x00")
    out.append(("C_STORE_RQ", store))
    stored = dimse_primitives.C_STORE()
    stored.MessageIDBeingRespondedTo, stored.AffectedSOPClassUID = msg_id, uid
    stored.AffectedSOPInstanceUID, stored.Status = iuid, rnd.choice((0x0000, 0xB000, 0xA700))
    out.append(("C_STORE_RSP", stored))
    move = dimse_primitives.C_MOVE()
    move.MessageIDBeingRespondedTo, move.AffectedSOPClassUID, move.Status = msg_id, uid, status
    move.NumberOfRemainingSuboperations = rnd.choice((None, 0, 499))
    move.NumberOfCompletedSuboperations = rnd.choice((None, 1, 500))
    move.NumberOfFailedSuboperations = rnd.choice((None, 0))
    move.NumberOfWarningSuboperations = rnd.choice((None, 0, 3))
    if rnd.random() < 0.3:
        move.ErrorComment = rnd.choice(COMMENTS)
    out.append(("C_MOVE_RSP", move))
    echo = dimse_primitives.C_ECHO()
    echo.MessageIDBeingRespondedTo, echo.AffectedSOPClassUID, echo.Status = msg_id, "1.2.840.10008.1.1", 0
    out.append(("C_ECHO_RSP", echo))
    return out


def test_command_sets_encode_as_pydicom_does() -> None:
    rnd = random.Random(2026)
    checked = 0
    for _ in range(150):
        for name, primitive in _primitives(rnd):
            message = getattr(dimse_messages, name)()
            message.primitive_to_message(primitive)
            expected = encode(message.command_set, True, True)
            assert expected, name
            assert encode_command(message.command_set) == expected, (name, message.command_set)
            checked += 1
    assert checked == 150 * 6


def test_other_data_sets_are_left_to_pydicom() -> None:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    assert encode_command(identifier) is None  # not group 0000
    offending = Dataset()
    offending.OffendingElement = [0x00100010, 0x00100020]  # AT, multi-valued: not handled here
    assert encode_command(offending) is None
    big = Dataset()
    big.add_new(0x00000110, "US", 70000)  # out of range for US: pydicom's own error path
    assert encode_command(big) is None


@pytest.mark.parametrize("status", [0xFF00, 0xA700])
def test_installed_messages_are_unchanged_on_the_wire(status: int) -> None:
    """A whole C-FIND-RSP (P-DATA fragments) is the same with the hand encoder installed."""
    def fragments() -> list[bytes]:
        rsp = dimse_primitives.C_FIND()
        rsp.MessageIDBeingRespondedTo, rsp.AffectedSOPClassUID, rsp.Status = 7, UIDS[0], status
        rsp.Identifier = BytesIO(b"\x08\x00\x52\x00\x06\x00\x00\x00STUDY ") if status == 0xFF00 else None
        message = dimse_messages.C_FIND_RSP()
        message.primitive_to_message(rsp)
        return [pdv[1] for p in message.encode_msg(1, 16384) for pdv in p.presentation_data_value_list]

    original = dimse_messages.encode
    try:
        dimse_messages.encode = encode  # pydicom's own
        expected = fragments()
        dimse_messages.encode = original
        assert install() and install()  # idempotent
        assert getattr(dimse_messages.encode, "lightbox_commands", False)
        assert fragments() == expected and len(expected) == (2 if status == 0xFF00 else 1)
    finally:
        dimse_messages.encode = original
