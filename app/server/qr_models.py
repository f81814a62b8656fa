"""Query/Retrieve information models and C-FIND / C-MOVE identifiers (PS3.4 C.6).

Three models, each with its own C-FIND and C-MOVE SOP classes (PS3.4 C.6.1, C.6.2, C.6.3):

===================== ================================ ==============================
model                 levels                           top-level unique key
===================== ================================ ==============================
Patient Root          PATIENT, STUDY, SERIES, IMAGE    Patient ID
Study Root            STUDY, SERIES, IMAGE             Study Instance UID
Patient/Study Only    PATIENT, STUDY                   Patient ID
===================== ================================ ==============================

Queries are hierarchical (PS3.4 C.4.1.2.2.1, C.4.2.2.1): below the model's top level, the
identifier must carry a single value of the unique key of every level above the one
searched. An identifier that breaks this, or names a level the model has not, is refused
with 0xA900 (identifier does not match SOP class) and an Error Comment saying what is
missing.

The keys are those of the index (:data:`app.server.index.records.ATTRIBUTES`) plus the
computed patient counts; any other key is returned zero-length (universal matching of a
key the server has no value for, PS3.4 C.2.2.2.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydicom import config
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from app.dicom.charsets import declare, response_charset
from app.dicom.matching import key_text
from app.server.index.records import ATTRIBUTES, PATIENT_COUNTS, PATIENT_KEYS, Kind, Level, SearchRequest, levels_up_to

#: Failure: identifier does not match SOP class (PS3.4 C.4.1.1.4, Table C.4-1).
IDENTIFIER_MISMATCH = 0xA900
#: Failure: unable to process (PS3.4 Table C.4-1).
UNABLE_TO_PROCESS = 0xC000
#: Failure: out of resources (PS3.4 Table C.4-1): used for the hit limit.
OUT_OF_RESOURCES = 0xA700

#: Unique key of each level (PS3.4 C.6.1.1, C.6.2.1).
UNIQUE_KEYS: Mapping[Level, str] = {
    Level.PATIENT: "PatientID",
    Level.STUDY: "StudyInstanceUID",
    Level.SERIES: "SeriesInstanceUID",
    Level.IMAGE: "SOPInstanceUID",
}


@dataclass(frozen=True)
class QRModel:
    """One Query/Retrieve information model (PS3.4 C.6.x): its levels and SOP classes."""

    name: str
    levels: tuple[Level, ...]
    find: UID
    move: UID


PATIENT_ROOT = QRModel(
    "Patient Root",
    (Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE),
    UID("1.2.840.10008.5.1.4.1.2.1.1"),
    UID("1.2.840.10008.5.1.4.1.2.1.2"),
)
STUDY_ROOT = QRModel(
    "Study Root",
    (Level.STUDY, Level.SERIES, Level.IMAGE),
    UID("1.2.840.10008.5.1.4.1.2.2.1"),
    UID("1.2.840.10008.5.1.4.1.2.2.2"),
)
PATIENT_STUDY_ONLY = QRModel(
    "Patient/Study Only",
    (Level.PATIENT, Level.STUDY),
    UID("1.2.840.10008.5.1.4.1.2.3.1"),
    UID("1.2.840.10008.5.1.4.1.2.3.2"),
)
MODELS: tuple[QRModel, ...] = (PATIENT_ROOT, STUDY_ROOT, PATIENT_STUDY_ONLY)
BY_FIND_UID: Mapping[str, QRModel] = {m.find: m for m in MODELS}
BY_MOVE_UID: Mapping[str, QRModel] = {m.move: m for m in MODELS}


class IdentifierError(Exception):
    """An identifier the SCP cannot serve: answered with ``status`` and ``comment``.

    Comments are kept within the 64 characters of Error Comment (LO).
    """

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment


@dataclass(frozen=True)
class ParsedQuery:
    """An identifier read against a model: the search, and the keys to return in order."""

    level: Level
    search: SearchRequest
    returned: tuple[str, ...] = ()
    unknown: Mapping[Any, str] = field(default_factory=dict)  # tag -> VR of keys we cannot fill


def _matchable(level: Level) -> set[str]:
    if level is Level.PATIENT:
        return set(PATIENT_KEYS)
    levels = levels_up_to(level)
    return {k for k, a in ATTRIBUTES.items() if a.level in levels and a.kind is not Kind.RETURN}


def _returnable(level: Level) -> set[str]:
    if level is Level.PATIENT:
        return set(PATIENT_KEYS) | set(PATIENT_COUNTS)
    levels = levels_up_to(level)
    return {k for k, a in ATTRIBUTES.items() if a.level in levels}


def _level_of(identifier: Dataset, model: QRModel) -> Level:
    raw = key_text(identifier.get("QueryRetrieveLevel", "")).strip().upper()
    names = ", ".join(level.value for level in model.levels)
    if not raw:
        raise IdentifierError(IDENTIFIER_MISMATCH, f"Query/Retrieve Level missing (use {names})")
    try:
        level = Level(raw)
    except ValueError:
        level = None
    if level is None or level not in model.levels:
        raise IdentifierError(IDENTIFIER_MISMATCH, f"Level {raw} not in {model.name} (use {names})")
    return level


def _check_hierarchy(identifier: Dataset, model: QRModel, level: Level, what: str) -> None:
    """Unique keys of the levels above ``level`` must be single values (PS3.4 C.4.1.2.2.1)."""
    for upper in model.levels[: model.levels.index(level)]:
        key = UNIQUE_KEYS[upper]
        value = key_text(identifier.get(key, "")).strip()
        if not value or any(ch in value for ch in "*?\\"):
            raise IdentifierError(
                IDENTIFIER_MISMATCH, f"{level.value} {what} needs one {key} value (hierarchical)"
            )


def relational_reply(app_info: Mapping[str, bytes]) -> dict[str, bytes]:
    """Answer SOP Class Extended Negotiation of the C-FIND and C-MOVE classes (PS3.4 C.5.1, C.5.2).

    Relational queries / retrieval (byte 1) and combined date-time matching (byte 2, C-FIND)
    are accepted when asked for; fuzzy semantic matching of person names and timezone
    adjustment are not.
    """
    reply: dict[str, bytes] = {}
    for uid, info in app_info.items():
        if str(uid) in BY_MOVE_UID and info:
            reply[str(uid)] = b"\x01" if info[0] == 1 else b"\x00"
        elif str(uid) in BY_FIND_UID and info:
            relational = 1 if info[0] == 1 else 0
            combined = 1 if len(info) > 1 and info[1] == 1 else 0
            reply[str(uid)] = bytes([relational, combined, 0, 0][: max(len(info), 1)])
    return reply


def is_relational(assoc: Any, sop_class: str) -> bool:
    """Whether relational queries (retrieval) were negotiated for ``sop_class`` (PS3.4 C.5.1, C.5.2)."""
    try:
        info = assoc.requestor.sop_class_extended.get(sop_class, b"")
    except Exception:
        return False
    return bool(info) and info[0] == 1


def parse_find(identifier: Dataset, model: QRModel, limit: int | None, *, relational: bool = False) -> ParsedQuery:
    """Read a C-FIND identifier (PS3.4 C.4.1.1.3.1) into a search of the index.

    With ``relational`` (negotiated relational queries, PS3.4 C.4.1.2.2.2) the unique keys
    of the levels above need not be given: the keys of any level above match.

    Raises
    ------
    IdentifierError
        The level is missing or not in the model, or a unique key above it is not a single value.
    """
    level = _level_of(identifier, model)
    if not relational:
        _check_hierarchy(identifier, model, level, "query")
    matchable, returnable = _matchable(level), _returnable(level)
    filters: dict[str, str] = {}
    returned: list[str] = []
    unknown: dict[Any, str] = {}
    for elem in identifier:
        if elem.tag.group in (0x0000, 0x0002) or elem.keyword in ("QueryRetrieveLevel", "SpecificCharacterSet"):
            continue
        keyword = elem.keyword or keyword_for_tag(elem.tag)
        if keyword in returnable:
            returned.append(keyword)
            if keyword in matchable and elem.VR != "SQ":
                value = key_text(elem.value).strip()
                if value and value != "*":
                    filters[keyword] = value
        else:
            unknown[elem.tag] = elem.VR
    # The unique keys of the searched level and those above are always returned.
    for upper in model.levels[: model.levels.index(level) + 1]:
        if UNIQUE_KEYS[upper] not in returned:
            returned.append(UNIQUE_KEYS[upper])
    search = SearchRequest(
        level, filters, returned=tuple(returned), limit=limit, combine_date_time=True, time_range_means_today=True
    )
    return ParsedQuery(level, search, tuple(returned), unknown)


def parse_move(identifier: Dataset, model: QRModel, *, relational: bool = False) -> tuple[Level, dict[str, str]]:
    """Read a C-MOVE identifier (PS3.4 C.4.2.1.4.1): the level and the unique keys given.

    The unique key of the level may be a list of UIDs (PS3.4 C.4.2.2.1); the keys above it
    must be single values. With ``relational`` (negotiated relational retrieval, PS3.4
    C.4.2.2.2) only the level's own unique key is required.
    """
    level = _level_of(identifier, model)
    if not relational:
        _check_hierarchy(identifier, model, level, "retrieve")
    keys: dict[str, str] = {}
    for upper in model.levels[: model.levels.index(level) + 1]:
        key = UNIQUE_KEYS[upper]
        value = key_text(identifier.get(key, "")).strip()
        if not value:
            if upper is not level and relational:
                continue
            raise IdentifierError(IDENTIFIER_MISMATCH, f"{key} is missing (needed by {level.value} level C-MOVE)")
        if "*" in value or "?" in value:
            raise IdentifierError(IDENTIFIER_MISMATCH, f"{key} has a wildcard: C-MOVE takes exact unique keys")
        keys[key] = value
    return level, keys


#: Keys outside the index that the SCP still fills (PS3.4 C.4.1.1.3.2, C.6.1.1.2).
FILLED_KEYS = ("RetrieveAETitle", "InstanceAvailability")


def has_unsupported_keys(query: ParsedQuery) -> bool:
    """Whether the identifier asks for keys returned zero-length (pending status 0xFF01)."""
    return any(keyword_for_tag(tag) not in FILLED_KEYS for tag in query.unknown)


@lru_cache(maxsize=256)
def _element_spec(keyword: str) -> tuple[BaseTag, str] | None:
    """The tag and dictionary VR of ``keyword``; None when the VR is ambiguous or a sequence."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return None
    vr = dictionary_VR(tag)
    return (Tag(tag), vr) if len(vr) == 2 and vr != "SQ" else None


def _element(keyword: str, value: Any) -> DataElement | None:
    """``keyword``'s element holding ``value`` (None: zero-length), built as ``setattr`` would but
    without its value validation, which costs most of building a response (the values come
    from the index or from this module, already checked on the way in)."""
    spec = _element_spec(keyword)
    if spec is None:
        return None
    return DataElement(spec[0], spec[1], value, validation_mode=config.IGNORE)


def response_identifier(
    query: ParsedQuery, row: Mapping[str, Any], retrieve_ae_title: str, *, request_charset: Any = None
) -> Dataset:
    """One pending C-FIND response identifier (PS3.4 C.4.1.1.3.2).

    Every requested key is present: with its value, or zero-length when the index has none.
    Specific Character Set follows :func:`app.dicom.charsets.response_charset`: absent when
    every value is ASCII, the request's when it can represent them, else ``ISO_IR 192``
    (the index holds decoded text).
    """
    elements: dict[BaseTag, DataElement | RawDataElement] = {}
    slow: list[tuple[str, Any]] = []

    def put(keyword: str, value: Any) -> None:
        elem = _element(keyword, value)
        if elem is None:
            slow.append((keyword, value))
        else:
            elements[elem.tag] = elem

    charset = declare(response_charset((row.get(k) for k in query.returned), request_charset))
    if charset is not None:
        put("SpecificCharacterSet", charset)
    put("QueryRetrieveLevel", query.level.value)
    for keyword in query.returned:
        value = row.get(keyword)
        put(keyword, None if value is None or value == "" else value)
    ds = Dataset(elements)
    for keyword, value in slow:  # a sequence or an ambiguous VR: pydicom's own rules
        setattr(ds, keyword, value)
    for tag, vr in query.unknown.items():
        keyword = keyword_for_tag(tag)
        if keyword == "RetrieveAETitle":
            ds.RetrieveAETitle = retrieve_ae_title
        elif keyword == "InstanceAvailability":
            ds.InstanceAvailability = "ONLINE"
        else:
            try:
                vr = vr or dictionary_VR(tag)
            except KeyError:
                vr = "UN"
            ds.add_new(tag, vr, [] if vr == "SQ" else None)
    return ds
