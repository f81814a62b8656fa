"""Person names, dates and times as people read them (PS3.5 6.2)."""

from __future__ import annotations

import pytest

from app.dicom.value_format import format_date, format_datetime, format_person_name, format_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Doe^John", "Doe, John"),
        ("Doe^John^Quincy^Dr^Jr", "Doe, John Quincy"),
        ("Doe", "Doe"),
        ("^John", "John"),
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "Yamada, Tarou"),
        ("", ""),
    ],
)
def test_person_names(value: str, expected: str) -> None:
    assert format_person_name(value) == expected


def test_dates_iso_by_default_configurable_and_old_style() -> None:
    assert format_date("20240229") == "2024-02-29"
    assert format_date("20240229", "%d.%m.%Y") == "29.02.2024"
    assert format_date("2024.02.29") == "2024-02-29"
    assert format_date("20230229") == "20230229"  # not a date: shown as stored
    assert format_date("2024") == "2024"


def test_times_and_datetimes() -> None:
    assert format_time("101530.123") == "10:15:30"
    assert format_time("1015") == "10:15"
    assert format_time("10") == "10:00"
    assert format_time("10:15:30") == "10:15:30"
    assert format_datetime("20240103101530.5+0100") == "2024-01-03 10:15:30"
    assert format_datetime("20240103") == "2024-01-03"
