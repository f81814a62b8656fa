"""Modality Worklist C-FIND identifiers: the search they ask for and the answers they get
(PS3.4 K.4.1, K.6.1.2, C.2.2.2).

:func:`parse_identifier` splits an identifier into

- the keys the worklist store matches in SQL (the reference's appendix F keys, with
  columns: :data:`app.server.index.worklist_records.WORKLIST_KEYS`), at the top level or in
  the one item of the Scheduled Procedure Step Sequence;
- every other non-empty key, matched here on the stored item (:func:`item_matches`):
  single value and wildcard (``*``, ``?``), case-sensitive; date, time and date-time ranges;
  lists of UIDs; numbers by value; sequence matching (an item of the stored sequence matches
  every key of the query's item, C.2.2.2.6). Binary values are return keys only.

:func:`response` builds one answer with exactly the requested keys, zero-length when the
item has no value, sequences with the requested sub-keys in each item (a sequence asked
for with no item comes back whole).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydicom import config
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from app.dicom.charsets import declare, response_charset
from app.dicom.matching import key_text
from app.server.index.worklist_records import WORKLIST_KEYS

_SPS = "ScheduledProcedureStepSequence"
_NUMBERS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"}
_BINARY = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "AT"}
_TOP_COLUMNS = frozenset(k for k, key in WORKLIST_KEYS.items() if not key.in_sps)
_SPS_COLUMNS = frozenset(k for k, key in WORKLIST_KEYS.items() if key.in_sps)


class IdentifierError(ValueError):
    """An identifier the MWL SCP cannot serve (answered 0xA900, PS3.4 Table K.4-2)."""


@dataclass(frozen=True)
class WorklistQuery:
    """A parsed MWL identifier: SQL filters, and whether keys remain for :func:`item_matches`."""

    identifier: Dataset
    filters: dict[str, str] = field(default_factory=dict)
    residual: bool = False


#: Elements of an identifier that are neither matching nor return keys of the worklist model.
_NOT_KEYS = frozenset({"SpecificCharacterSet", "QueryRetrieveLevel"})


def _ignored(elem: DataElement) -> bool:
    return elem.tag.group in (0x0000, 0x0002) or _keyword(elem) in _NOT_KEYS


def _is_universal(elem: DataElement) -> bool:
    if elem.VR == "SQ":
        items = elem.value or []
        return not items or all(_is_universal(sub) for sub in items[0])
    return elem.VR in _BINARY or key_text(elem.value).strip() in ("", "*")


def _keyword(elem: DataElement) -> str:
    return str(elem.keyword or "")


def parse_identifier(identifier: Dataset) -> WorklistQuery:
    """Read a Modality Worklist C-FIND identifier (PS3.4 K.6.1.2.2).

    Raises
    ------
    IdentifierError
        The Scheduled Procedure Step Sequence has more than one item (K.6.1.2.2: one item).
    """
    filters: dict[str, str] = {}
    residual = False
    for elem in identifier:
        if _ignored(elem):
            continue
        if _keyword(elem) == _SPS:
            items = elem.value or []
            if len(items) > 1:
                raise IdentifierError("Scheduled Procedure Step Sequence must have one item")
            for sub in items[0] if items else []:
                if _keyword(sub) in _SPS_COLUMNS and sub.VR != "SQ":
                    filters[_keyword(sub)] = key_text(sub.value).strip()
                elif not _is_universal(sub):
                    residual = True
        elif _keyword(elem) in _TOP_COLUMNS and elem.VR != "SQ":
            filters[_keyword(elem)] = key_text(elem.value).strip()
        elif not _is_universal(elem):
            residual = True
    return WorklistQuery(identifier, {k: v for k, v in filters.items() if v not in ("", "*")}, residual)


@lru_cache(maxsize=256)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _in_range(value: str, query: str, vr: str) -> bool:
    """Range matching (PS3.4 C.2.2.2.5); fractions of seconds ignored, an upper time end
    includes the whole second (minute, hour) it names."""
    low, _, high = query.partition("-")
    if vr == "TM":
        value, low, high = (v.partition(".")[0] for v in (value, low, high))
    if low and value < low:
        return False
    return not (high and value > high + ("~" if vr in ("TM", "DT") else ""))


def _value_matches(query: str, stored: str, vr: str) -> bool:
    stored = stored.strip()
    if vr in ("DA", "TM", "DT"):
        query = query.replace(":", "") if vr == "TM" else query.replace(".", "") if vr == "DA" else query
        if "-" in query:
            return bool(stored) and _in_range(stored, query, vr)
        if vr == "TM":
            return stored.partition(".")[0].startswith(query.partition(".")[0])
        return stored == query
    if vr in _NUMBERS:
        try:
            return float(stored) == float(query)
        except ValueError:
            return False
    if "*" in query or "?" in query:
        return _wildcard(query).fullmatch(stored) is not None
    return stored == query


def _element_matches(query: DataElement, stored: Dataset) -> bool:
    if _is_universal(query):
        return True
    found = stored.get(query.tag)
    if found is None:
        return False
    if query.VR == "SQ":
        wanted = query.value[0]
        return any(item_matches(wanted, item) for item in found.value or [])
    values = [v for v in key_text(found.value).split("\\") if v.strip()]
    wanted_text = key_text(query.value).strip()
    alternatives = wanted_text.split("\\") if query.VR == "UI" else [wanted_text]
    return any(_value_matches(q.strip(), v, query.VR) for q in alternatives for v in values)


def item_matches(query: Dataset, stored: Dataset, *, skip: frozenset[str] = frozenset()) -> bool:
    """Whether ``stored`` matches every key of ``query`` other than those in ``skip`` (PS3.4 C.2.2.2)."""
    for elem in query:
        keyword = _keyword(elem)
        if _ignored(elem) or keyword in skip:
            continue
        if keyword == _SPS and elem.value:
            items = stored.get(_SPS) or []
            if not any(item_matches(elem.value[0], sps, skip=_SPS_COLUMNS) for sps in items):
                return False
        elif not _element_matches(elem, stored):
            return False
    return True


def matches(query: WorklistQuery, stored: Dataset) -> bool:
    """Whether a stored item (already matched on the SQL keys) matches the rest of the identifier."""
    return not query.residual or item_matches(query.identifier, stored, skip=_TOP_COLUMNS)


#: Response elements copy values already held by a stored item (checked when it was imported):
#: pydicom's per-element validation would only repeat that, at a cost per element.
_TRUSTED = config.IGNORE


def _project(query: Dataset, stored: Dataset) -> Dataset:
    out = Dataset()
    for elem in query:
        if _ignored(elem):
            continue
        found = stored.get(elem.tag)
        if elem.VR == "SQ":
            items = list(found.value) if found is not None and found.VR == "SQ" and found.value else []
            wanted = elem.value[0] if elem.value else None
            value = Sequence([_project(wanted, item) if wanted is not None else copy.deepcopy(item) for item in items])
            out.add(DataElement(elem.tag, "SQ", value, validation_mode=_TRUSTED))
        elif found is not None:
            out.add(DataElement(elem.tag, found.VR, found.value, validation_mode=_TRUSTED))
        else:
            out.add(DataElement(elem.tag, elem.VR, None, validation_mode=_TRUSTED))
    return out


def _values(ds: Dataset) -> list[Any]:
    out: list[Any] = []
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                out.extend(_values(item))
        elif elem.VR not in _BINARY:
            out.append(elem.value)
    return out


def response(query: WorklistQuery, stored: Dataset) -> Dataset:
    """One pending C-FIND response identifier (PS3.4 K.4.1.1.3.2): the requested keys of ``stored``.

    Specific Character Set is declared when a value is not ASCII (the request's when it can
    represent the values, else ISO_IR 192).
    """
    out = _project(query.identifier, stored)
    charset = declare(response_charset(_values(out), query.identifier.get("SpecificCharacterSet")))
    if charset is not None:
        out.SpecificCharacterSet = charset
        # Specific Character Set comes first (0008,0005); Dataset keeps tag order.
    return out
