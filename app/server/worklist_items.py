"""Worklist items as the server takes them in and gives them out (PS3.4 K.6.1, Table K.6-1).

An item arrives as DICOM JSON (PS3.18 F.2) or as a DICOM file (Part 10, or a bare data set
such as DCMTK's ``.wl`` files). It is checked (:func:`normalise`): one Scheduled Procedure
Step per item, the keys that find it present, dates and times in DICOM format, values that
fit their columns. Its text is stored decoded (Unicode), so Specific Character Set is
dropped; an answer declares the character set its values need
(:func:`app.dicom.charsets.response_charset`).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydicom import dcmread
from pydicom.datadict import get_entry
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.core.errors import DicomInputError
from app.dicom.matching import key_text
from app.server.index.records import Kind
from app.server.index.worklist_records import SPS_STATUSES, WORKLIST_KEYS, WorklistRecord

#: Largest worklist item accepted (DICOM JSON or DICOM file), in bytes.
MAX_ITEM_BYTES = 1024 * 1024

_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_SPS = "ScheduledProcedureStepSequence"
#: Keys an item must have to be found by a modality (PS3.4 Table K.6-1, Type 1 return keys).
_REQUIRED_SPS = ("Modality", "ScheduledProcedureStepStartDate")


@dataclass(frozen=True)
class WorklistItem:
    """A checked item: its matching-key values by keyword and its DICOM JSON model."""

    keys: Mapping[str, str]
    dataset: dict[str, Any]


def read_json_item(body: bytes) -> Dataset:
    """An item from DICOM JSON: one data set object, or an array holding exactly one."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DicomInputError(f"the body is not JSON ({exc}); send one DICOM JSON data set (PS3.18 F.2)") from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise DicomInputError("send one DICOM JSON data set object (PS3.18 F.2), e.g. {\"00100010\": {...}}")
    try:
        return Dataset.from_json(data)
    except Exception as exc:
        raise DicomInputError(
            f"the DICOM JSON data set is malformed ({exc}); use tags as 8 hex digits with \"vr\" and \"Value\""
        ) from None


def _unknown_tag(ds: Dataset) -> str | None:
    """The first public tag of ``ds`` the data dictionary does not know (a sign of non-DICOM bytes)."""
    for elem in ds:
        if elem.tag.is_private:
            continue
        try:
            get_entry(elem.tag)
        except KeyError:
            return str(elem.tag)
    return None


def read_file_item(body: bytes) -> Dataset:
    """An item from a DICOM file: Part 10, or a bare data set (DCMTK's ``.wl`` files)."""
    try:
        ds = dcmread(io.BytesIO(body), force=True)
        ds.decode()  # reads every element: a truncated or garbled file fails here
    except (InvalidDicomError, Exception) as exc:
        raise DicomInputError(
            f"not a readable DICOM worklist file ({type(exc).__name__}: {exc}); write it with dump2dcm or pydicom"
        ) from None
    unknown = _unknown_tag(ds)
    if len(ds) == 0 or unknown is not None:
        found = f"unknown attribute {unknown}" if unknown else "no attributes"
        raise DicomInputError(f"not a DICOM worklist file ({found}); write it with dump2dcm or pydicom")
    return ds


def _sps_item(ds: Dataset) -> Dataset:
    items = ds.get(_SPS)
    count = len(items) if items is not None else 0
    if count != 1:
        raise DicomInputError(
            f"ScheduledProcedureStepSequence (0040,0100) must hold exactly one item (one Scheduled Procedure "
            f"Step per worklist item); it holds {count}: split the item, one per step"
        )
    return items[0]


def _check_key(keyword: str, value: str) -> None:
    key = WORKLIST_KEYS[keyword]
    if value and key.kind is Kind.DATE and not _DATE.match(value):
        raise DicomInputError(f"{keyword} {value!r} is not a DICOM date; write YYYYMMDD, e.g. 20240131")
    if value and key.kind is Kind.TIME and not _TIME.match(value):
        raise DicomInputError(f"{keyword} {value!r} is not a DICOM time; write HHMMSS, e.g. 083000")
    if len(value) > key.width:
        raise DicomInputError(f"{keyword} is {len(value)} characters long; at most {key.width} are accepted")


def normalise(ds: Dataset) -> WorklistItem:
    """Check an item and bring it to its stored form (decoded text, no Specific Character Set).

    Its Scheduled Procedure Step Status key is ``""`` when the item gives none (the store
    then makes it SCHEDULED).

    Raises
    ------
    DicomInputError
        With what is wrong and how to fix it.
    """
    try:
        ds.decode()
    except Exception as exc:
        raise DicomInputError(f"the item's text cannot be decoded ({exc}); check Specific Character Set") from None
    ds = Dataset({elem.tag: elem for elem in ds if elem.tag.group not in (0x0000, 0x0002)})
    if "SpecificCharacterSet" in ds:
        del ds.SpecificCharacterSet
    sps = _sps_item(ds)
    if "SpecificCharacterSet" in sps:
        del sps.SpecificCharacterSet
    for keyword in _REQUIRED_SPS:
        if not key_text(sps.get(keyword)).strip():
            raise DicomInputError(f"the Scheduled Procedure Step has no {keyword}; a modality finds items by it")
    keys: dict[str, str] = {}
    for keyword, key in WORKLIST_KEYS.items():
        value = key_text((sps if key.in_sps else ds).get(keyword)).strip()
        _check_key(keyword, value)
        keys[keyword] = value
    status = keys["ScheduledProcedureStepStatus"]
    if status and status not in SPS_STATUSES:
        raise DicomInputError(
            f"ScheduledProcedureStepStatus {status!r} is unknown; use one of {', '.join(SPS_STATUSES)}"
        )
    try:
        stored = ds.to_json_dict()
    except Exception as exc:
        raise DicomInputError(f"the item cannot be written as DICOM JSON ({exc})") from None
    return WorklistItem(keys, stored)


def item_dataset(record: WorklistRecord) -> Dataset:
    """The stored item as a data set, with its current Scheduled Procedure Step Status."""
    ds = Dataset.from_json(record.dataset)
    for sps in ds.get(_SPS) or []:
        sps.ScheduledProcedureStepStatus = record.status
    return ds


def item_json(record: WorklistRecord) -> dict[str, Any]:
    """An item as the admin API shows it: id, status, times and the DICOM JSON data set."""
    return {
        "id": record.id,
        "status": record.status,
        "created_at": record.created_at.isoformat() + "Z",
        "updated_at": record.updated_at.isoformat() + "Z",
        "dataset": item_dataset(record).to_json_dict(),
    }
