"""Plain-text matching rules shared by every query front end (PS3.4 C.2.2.2)."""

from __future__ import annotations

import datetime as dt

from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from app.dicom.matching import date_for_time_range, is_range, is_universal, key_text


def test_universal_and_range() -> None:
    assert is_universal(None) and is_universal("") and is_universal(" * ")
    assert not is_universal("20240101")
    assert is_range("080000-") and is_range("-1700") and is_range("0800-1700")
    assert not is_range("080000") and not is_range(None)


def test_a_time_range_without_a_date_means_today() -> None:
    day = dt.date(2026, 11, 27)
    assert date_for_time_range(None, "080000-120000", day) == "20261127"
    assert date_for_time_range("", "-120000", day) == "20261127"
    assert date_for_time_range("*", "080000-", day) == "20261127"
    # A date given, or a time that is not a range: unchanged.
    assert date_for_time_range("20240101", "080000-120000", day) == "20240101"
    assert date_for_time_range("20240101-20240131", "080000-120000", day) == "20240101-20240131"
    assert date_for_time_range(None, "080000", day) is None
    assert date_for_time_range("", None, day) == ""
    # Without a day given, the server's local date.
    assert date_for_time_range(None, "0800-0900") == dt.date.today().strftime("%Y%m%d")


def test_key_text_joins_values_and_reads_none_as_empty() -> None:
    assert key_text(None) == "" and key_text("CT") == "CT" and key_text(b"MR") == "MR"
    assert key_text(MultiValue(str, ["AA32", "AA33"])) == "AA32\\AA33" and key_text(["A", "B"]) == "A\\B"
    assert key_text(PersonName("Doe^John")) == "Doe^John"
