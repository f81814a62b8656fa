"""Corrected patient and study values: checking them, and putting them on outbound data sets.

Corrections change the catalogue only; stored files stay exactly as received. Every path
that sends a data set out (WADO-RS, the C-MOVE sub-operations, the Storage SCU of the send
jobs) overlays the catalogue's values through :func:`apply_catalogue_values`, so peers see
the corrected Patient and General Study module attributes (PS3.3 C.7.1.1, C.7.2.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pydicom import config as pydicom_config
from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset
from pydicom.valuerep import validate_value

from app.core.errors import InvalidRequestError
from app.server.index.admin_records import PATIENT_KEYWORDS, STUDY_KEYWORDS, CatalogueValues

#: VR of each correctable attribute (PS3.6 Table 6-1).
VRS: Mapping[str, str] = {
    "PatientName": "PN", "PatientID": "LO", "IssuerOfPatientID": "LO", "PatientBirthDate": "DA",
    "PatientSex": "CS", "StudyDate": "DA", "StudyTime": "TM", "StudyDescription": "LO",
    "AccessionNumber": "SH", "ReferringPhysicianName": "PN", "StudyID": "SH",
}

#: Patient Sex values (PS3.3 C.7.1.1: M, F, O; empty = unknown, type 2).
_SEXES = ("", "M", "F", "O")

_UTF8 = "ISO_IR 192"

#: What a valid value of each VR looks like (PS3.5 Table 6.2-1), for the error messages.
_HINTS: Mapping[str, str] = {
    "PN": "family^given^middle^prefix^suffix, at most 64 characters per component group",
    "LO": "at most 64 characters, no backslash",
    "SH": "at most 16 characters, no backslash",
    "DA": "use YYYYMMDD, e.g. 19700131",
    "TM": "use HHMMSS (or HH, HHMM, HHMMSS.FFFFFF), e.g. 143000",
    "CS": "upper-case letters, digits, space or underscore, at most 16",
}


def check_changes(changes: Mapping[str, object], allowed: tuple[str, ...]) -> dict[str, str]:
    """Validate a correction request: known keywords, strings, values valid for their VR.

    Parameters
    ----------
    changes
        DICOM keyword -> new value, as the client sent it.
    allowed
        The keywords this request may change (patient ones, or patient and study ones).

    Returns
    -------
    dict
        The changes, values stripped of surrounding spaces.

    Raises
    ------
    InvalidRequestError
        Naming the keyword and what a valid value looks like.
    """
    if not changes:
        raise InvalidRequestError("no change given: send a JSON object of DICOM keywords and values, "
                              f"e.g. {{\"PatientName\": \"DOE^JANE\"}}; allowed: {', '.join(allowed)}")
    out: dict[str, str] = {}
    for keyword, raw in changes.items():
        if keyword not in allowed:
            raise InvalidRequestError(f"{keyword!r} cannot be corrected here; allowed: {', '.join(allowed)}")
        if not isinstance(raw, str):
            raise InvalidRequestError(f"{keyword}: give the value as a JSON string, not {type(raw).__name__}")
        value = raw.strip().upper() if keyword == "PatientSex" else raw.strip()
        vr = VRS[keyword]
        if "\\" in value:
            raise InvalidRequestError(f"{keyword}: a backslash separates values; give one value without it")
        if any(ord(c) < 32 and c != "\x1b" for c in value):
            raise InvalidRequestError(f"{keyword}: control characters are not allowed")
        try:
            validate_value(vr, value, pydicom_config.RAISE)
        except (ValueError, TypeError):
            raise InvalidRequestError(f"{keyword} ({vr}): {value!r} is not valid; {_HINTS[vr]}") from None
        if vr == "DA" and value:
            try:
                dt.datetime.strptime(value, "%Y%m%d")
            except ValueError:
                raise InvalidRequestError(f"{keyword}: {value!r} is not a date; use YYYYMMDD, e.g. 19700131") from None
        if keyword == "PatientSex" and value not in _SEXES:
            raise InvalidRequestError("PatientSex: use M, F, O or an empty string (unknown)")
        if keyword == "PatientID" and not value:
            raise InvalidRequestError("PatientID cannot be empty; give the patient's identifier")
        out[keyword] = value
    return out


def _encodable(ds: Dataset, values: Mapping[str, str]) -> bool:
    """True when the data set's character set can carry every value (PS3.5 6.1)."""
    text = "".join(values.values())
    if text.isascii():
        return True
    charsets = ds.get("SpecificCharacterSet", "")
    terms = [charsets] if isinstance(charsets, str) else list(charsets)
    if len(terms) != 1 or not terms[0]:
        return terms == [_UTF8]
    codec = convert_encodings(terms)[0]
    try:
        text.encode(codec)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def apply_catalogue_values(ds: Dataset, values: CatalogueValues | Mapping[str, str]) -> Dataset:
    """Overlay the catalogue's patient/study values on an outbound data set, in place.

    Every correctable attribute (:data:`PATIENT_KEYWORDS`, :data:`STUDY_KEYWORDS`) takes
    the catalogue's value; an attribute the file lacks is added only when the catalogue has
    a non-empty value. When a value cannot be encoded in the data set's Specific Character
    Set, the data set is decoded and re-declared as UTF-8 (``ISO_IR 192``, PS3.5 6.1.2.3),
    so the other text attributes keep their meaning.

    Parameters
    ----------
    ds
        A data set read from the storage area (not shared: it is changed).
    values
        :class:`CatalogueValues` (``CorrectionStore.catalogue_values``) or keyword -> value.

    Returns
    -------
    Dataset
        ``ds`` itself.
    """
    mapping = values.values if isinstance(values, CatalogueValues) else values
    wanted = {k: v for k, v in mapping.items() if k in VRS and (v or k in ds)}
    if not _encodable(ds, wanted):
        ds.decode()
        ds.SpecificCharacterSet = _UTF8
    for keyword, value in wanted.items():
        setattr(ds, keyword, value)
    return ds


__all__ = ["PATIENT_KEYWORDS", "STUDY_KEYWORDS", "VRS", "apply_catalogue_values", "check_changes"]
