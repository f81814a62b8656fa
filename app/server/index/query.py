"""Compile QIDO-RS / C-FIND searches into SQL over the index.

Matching follows PS3.4 C.2.2.2: universal (empty value or ``*``), single value, wildcard
(``*`` and ``?``; case-sensitive except for PN, which matches case-insensitively as the
standard allows, C.2.2.2.1), range for dates and times (``A-B``, ``A-``, ``-B``,
C.2.2.2.5), and list of UIDs (C.2.2.2.2; PS3.18 8.3.4.1 allows ``,`` or ``\\`` between
them). Keys of levels above the searched one are allowed (PS3.18 10.6.1.2); keys below
it are refused. Fractions of seconds are ignored in time matching, and a time given as a
single value matches the whole second, minute or hour it names. A C-FIND search can ask
for a Study Date range and a Study Time range to be matched as one date-time range
(PS3.4 C.2.2.2.5.2), and a Study Time range without a Study Date to mean today (the
reference's 4.4.3.2, :func:`app.dicom.matching.date_for_time_range`); QIDO-RS keeps the
standard's meaning (a time range on any day). Case-insensitive matching folds both sides in Python
(:func:`app.dicom.charsets.fold_case`; SQL ``lower()`` folds ASCII only). The PATIENT level
(Patient Root and Patient/Study Only models, PS3.4 C.6.1.1.2) searches patients, with their
related-study, -series and -instance counts computed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnClause

from app.dicom.charsets import fold_case
from app.dicom.matching import date_for_time_range
from app.server.index.records import (
    ATTRIBUTES,
    DEFAULT_RETURN,
    PATIENT_COUNTS,
    PATIENT_KEYS,
    Kind,
    Level,
    QueryError,
    SearchRequest,
    levels_up_to,
)
from app.server.index.schema import instance, patient, series, study

#: Keyword -> column holding it (``ModalitiesInStudy`` is stored joined by ``\``).
COLUMNS: Mapping[str, Any] = {
    "PatientName": patient.c.patient_name,
    "PatientID": patient.c.patient_id,
    "IssuerOfPatientID": patient.c.issuer,
    "PatientBirthDate": patient.c.birth_date,
    "PatientSex": patient.c.sex,
    "StudyInstanceUID": study.c.study_instance_uid,
    "StudyDate": study.c.study_date,
    "StudyTime": study.c.study_time,
    "StudyDescription": study.c.study_description,
    "AccessionNumber": study.c.accession_number,
    "ReferringPhysicianName": study.c.referring_physician_name,
    "StudyID": study.c.study_id,
    "ModalitiesInStudy": study.c.modalities,
    "NumberOfStudyRelatedSeries": study.c.num_series,
    "NumberOfStudyRelatedInstances": study.c.num_instances,
    "SeriesInstanceUID": series.c.series_instance_uid,
    "Modality": series.c.modality,
    "SeriesNumber": series.c.series_number,
    "SeriesDescription": series.c.series_description,
    "SeriesDate": series.c.series_date,
    "SeriesTime": series.c.series_time,
    "BodyPartExamined": series.c.body_part,
    "NumberOfSeriesRelatedInstances": series.c.num_instances,
    "SOPInstanceUID": instance.c.sop_instance_uid,
    "SOPClassUID": instance.c.sop_class_uid,
    "InstanceNumber": instance.c.instance_number,
    "Rows": instance.c.image_rows,
    "Columns": instance.c.image_columns,
    "NumberOfFrames": instance.c.number_of_frames,
    "AvailableTransferSyntaxUID": instance.c.transfer_syntax_uid,
}

#: Case-insensitive copies used for PN matching.
_PN_MATCH_COLUMNS: Mapping[str, Any] = {"PatientName": patient.c.patient_name_lc}

_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_LIST_SEP = re.compile(r"[,\\]")


def _like_pattern(value: str) -> str:
    """Translate DICOM wildcards to a LIKE pattern with ``!`` as escape character."""
    out = []
    for ch in value:
        if ch in "!%_":
            out.append("!" + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def _text_match(column: Any, value: str) -> ColumnElement[bool]:
    if "*" in value or "?" in value:
        return column.like(_like_pattern(value), escape="!")
    return column == value


def _drop_fraction(value: str) -> str:
    """A time or time range without its fractions of seconds (ignored in matching)."""
    return "-".join(part.partition(".")[0] for part in value.split("-"))


def _range_match(column: Any, value: str, pattern: re.Pattern[str], what: str) -> ColumnElement[bool]:
    """Single value or range (PS3.4 C.2.2.2.5); ``value`` is checked against ``pattern``."""
    if "-" not in value:
        if not pattern.match(value):
            raise QueryError(f"{what} value {value!r} is malformed; use DICOM format, e.g. 20240131 or 101500")
        if what == "time":
            # The whole second (minute, hour) named, whatever fraction is stored.
            value = _drop_fraction(value)
            return and_(column >= value, column <= value + "~")
        return column == value
    low, _, high = value.partition("-")
    if not low and not high:
        raise QueryError(f"{what} range {value!r} needs at least one end")
    for end in (low, high):
        if end and not pattern.match(end):
            raise QueryError(f"{what} range end {end!r} is malformed; use DICOM format, e.g. 20240101-20241231")
    conditions = [column != ""]
    if low:
        conditions.append(column >= low)
    if high:
        # A time range end without fraction includes the whole second/minute it names.
        conditions.append(column <= (high + "~" if what == "time" else high))
    return and_(*conditions)


def _uid_list(value: str, keyword: str) -> list[str]:
    uids = [u.strip() for u in _LIST_SEP.split(value) if u.strip()]
    for uid in uids:
        if len(uid) > 64 or not _UID.match(uid):
            raise QueryError(f"{keyword} value {uid!r} is not a UID (digits and dots, at most 64 characters)")
    return uids


def _code_match(column: Any, value: str) -> ColumnElement[bool]:
    values = [v.strip() for v in _LIST_SEP.split(value) if v.strip()]
    return or_(*(_text_match(column, v) for v in values))


def value_condition(
    column: Any, kind: Kind, value: str, keyword: str, *, folded_column: Any = None
) -> ColumnElement[bool] | None:
    """The SQL condition matching ``column`` against one key value of ``kind`` (PS3.4 C.2.2.2),
    or None for universal matching.

    ``folded_column`` is a lower-cased copy of a PN column: given, the name matches
    case-insensitively (C.2.2.2.1); a PN without it matches case-sensitively.
    """
    value = value.strip()
    if value in ("", "*"):
        return None
    if kind is Kind.RETURN:
        raise QueryError(f"{keyword} is a return key only; it cannot be matched")
    if kind is Kind.PN:
        if folded_column is None:
            return _text_match(column, value)
        return _text_match(folded_column, fold_case(value))
    if kind is Kind.TEXT:
        return _text_match(column, value)
    if kind is Kind.DATE:
        return _range_match(column, value.replace(".", ""), _DATE, "date")
    if kind is Kind.TIME:
        return _range_match(column, _drop_fraction(value.replace(":", "")), _TIME, "time")
    if kind is Kind.UID:
        return column.in_(_uid_list(value, keyword))
    if kind is Kind.INT:
        try:
            number = int(value)
        except ValueError:
            raise QueryError(f"{keyword} value {value!r} is not an integer") from None
        return column == number
    return _code_match(column, value)


def match_condition(keyword: str, value: str) -> ColumnElement[bool] | None:
    """The SQL condition for one matching key, or None for universal matching."""
    attribute = ATTRIBUTES[keyword]
    if keyword == "ModalitiesInStudy" and value.strip() not in ("", "*"):
        other = series.alias("modality_series")
        return exists(
            select(other.c.id)
            .where(other.c.study_fk == study.c.id, _code_match(other.c.modality, value.strip()))
            .correlate(study)
        )
    return value_condition(
        COLUMNS[keyword], attribute.kind, value, keyword, folded_column=_PN_MATCH_COLUMNS.get(keyword)
    )


def multi_value_condition(column: Any, value: str) -> ColumnElement[bool] | None:
    """Single value or wildcard matching of a column holding ``\\``-joined values: matches when
    any stored value matches (PS3.4 C.2.2.2.1, C.2.2.2.4), case-sensitively."""
    value = value.strip()
    if value in ("", "*"):
        return None
    wrapped = literal("\\") + column + literal("\\")
    return wrapped.like("%\\" + _like_pattern(value) + "\\%", escape="!")


def returned_keywords(request: SearchRequest) -> list[str]:
    """The attributes each result carries: the level's defaults, the UIDs of the levels above,
    the matching keys and the ``includefield`` ones (PS3.18 10.6.3.3)."""
    levels = levels_up_to(request.level)
    out: list[str] = []
    if request.include_all:
        out = [k for k, a in ATTRIBUTES.items() if a.level in levels]
    else:
        out.extend(DEFAULT_RETURN[request.level])
        for key in ("StudyInstanceUID", "SeriesInstanceUID"):
            if ATTRIBUTES[key].level in levels:
                out.append(key)
        out.extend(request.filters)
        out.extend(k for k in request.returned if k in ATTRIBUTES and ATTRIBUTES[k].level in levels)
    return list(dict.fromkeys(out))


def _combined_date_time(
    date_value: str, time_value: str, columns: tuple[Any, Any] | None = None
) -> ColumnElement[bool] | None:
    """Study Date range + Study Time range as one date-time range (PS3.4 C.2.2.2.5.2).

    None when the date is not a range (then each key matches on its own). ``columns`` are the
    (date, time) columns matched, by default the study's.
    """
    date_value = date_value.strip().replace(".", "")
    time_value = _drop_fraction(time_value.strip().replace(":", ""))
    if "-" not in date_value or "-" not in time_value:
        return None
    d_low, _, d_high = date_value.partition("-")
    t_low, _, t_high = time_value.partition("-")
    for end in (d_low, d_high):
        if end and not _DATE.match(end):
            raise QueryError(f"date range end {end!r} is malformed; use DICOM format, e.g. 20240101-20241231")
    for end in (t_low, t_high):
        if end and not _TIME.match(end):
            raise QueryError(f"time range end {end!r} is malformed; use DICOM format, e.g. 080000-173000")
    date, time = columns if columns is not None else (study.c.study_date, study.c.study_time)
    conditions: list[ColumnElement[bool]] = [date != ""]
    if d_low:
        conditions.append(or_(date > d_low, and_(date == d_low, time >= t_low)) if t_low else date >= d_low)
    if d_high:
        conditions.append(
            or_(date < d_high, and_(date == d_high, time <= t_high + "~")) if t_high else date <= d_high
        )
    return and_(*conditions)


def combined_date_time_condition(
    date_column: Any, time_column: Any, date_value: str, time_value: str
) -> ColumnElement[bool] | None:
    """A date range and a time range matched as one date-time range over two columns
    (PS3.4 C.2.2.2.5.2, e.g. Scheduled Procedure Step Start Date and Time, PS3.4 K.2.2.1);
    None when either is not a range."""
    return _combined_date_time(date_value, time_value, (date_column, time_column))


def _patient_counts() -> dict[str, Any]:
    """Correlated subqueries of the computed patient-level counts (PS3.4 C.6.1.1.2)."""
    studies = select(func.count(study.c.id)).where(study.c.patient_fk == patient.c.id)
    series_count = (
        select(func.count(series.c.id))
        .select_from(series.join(study, series.c.study_fk == study.c.id))
        .where(study.c.patient_fk == patient.c.id)
    )
    instances = select(func.coalesce(func.sum(study.c.num_instances), 0)).where(study.c.patient_fk == patient.c.id)
    subqueries = (studies, series_count, instances)
    return {
        keyword: q.correlate(patient).scalar_subquery()
        for keyword, q in zip(PATIENT_COUNTS, subqueries, strict=True)
    }


def _compile_patient_search(request: SearchRequest) -> tuple[Select[Any], list[str]]:
    """A PATIENT level search: one row per patient (PS3.4 C.6.1.1.2)."""
    for keyword in request.filters:
        if keyword not in PATIENT_KEYS:
            raise QueryError(f"{keyword} is not a patient-level key; it cannot be used to search patient level")
    counts = _patient_counts()
    keywords = list(dict.fromkeys([*PATIENT_KEYS, *(k for k in request.returned if k in counts)]))
    columns = [(counts[k] if k in counts else COLUMNS[k]).label(k) for k in keywords]
    stmt = select(*columns).select_from(patient)
    for keyword, value in request.filters.items():
        condition = match_condition(keyword, value)
        if condition is not None:
            stmt = stmt.where(condition)
    stmt = stmt.order_by(patient.c.patient_name, patient.c.id)
    if request.offset:
        stmt = stmt.offset(request.offset)
    if request.limit is not None:
        stmt = stmt.limit(request.limit)
    return stmt, keywords


def compile_search(request: SearchRequest) -> tuple[Select[Any], list[str]]:
    """Build the SELECT of a search; returns it with the keywords of its result columns."""
    if request.level is Level.PATIENT:
        return _compile_patient_search(request)
    levels = levels_up_to(request.level)
    for keyword in request.filters:
        attribute = ATTRIBUTES.get(keyword)
        if attribute is None:
            raise QueryError(f"{keyword} is not a supported query key")
        if attribute.level not in levels:
            raise QueryError(
                f"{keyword} is a {attribute.level.value.lower()}-level key; it cannot be used to search "
                f"{request.level.value.lower()} level"
            )
    keywords = returned_keywords(request)
    columns: list[ColumnClause[Any]] = [COLUMNS[k].label(k) for k in keywords]
    from_ = study.join(patient, study.c.patient_fk == patient.c.id)
    if request.level in (Level.SERIES, Level.IMAGE):
        from_ = series.join(from_, series.c.study_fk == study.c.id)
    if request.level is Level.IMAGE:
        from_ = instance.join(from_, instance.c.series_fk == series.c.id)
    stmt = select(*columns).select_from(from_)
    filters = dict(request.filters)
    if request.time_range_means_today:
        study_date = date_for_time_range(filters.get("StudyDate"), filters.get("StudyTime"))
        if study_date is not None:
            filters["StudyDate"] = study_date
    if request.combine_date_time and "StudyDate" in filters and "StudyTime" in filters:
        combined = _combined_date_time(filters["StudyDate"], filters["StudyTime"])
        if combined is not None:
            stmt = stmt.where(combined)
            del filters["StudyDate"], filters["StudyTime"]
    for keyword, value in filters.items():
        condition = match_condition(keyword, value)
        if condition is not None:
            stmt = stmt.where(condition)
    if request.level is Level.STUDY:
        stmt = stmt.order_by(study.c.study_date.desc(), study.c.study_time.desc(), study.c.id.desc())
    elif request.level is Level.SERIES:
        stmt = stmt.order_by(
            case((series.c.series_number.is_(None), 1), else_=0), series.c.series_number, series.c.id
        )
    else:
        stmt = stmt.order_by(
            series.c.id,
            case((instance.c.instance_number.is_(None), 1), else_=0),
            instance.c.instance_number,
            instance.c.id,
        )
    if request.offset:
        stmt = stmt.offset(request.offset)
    if request.limit is not None:
        stmt = stmt.limit(request.limit)
    return stmt, keywords


def row_values(keywords: list[str], row: Any) -> dict[str, Any]:
    """One result row as keyword -> value; empty strings become None (zero-length attributes)."""
    out: dict[str, Any] = {}
    for keyword, value in zip(keywords, row, strict=True):
        if value == "":
            value = None
        elif keyword == "ModalitiesInStudy" and value is not None:
            value = value.split("\\")
        out[keyword] = value
    return out
