"""Storage Commitment Push Model, SCP side: the request, the check, the report (PS3.4 J.3).

An SCU asks, with an N-ACTION (Action Type ID 1, PS3.4 J.3.2), that the SCP commit to
keep the SOP instances listed in the Referenced SOP Sequence of the Action Information,
under a Transaction UID. The SCP answers the N-ACTION at once, then checks each instance
and reports the outcome with an N-EVENT-REPORT (PS3.4 J.3.3): Event Type ID 1 when every
instance is committed, 2 when some failed, with the Referenced SOP Sequence (committed)
and the Failed SOP Sequence (each item with a Failure Reason, PS3.4 J.3.3.1.1).

Here an instance is committed only when the index holds it with the referenced SOP class
*and* its file is in the storage area with the size and checksum recorded at ingest
(:mod:`app.server.checksum`; rows indexed before checksums existed are checked by size).
This module holds the values and rules; the DIMSE side is :mod:`app.server.handlers.commitment`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from app.core.errors import AppError
from app.server.checksum import digest_file, is_supported
from app.server.index.records import StoredInstance

LOGGER = logging.getLogger(__name__)

#: Storage Commitment Push Model SOP Class and its well-known SOP Instance (PS3.4 J.3.5, PS3.6 A).
PUSH_MODEL = "1.2.840.10008.1.20.1"
PUSH_MODEL_INSTANCE = "1.2.840.10008.1.20.1.1"

#: Action Type ID of "Request Storage Commitment" (PS3.4 Table J.3-1).
REQUEST_COMMITMENT = 1
#: Event Type IDs of the report (PS3.4 Table J.3-2).
ALL_COMMITTED = 1
SOME_FAILED = 2

#: N-ACTION statuses (PS3.7 10.1.4.1.10 and Annex C).
SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
NO_SUCH_OBJECT_INSTANCE = 0x0112
NO_SUCH_SOP_CLASS = 0x0118
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
NO_SUCH_ACTION = 0x0123
RESOURCE_LIMITATION = 0x0213

#: Failure Reasons (0008,1197) of the Failed SOP Sequence (PS3.4 J.3.3.1.1).
REASON_PROCESSING_FAILURE = 0x0110
REASON_NO_SUCH_INSTANCE = 0x0112
REASON_CLASS_INSTANCE_CONFLICT = 0x0119

#: Most referenced instances one request may name (larger requests: 0x0213, resource limitation).
MAX_REFERENCES = 10_000
#: Largest encoded Action Information accepted, in bytes (checked before it is decoded).
MAX_ACTION_INFORMATION_BYTES = 8 * 1024 * 1024


class RequestRefused(AppError):
    """An N-ACTION that cannot be accepted; carries the status to answer (PS3.7 C)."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment


@dataclass(frozen=True)
class Reference:
    """One instance the SCU asks the SCP to commit (an item of the Referenced SOP Sequence)."""

    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True)
class CommitmentRequest:
    """The Action Information of one storage commitment request (PS3.4 Table J.3-1)."""

    transaction_uid: str
    references: tuple[Reference, ...]

    def payload(self) -> dict[str, Any]:
        """The request as JSON values (part of the durable report job's payload)."""
        return {
            "transaction_uid": self.transaction_uid,
            "references": [[r.sop_class_uid, r.sop_instance_uid] for r in self.references],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> CommitmentRequest:
        """Inverse of :meth:`payload`; raises ``ValueError`` when it is malformed."""
        transaction_uid = payload.get("transaction_uid")
        references = payload.get("references")
        if not isinstance(transaction_uid, str) or not isinstance(references, list):
            raise ValueError("payload lacks transaction_uid or references")
        parsed = tuple(Reference(str(c), str(i)) for c, i in references)
        return cls(transaction_uid, parsed)


def _uid_value(value: Any, keyword: str, where: str) -> str:
    """A UID element's value, checked: 0x0121 when empty, 0x0106 when not a valid UID."""
    text = str(value or "").strip().rstrip("\x00")
    if not text:
        raise RequestRefused(MISSING_ATTRIBUTE_VALUE, f"{keyword} is empty{where}")
    if len(text) > 64 or not UID(text).is_valid:
        raise RequestRefused(INVALID_ATTRIBUTE_VALUE, f"{keyword} is not a valid UID{where}")
    return text


def parse_request(info: Dataset) -> CommitmentRequest:
    """Check the Action Information of a Request Storage Commitment (PS3.4 J.3.2.1.1).

    Transaction UID (0008,1195) and Referenced SOP Sequence (0008,1199), each item with
    Referenced SOP Class UID (0008,1150) and Referenced SOP Instance UID (0008,1155), are
    required (type 1). A missing element is refused with 0x0120 (missing attribute), an
    empty one with 0x0121 (missing attribute value), a malformed one with 0x0106 (invalid
    attribute value); more than :data:`MAX_REFERENCES` items with 0x0213 (resource
    limitation).
    """
    if "TransactionUID" not in info:
        raise RequestRefused(MISSING_ATTRIBUTE, "Transaction UID (0008,1195) missing")
    transaction_uid = _uid_value(info.TransactionUID, "Transaction UID (0008,1195)", "")
    if "ReferencedSOPSequence" not in info:
        raise RequestRefused(MISSING_ATTRIBUTE, "Referenced SOP Sequence (0008,1199) missing")
    items = info.ReferencedSOPSequence
    if not items:
        raise RequestRefused(MISSING_ATTRIBUTE_VALUE, "Referenced SOP Sequence (0008,1199) is empty")
    if len(items) > MAX_REFERENCES:
        raise RequestRefused(RESOURCE_LIMITATION, f"more than {MAX_REFERENCES} instances in one request")
    references: list[Reference] = []
    for number, item in enumerate(items, start=1):
        where = f" in item {number} of the Referenced SOP Sequence"
        for keyword, tag in (("ReferencedSOPClassUID", "0008,1150"), ("ReferencedSOPInstanceUID", "0008,1155")):
            if keyword not in item:
                raise RequestRefused(MISSING_ATTRIBUTE, f"{keyword} ({tag}) missing{where}")
        references.append(Reference(
            _uid_value(item.ReferencedSOPClassUID, "Referenced SOP Class UID", where),
            _uid_value(item.ReferencedSOPInstanceUID, "Referenced SOP Instance UID", where),
        ))
    return CommitmentRequest(transaction_uid, tuple(references))


@dataclass(frozen=True)
class Verdict:
    """The outcome for one referenced instance: committed, or the Failure Reason and why."""

    reference: Reference
    failure_reason: int | None = None
    why: str = ""

    @property
    def committed(self) -> bool:
        return self.failure_reason is None


def _check_copy(copy: StoredInstance, path_of: Callable[[str], Path]) -> str:
    """Why a stored copy cannot be committed, or ``""`` when its file is intact."""
    try:
        path = path_of(copy.relpath)
        if copy.checksum is None or not is_supported(copy.checksum):
            size = path.stat().st_size  # indexed before checksums: size only
            return "" if size == copy.size else f"file size {size} differs from the {copy.size} stored"
        digest = digest_file(path)
    except FileNotFoundError:
        return "file missing from the storage area"
    except (OSError, AppError) as exc:
        return f"file unreadable: {exc}"
    if digest.size != copy.size:
        return f"file size {digest.size} differs from the {copy.size} stored"
    if digest.checksum != copy.checksum:
        return "file checksum differs from the one recorded at storage"
    return ""


def verify(
    references: Sequence[Reference],
    stored: Mapping[str, Sequence[StoredInstance]],
    path_of: Callable[[str], Path],
) -> list[Verdict]:
    """Check each referenced instance against the index and its file (PS3.4 J.3.3).

    Parameters
    ----------
    references
        The instances of the request.
    stored
        The indexed copies of each SOP Instance UID (``Catalogue.instances_by_uid``).
    path_of
        Absolute path of a stored file from its relative path (``Storage.path_of``).

    Returns
    -------
    list of Verdict
        In request order: committed when a copy with the referenced SOP class has an
        intact file (the newest such copy is read first, each file once); else Failure
        Reason 0x0112 (not in the index), 0x0119 (indexed with another SOP class) or
        0x0110 (file missing, of another size or checksum, or unreadable).
    """
    verdicts: list[Verdict] = []
    checked: dict[str, str] = {}  # relpath -> why it failed ("" = intact)
    for reference in references:
        copies = list(stored.get(reference.sop_instance_uid, ()))
        if not copies:
            verdicts.append(Verdict(reference, REASON_NO_SUCH_INSTANCE, "not in the index"))
            continue
        matching = [c for c in reversed(copies) if c.sop_class_uid == reference.sop_class_uid]
        if not matching:
            verdicts.append(Verdict(
                reference, REASON_CLASS_INSTANCE_CONFLICT, f"stored with SOP class {copies[-1].sop_class_uid}"
            ))
            continue
        reasons = []
        for copy in matching:
            if copy.relpath not in checked:
                checked[copy.relpath] = _check_copy(copy, path_of)
            reasons.append(checked[copy.relpath])
            if not reasons[-1]:
                break
        if reasons[-1]:
            verdicts.append(Verdict(reference, REASON_PROCESSING_FAILURE, reasons[-1]))
        else:
            verdicts.append(Verdict(reference))
    return verdicts


def _reference_item(reference: Reference, failure_reason: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = reference.sop_class_uid
    item.ReferencedSOPInstanceUID = reference.sop_instance_uid
    if failure_reason is not None:
        item.FailureReason = failure_reason
    return item


def event_information(transaction_uid: str, verdicts: Sequence[Verdict], retrieve_ae_title: str) -> tuple[int, Dataset]:
    """The Event Type ID and Event Information of the report (PS3.4 Table J.3-2).

    Retrieve AE Title (0008,0054) names the Q/R SCP the committed instances can be
    retrieved from; it is given only when something was committed.
    """
    info = Dataset()
    info.TransactionUID = transaction_uid
    committed = [v for v in verdicts if v.committed]
    failed = [v for v in verdicts if not v.committed]
    if committed:
        if retrieve_ae_title:
            info.RetrieveAETitle = retrieve_ae_title
        info.ReferencedSOPSequence = [_reference_item(v.reference) for v in committed]
    if failed:
        info.FailedSOPSequence = [_reference_item(v.reference, v.failure_reason) for v in failed]
    return (SOME_FAILED if failed else ALL_COMMITTED), info
