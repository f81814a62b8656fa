"""The C-STORE-RQ and pending C-MOVE-RSP command sets encoded directly (app.server.move_commands)
against pydicom's encoding of the same command sets; the C-MOVE integration tests read them with pynetdicom
and DCMTK ``movescu`` (tests/integration/test_qr_move.py)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pynetdicom.dsutils import encode

from app.server.move_commands import encode_pending_move_response, encode_store_request

STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


@pytest.mark.parametrize("counts", [(499, 1, 0, 0), (3, 10, 2, 1), (0, 65535, 0, 0)])
def test_pending_move_response_matches_pydicom(counts: tuple[int, int, int, int]) -> None:
    remaining, completed, failed, warning = counts
    ds = Dataset()
    ds.AffectedSOPClassUID = STUDY_ROOT_MOVE
    ds.CommandField = 0x8021
    ds.MessageIDBeingRespondedTo = 7
    ds.CommandDataSetType = 0x0101
    ds.Status = 0xFF00
    ds.NumberOfRemainingSuboperations = remaining
    ds.NumberOfCompletedSuboperations = completed
    ds.NumberOfFailedSuboperations = failed
    ds.NumberOfWarningSuboperations = warning
    body = encode(ds, True, True)
    assert body is not None
    ds.CommandGroupLength = len(body)
    assert encode_pending_move_response(7, STUDY_ROOT_MOVE, *counts) == encode(ds, True, True)


@pytest.mark.parametrize(("originator", "originator_id"), [("", None), ("MOVER", 7), ("MOVE", 70000)])
def test_store_request_encoding_matches_pydicom(originator: str, originator_id: int | None) -> None:
    ds = Dataset()
    ds.AffectedSOPClassUID = CT_IMAGE
    ds.CommandField = 0x0001
    ds.MessageID = 12
    ds.Priority = 0
    ds.CommandDataSetType = 0x0001
    ds.AffectedSOPInstanceUID = "1.2.3.45"
    if originator:
        ds.MoveOriginatorApplicationEntityTitle = originator
        ds.MoveOriginatorMessageID = (originator_id or 0) % 65536
    body = encode(ds, True, True)
    assert body is not None
    ds.CommandGroupLength = len(body)
    expected = encode(ds, True, True)
    assert encode_store_request(12, CT_IMAGE, "1.2.3.45", originator, originator_id) == expected
