"""Quick filters of the study list and their QIDO-RS query (PS3.18 10.6.1.2, PS3.4 C.2.2.2).

The information window filters on the server, not on the rows it already has: each filter becomes
a QIDO-RS matching key, so the list shows what the server holds for it (also beyond a result limit).

- Patient name: case-insensitive prefix match (PN wildcard ``*``, PS3.4 C.2.2.2.4); ``Doe, Jane``
  is read as ``Doe^Jane`` (PS3.5 6.2.1).
- Patient ID, accession number: prefix match (wildcard ``*`` appended unless the text has one).
- Modality: single value matching of Modalities in Study (0008,0061).
- Study date: a range ``YYYYMMDD-YYYYMMDD`` (PS3.4 C.2.2.2.5); the presets Today, Yesterday and
  Last 7 days are computed from the day they are applied.

Studies that are not on the server (the temporary store, media) are filtered here instead, with
the same keys and the server's rules (:meth:`StudyFilter.matches`): ``*`` and ``?`` wildcards,
case-insensitive for the patient name only (PS3.4 C.2.2.2.1, C.2.2.2.4).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from app.dicom.charsets import fold_case

if TYPE_CHECKING:
    from app.services.studies import StudySummary


class DatePreset(enum.Enum):
    """The date choices of the quick filter bar."""

    ANY = "Any date"
    TODAY = "Today"
    YESTERDAY = "Yesterday"
    LAST_7_DAYS = "Last 7 days"
    CUSTOM = "Custom range"


#: Presets whose dates depend on the day they are applied.
RELATIVE_PRESETS = frozenset({DatePreset.TODAY, DatePreset.YESTERDAY, DatePreset.LAST_7_DAYS})


def preset_range(preset: DatePreset, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day (inclusive) of a preset; ``(None, None)`` for any date or custom.

    Last 7 days is today and the six days before it.
    """
    if preset is DatePreset.TODAY:
        return today, today
    if preset is DatePreset.YESTERDAY:
        day = today - dt.timedelta(days=1)
        return day, day
    if preset is DatePreset.LAST_7_DAYS:
        return today - dt.timedelta(days=6), today
    return None, None


def _prefix(text: str) -> str:
    """``text`` as a prefix match: ``*`` appended unless the user typed a wildcard."""
    text = text.strip()
    if not text or "*" in text or "?" in text:
        return text
    return text + "*"


def _person_name(text: str) -> str:
    """What the user typed as a PN match value: ``Doe, Jane`` -> ``Doe^Jane*`` (PS3.5 6.2.1)."""
    parts = [p.strip() for p in text.replace("^", ",").split(",")]
    return _prefix("^".join(p for p in parts if p) if len(parts) > 1 else parts[0])


def _dicom_date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


@lru_cache(maxsize=256)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """``*`` (any run) and ``?`` (one character) of a C-FIND key as a regular expression (PS3.4 C.2.2.2.4)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def wildcard_match(pattern: str, value: str, *, fold: bool = False) -> bool:
    """Whether ``value`` matches the key ``pattern`` (wildcards; ``fold``: case-insensitive, for PN)."""
    if fold:
        pattern, value = fold_case(pattern), fold_case(value)
    return _wildcard(pattern).fullmatch(value) is not None


def _person_name_matches(pattern: str, value: str) -> bool:
    """PN matching of one name: trailing empty components do not count (``DOE^JANE^^`` is ``DOE^JANE``);
    any of several values (``\\``) may match."""
    return any(wildcard_match(pattern, v.rstrip("^"), fold=True) for v in (value.split("\\") or [""]))


@dataclass(frozen=True)
class StudyFilter:
    """The quick filters of the study list; empty fields match everything.

    Attributes
    ----------
    date_from, date_to
        Inclusive study date range; either end may be open (None).
    """

    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    modality: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def is_empty(self) -> bool:
        return not self.qido_params()

    def qido_params(self) -> dict[str, str]:
        """The QIDO-RS matching keys (DICOM keywords) of this filter."""
        params: dict[str, str] = {}
        if self.patient_name.strip():
            params["PatientName"] = _person_name(self.patient_name)
        if self.patient_id.strip():
            params["PatientID"] = _prefix(self.patient_id)
        if self.accession_number.strip():
            params["AccessionNumber"] = _prefix(self.accession_number)
        if self.modality.strip():
            params["ModalitiesInStudy"] = self.modality.strip().upper()
        if self.date_from is not None or self.date_to is not None:
            low = _dicom_date(self.date_from) if self.date_from else ""
            high = _dicom_date(self.date_to) if self.date_to else ""
            params["StudyDate"] = low if low == high else f"{low}-{high}"
        return params

    def matches(self, study: StudySummary) -> bool:
        """Whether ``study`` passes this filter, matched here as the server matches the QIDO-RS keys
        (for the studies of the temporary store and of media, which are not on the server)."""
        params = self.qido_params()
        if "PatientName" in params and not _person_name_matches(params["PatientName"], study.patient_name):
            return False
        if "PatientID" in params and not wildcard_match(params["PatientID"], study.patient_id):
            return False
        if "AccessionNumber" in params and not wildcard_match(params["AccessionNumber"], study.accession_number):
            return False
        if "ModalitiesInStudy" in params and params["ModalitiesInStudy"] not in study.modalities.split("\\"):
            return False
        if self.date_from is not None or self.date_to is not None:
            date = study.study_date.strip()
            if not date or (self.date_from and date < _dicom_date(self.date_from)):
                return False
            if self.date_to and date > _dicom_date(self.date_to):
                return False
        return True

    def describe(self) -> str:
        """A short text of the active filters for the status bar (empty when none)."""
        names = {
            "PatientName": "name", "PatientID": "ID", "AccessionNumber": "accession",
            "ModalitiesInStudy": "modality", "StudyDate": "date",
        }  # fmt: skip
        return ", ".join(f"{names[k]} {v}" for k, v in self.qido_params().items())
