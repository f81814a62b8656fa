"""Pending C-MOVE responses encoded directly (app.server.move_responses) against pydicom's
encoding of the same command set; the C-MOVE integration tests read them with pynetdicom
and DCMTK ``movescu`` (tests/integration/test_qr_move.py)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pynetdicom.dsutils import encode

from app.server.move_responses import encode_pending_move_response

STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"


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
