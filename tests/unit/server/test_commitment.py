"""Storage commitment rules (app.server.commitment, PS3.4 J.3): request checks, file checks, report."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from app.server.checksum import checksum_of_bytes
from app.server.commitment import (
    ALL_COMMITTED,
    MAX_REFERENCES,
    SOME_FAILED,
    CommitmentRequest,
    Reference,
    RequestRefused,
    event_information,
    parse_request,
    verify,
)
from app.server.index.records import StoredInstance

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"


def _stored(tmp_path: Path, uid: str, data: bytes, *, sop_class: str = CT, checksum: str | None = "auto",
            relpath: str | None = None) -> StoredInstance:
    relpath = relpath or f"{uid}.dcm"
    (tmp_path / relpath).write_bytes(data)
    recorded = checksum_of_bytes(data) if checksum == "auto" else checksum
    return StoredInstance(1, "1.2", "1.2.1", uid, sop_class, "1.2.840.10008.1.2.1", relpath, len(data), recorded)


def _info(refs: list[tuple[str, str]]) -> Dataset:
    info = Dataset()
    info.TransactionUID = "1.2.3.4"
    items = []
    for sop_class, sop_instance in refs:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        items.append(item)
    info.ReferencedSOPSequence = items
    return info


def test_parse_request_keeps_order_and_round_trips_through_the_job_payload() -> None:
    request = parse_request(_info([(CT, "1.2.5"), (MR, "1.2.6")]))
    assert request.transaction_uid == "1.2.3.4"
    assert request.references == (Reference(CT, "1.2.5"), Reference(MR, "1.2.6"))
    assert CommitmentRequest.from_payload(request.payload()) == request


def test_parse_request_bounds_the_number_of_items() -> None:
    with pytest.raises(RequestRefused) as caught:
        parse_request(_info([(CT, f"1.2.{n}") for n in range(MAX_REFERENCES + 1)]))
    assert caught.value.status == 0x0213


def test_missing_class_uid_in_an_item_is_a_missing_attribute() -> None:
    info = _info([(CT, "1.2.5")])
    del info.ReferencedSOPSequence[0].ReferencedSOPClassUID
    with pytest.raises(RequestRefused) as caught:
        parse_request(info)
    assert caught.value.status == 0x0120
    assert "item 1" in caught.value.comment


def test_verify_reads_the_files(tmp_path: Path) -> None:
    data = b"DICM" + bytes(range(256)) * 40
    good = _stored(tmp_path, "1.1", data)
    flipped = _stored(tmp_path, "1.2", data)
    (tmp_path / flipped.relpath).write_bytes(data[:-1] + b"\x00")  # same size, other content
    short = _stored(tmp_path, "1.3", data)
    (tmp_path / short.relpath).write_bytes(data[:-10])
    gone = _stored(tmp_path, "1.4", data)
    (tmp_path / gone.relpath).unlink()
    stored = {s.sop_instance_uid: [s] for s in (good, flipped, short, gone)}
    refs = [Reference(CT, u) for u in ("1.1", "1.2", "1.3", "1.4", "9.9")] + [Reference(MR, "1.1")]
    verdicts = verify(refs, stored, lambda rel: tmp_path / rel)
    assert [v.failure_reason for v in verdicts] == [None, 0x0110, 0x0110, 0x0110, 0x0112, 0x0119]
    assert "checksum" in verdicts[1].why and "size" in verdicts[2].why and "missing" in verdicts[3].why


def test_rows_without_checksum_are_checked_by_size_only(tmp_path: Path) -> None:
    data = bytes(1000)
    old = _stored(tmp_path, "2.1", data, checksum=None)  # indexed before revision 0002
    (tmp_path / old.relpath).write_bytes(b"\x01" * 1000)  # same size: accepted
    resized = _stored(tmp_path, "2.2", data, checksum=None)
    (tmp_path / resized.relpath).write_bytes(bytes(999))
    verdicts = verify([Reference(CT, "2.1"), Reference(CT, "2.2")], {"2.1": [old], "2.2": [resized]},
                      lambda rel: tmp_path / rel)
    assert [v.committed for v in verdicts] == [True, False]


def test_a_damaged_copy_does_not_hide_an_intact_one(tmp_path: Path) -> None:
    data = bytes(range(200))
    first = _stored(tmp_path, "3.1", data, relpath="a.dcm")
    second = _stored(tmp_path, "3.1", data, relpath="b.dcm")
    (tmp_path / "b.dcm").write_bytes(data[:50])  # the newest copy is damaged
    [verdict] = verify([Reference(CT, "3.1")], {"3.1": [first, second]}, lambda rel: tmp_path / rel)
    assert verdict.committed


def test_event_information_of_each_outcome(tmp_path: Path) -> None:
    data = bytes(10)
    ok = _stored(tmp_path, "4.1", data)
    verdicts = verify([Reference(CT, "4.1")], {"4.1": [ok]}, lambda rel: tmp_path / rel)
    event_type, info = event_information("1.2.9", verdicts, "QR_AE")
    assert event_type == ALL_COMMITTED
    assert info.TransactionUID == "1.2.9" and info.RetrieveAETitle == "QR_AE"
    assert "FailedSOPSequence" not in info
    verdicts = verify([Reference(CT, "4.2")], {}, lambda rel: tmp_path / rel)
    event_type, info = event_information("1.2.9", verdicts, "QR_AE")
    assert event_type == SOME_FAILED
    assert "ReferencedSOPSequence" not in info and "RetrieveAETitle" not in info
    assert info.FailedSOPSequence[0].FailureReason == 0x0112
