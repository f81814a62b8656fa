"""Quick filters of the study list: date presets from a given day, QIDO-RS matching keys."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.studies import StudySummary
from app.services.study_filters import DatePreset, StudyFilter, preset_range

DAY = dt.timedelta(days=1)


@pytest.mark.parametrize("today", [dt.date(2024, 3, 1), dt.date(2024, 1, 1), dt.date(2023, 12, 31)])
def test_presets_are_computed_from_today(today: dt.date) -> None:
    assert preset_range(DatePreset.TODAY, today) == (today, today)
    assert preset_range(DatePreset.YESTERDAY, today) == (today - DAY, today - DAY)
    first, last = preset_range(DatePreset.LAST_7_DAYS, today)
    assert last == today and first is not None and (last - first).days == 6  # seven days with today
    assert preset_range(DatePreset.ANY, today) == (None, None)
    assert preset_range(DatePreset.CUSTOM, today) == (None, None)


def test_yesterday_across_a_month_and_a_leap_day() -> None:
    assert preset_range(DatePreset.YESTERDAY, dt.date(2024, 3, 1))[0] == dt.date(2024, 2, 29)
    assert StudyFilter(date_from=dt.date(2024, 2, 29), date_to=dt.date(2024, 2, 29)).qido_params() == {
        "StudyDate": "20240229"
    }


def test_qido_params() -> None:
    assert StudyFilter().qido_params() == {} and StudyFilter().is_empty
    assert StudyFilter(patient_name="doe").qido_params() == {"PatientName": "doe*"}
    assert StudyFilter(patient_name=" Doe, Jane ").qido_params() == {"PatientName": "Doe^Jane*"}
    assert StudyFilter(patient_name="Doe^J").qido_params() == {"PatientName": "Doe^J*"}
    assert StudyFilter(patient_name="*oe").qido_params() == {"PatientName": "*oe"}  # the user's own wildcard
    assert StudyFilter(patient_id="PID0").qido_params() == {"PatientID": "PID0*"}
    assert StudyFilter(accession_number="A?C").qido_params() == {"AccessionNumber": "A?C"}
    assert StudyFilter(modality="mr").qido_params() == {"ModalitiesInStudy": "MR"}
    week = StudyFilter(date_from=dt.date(2024, 1, 25), date_to=dt.date(2024, 1, 31))
    assert week.qido_params() == {"StudyDate": "20240125-20240131"}
    assert StudyFilter(date_from=dt.date(2024, 1, 25)).qido_params() == {"StudyDate": "20240125-"}
    assert StudyFilter(date_to=dt.date(2024, 1, 25)).qido_params() == {"StudyDate": "-20240125"}


def test_describe_names_the_active_filters() -> None:
    text = StudyFilter(patient_id="X", modality="CT").describe()
    assert text == "ID X*, modality CT"


def _summary(**values: str) -> StudySummary:
    base = {"study_instance_uid": "1.2.3", "patient_name": "DOE^JANE^^", "patient_id": "PID001",
            "accession_number": "ACC77", "modalities": "CT\\PR", "study_date": "20240131"}  # fmt: skip
    return StudySummary(**{**base, **values})  # type: ignore[arg-type]


def test_local_matching_follows_the_server_rules() -> None:
    """Studies of the temporary store and of media are filtered here: the same keys, wildcards and case rules."""
    study = _summary()
    assert StudyFilter().matches(study)
    assert StudyFilter(patient_name="doe, j").matches(study)  # PN: case-insensitive prefix, trailing ^ ignored
    assert StudyFilter(patient_name="*jane").matches(study) and not StudyFilter(patient_name="jane").matches(study)
    assert StudyFilter(patient_name="Döe").matches(_summary(patient_name="DÖE^JANE"))  # folded beyond ASCII
    assert StudyFilter(patient_id="PID0").matches(study) and not StudyFilter(patient_id="pid0").matches(study)
    assert StudyFilter(patient_id="P?D*1").matches(study) and not StudyFilter(patient_id="P?D").matches(study)
    assert StudyFilter(accession_number="ACC").matches(study) and not StudyFilter(accession_number="B").matches(study)
    assert StudyFilter(modality="pr").matches(study) and not StudyFilter(modality="MR").matches(study)
    assert StudyFilter(modality="C").matches(study) is False  # single value matching, not a prefix
    day = dt.date(2024, 1, 31)
    assert StudyFilter(date_from=day, date_to=day).matches(study)
    assert StudyFilter(date_from=day + DAY).matches(study) is False
    assert StudyFilter(date_to=day - DAY).matches(study) is False
    assert StudyFilter(date_from=day - 6 * DAY, date_to=day).matches(study)
    assert StudyFilter(date_to=day).matches(_summary(study_date="")) is False  # no date: outside any range
    assert StudyFilter(patient_name="x*").matches(_summary(patient_name="Y^A\\X^B"))  # any of several values
