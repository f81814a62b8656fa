"""The query compiler's C-FIND additions over a real SQLite index (PS3.4 C.2.2.2, C.6.1.1.2)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.server.index.catalogue import Catalogue
from app.server.index.records import Level, QueryError, SearchRequest
from tests.unit.server.test_index import record


@pytest.fixture
def filled(index_catalogue: Catalogue) -> Catalogue:
    rows = [
        ("P1", "Doe^Jane", "1.1", "1.1.1", "20240110", "230000.25"),
        ("P1", "Doe^Jane", "1.1", "1.1.2", "20240110", "230000.25"),
        ("P1", "Doe^Jane", "1.2", "1.2.1", "20240111", "030000"),
        ("P2", "Roe^Rick", "2.1", "2.1.1", "20240112", "120000"),
    ]
    for n, (pid, name, study, series, date, time) in enumerate(rows):
        index_catalogue.add_instance(
            record(patient_id=pid, patient_name=name, study_instance_uid=study, series_instance_uid=series,
                   sop_instance_uid=f"{series}.{n}", study_date=date, study_time=time)
        )
    return index_catalogue


def _studies(catalogue: Catalogue, combine: bool = True, **filters: str) -> set[str]:
    """C-FIND's matching (``combine``: its date-time rules) or else QIDO-RS's."""
    request = SearchRequest(Level.STUDY, filters, combine_date_time=combine, time_range_means_today=combine)
    return {str(r["StudyInstanceUID"]) for r in catalogue.search(request)}


def test_patient_level_with_computed_counts(filled: Catalogue) -> None:
    request = SearchRequest(Level.PATIENT, {"PatientName": "doe*"}, returned=(
        "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances"))
    (row,) = filled.search(request)
    assert row["PatientID"] == "P1"
    assert (row["NumberOfPatientRelatedStudies"], row["NumberOfPatientRelatedSeries"],
            row["NumberOfPatientRelatedInstances"]) == (2, 3, 3)
    assert len(filled.search(SearchRequest(Level.PATIENT))) == 2
    with pytest.raises(QueryError, match="patient-level"):
        filled.search(SearchRequest(Level.PATIENT, {"StudyDate": "20240110"}))


def test_combined_date_time_range_against_independent(filled: Catalogue) -> None:
    keys = {"StudyDate": "20240110-20240111", "StudyTime": "220000-040000"}
    # 2024-01-10 23:00 and 2024-01-11 03:00 are both inside 2024-01-10 22:00 .. 2024-01-11 04:00.
    assert _studies(filled, **keys) == {"1.1", "1.2"}
    assert _studies(filled, combine=False, **keys) == set()  # no time is both >= 22:00 and <= 04:00
    assert _studies(filled, StudyDate="20240111-", StudyTime="020000-") == {"1.2", "2.1"}
    assert _studies(filled, StudyDate="-20240110", StudyTime="-230000") == {"1.1"}


def test_times_ignore_fractions(filled: Catalogue) -> None:
    assert _studies(filled, StudyTime="230000") == {"1.1"}
    assert _studies(filled, StudyTime="230000.9") == {"1.1"}
    assert _studies(filled, StudyTime="23") == {"1.1"}
    assert _studies(filled, StudyDate="20240111", StudyTime="-030000.5") == {"1.2"}
    with pytest.raises(QueryError, match="time"):
        _studies(filled, StudyTime="25:00:00x")


def test_time_range_without_date_means_today(filled: Catalogue) -> None:
    """Reference 4.4.3.2: a Study Time range without Study Date matches today's studies only."""
    today = dt.date.today()
    yesterday = today - dt.timedelta(days=1)
    for uid, day in (("9.1", today), ("9.2", yesterday)):
        filled.add_instance(record(patient_id="P9", study_instance_uid=uid, series_instance_uid=f"{uid}.1",
                                   sop_instance_uid=f"{uid}.1.1", study_date=day.strftime("%Y%m%d"),
                                   study_time="030000.5"))
    # The fixture's 2024-01-11 03:00 study is in the time range too, but not of today.
    assert _studies(filled, StudyTime="020000-040000") == {"9.1"}
    assert _studies(filled, StudyTime="-030000.9") == {"9.1"}  # fractions ignored
    # QIDO-RS keeps the standard's meaning: the time range on any day (PS3.4 C.2.2.2.5.2).
    assert _studies(filled, combine=False, StudyTime="020000-040000") == {"1.2", "9.1", "9.2"}
    assert _studies(filled, StudyTime="*", StudyDate="") == {"1.1", "1.2", "2.1", "9.1", "9.2"}
    # A single time (not a range) is not restricted to today, nor is a range with a date.
    assert _studies(filled, StudyTime="030000") == {"1.2", "9.1", "9.2"}
    assert _studies(filled, StudyDate=yesterday.strftime("%Y%m%d"), StudyTime="020000-040000") == {"9.2"}
